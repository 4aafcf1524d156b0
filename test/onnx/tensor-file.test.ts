// tensor-file.ts: .npy files written by NumPy read back exactly (and ours read in NumPy),
// TensorProto .pb files round-trip, onnxruntime Tensors convert both ways, and bad files fail
// with an error naming the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../../src/errors.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { decodeNpy, decodeTensorProto, encodeNpy, encodeTensorProto, fromOrtTensor, readNpy, readTensorProto, toOrtTensor } from '../../src/onnx/tensor-file.js';
import { PYTHON } from './checker.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-tensor-file-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const hasNumpy = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

// numpy dtype → ONNX type and the values NumPy writes (edge values included).
const NPY_CASES: [string, DataType, string][] = [
  ['float32', DataType.FLOAT, '[[1.5, -0.0, 3.4e38], [float("nan"), float("inf"), -1e-45]]'],
  ['float64', DataType.DOUBLE, '[[1/3, -2.5e300, 5e-324]]'],
  ['float16', DataType.FLOAT16, '[65504, -0.5, 6e-8, 1]'],
  ['int8', DataType.INT8, '[-128, 127, 0]'],
  ['uint8', DataType.UINT8, '[0, 255, 7]'],
  ['int16', DataType.INT16, '[-32768, 32767]'],
  ['uint16', DataType.UINT16, '[65535, 1]'],
  ['int32', DataType.INT32, '[-2147483648, 2147483647]'],
  ['uint32', DataType.UINT32, '[4294967295, 0]'],
  ['int64', DataType.INT64, '[-9223372036854775808, 9223372036854775807]'],
  ['uint64', DataType.UINT64, '[18446744073709551615, 3]'],
  ['bool', DataType.BOOL, '[True, False, True]'],
];

test('.npy files written by NumPy (12 dtypes, 0-d to 3-d) decode to the same bytes, and ours load in NumPy', { skip: hasNumpy ? false : `${PYTHON} with numpy not available` }, () => {
  const script = [
    'import numpy as np, sys, json',
    `cases = ${JSON.stringify(NPY_CASES.map(([n, , v]) => [n, v]))}`,
    'out = sys.argv[1]',
    'for name, values in cases:',
    '    a = np.array(eval(values), dtype=name)',
    '    np.save(f"{out}/{name}.npy", a)',
    '    a.tofile(f"{out}/{name}.raw")',
    '    json.dump(list(a.shape), open(f"{out}/{name}.shape", "w"))',
    'np.save(f"{out}/scalar.npy", np.float32(2.5))',
    'np.save(f"{out}/cube.npy", np.arange(24, dtype=np.float32).reshape(2, 3, 4))',
    'np.save(f"{out}/fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))',
    'np.save(f"{out}/bigendian.npy", np.arange(3, dtype=">f4"))',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script, dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const [name, dt] of NPY_CASES) {
    const t = readNpy(join(dir, `${name}.npy`));
    assert.equal(t.dataType, dt, name);
    const raw = readFileSync(join(dir, `${name}.raw`));
    assert.deepEqual(Buffer.from(t.bytes()), raw, `${name}: same bytes as ndarray.tofile`);
    // And back: our encoding, read by NumPy, equals the original array.
    writeFileSync(join(dir, `${name}.kiln.npy`), encodeNpy(t));
  }
  assert.deepEqual(readNpy(join(dir, 'scalar.npy')).dims, []);
  assert.deepEqual(readNpy(join(dir, 'scalar.npy')).toNumbers(), [2.5]);
  const cube = readNpy(join(dir, 'cube.npy'));
  assert.deepEqual(cube.dims, [2, 3, 4]);
  assert.deepEqual(cube.toNumbers(), Array.from({ length: 24 }, (_, i) => i));
  assert.throws(() => readNpy(join(dir, 'fortran.npy')), (e: unknown) => e instanceof KilnError && /fortran\.npy: Fortran-order/.test(e.message));
  assert.throws(() => readNpy(join(dir, 'bigendian.npy')), (e: unknown) => e instanceof KilnError && /bigendian\.npy: unsupported dtype '>f4'/.test(e.message));

  const check = [
    'import numpy as np, sys',
    `names = ${JSON.stringify(NPY_CASES.map(([n]) => n))}`,
    'for n in names:',
    '    a, b = np.load(f"{sys.argv[1]}/{n}.npy"), np.load(f"{sys.argv[1]}/{n}.kiln.npy")',
    '    assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), n',
    'print("ok", len(names))',
  ].join('\n');
  const c = spawnSync(PYTHON, ['-c', check, dir], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /ok 12/);
});

test('encodeNpy / decodeNpy round-trip without Python, data 64-byte aligned', () => {
  for (const t of [Tensor.from(DataType.FLOAT, [2, 2], [1, 2, 3, 4]), Tensor.from(DataType.INT64, [3], [1n, -2n, 3n]), Tensor.from(DataType.FLOAT16, [1], [0.5]), Tensor.scalar(DataType.INT32, 7), Tensor.from(DataType.FLOAT, [0, 3], [])]) {
    const bytes = encodeNpy(t);
    const headerLen = new DataView(bytes.buffer).getUint16(8, true);
    assert.equal((10 + headerLen) % 64, 0, 'data starts 64-byte aligned');
    assert.ok(decodeNpy(bytes).equals(t), `${t}`);
  }
  assert.throws(() => encodeNpy(Tensor.fromStrings([1], [Buffer.from('a')])), /cannot hold string/);
});

test('bad .npy files name the file: bad magic, truncated header, short data', () => {
  assert.throws(() => decodeNpy(Buffer.from('not numpy at all'), 'a.npy'), /a\.npy: not a \.npy file/);
  const good = encodeNpy(Tensor.from(DataType.FLOAT, [4], [1, 2, 3, 4]));
  assert.throws(() => decodeNpy(good.subarray(0, 20), 'b.npy'), /b\.npy: truncated \.npy header/);
  assert.throws(() => decodeNpy(good.subarray(0, good.length - 3), 'c.npy'), /c\.npy: .*needs 16 bytes, got 13/);
  assert.throws(() => readNpy(join(dir, 'nope.npy')), /nope\.npy: no such file/);
});

test('TensorProto .pb: encode/decode round trip, and the backend tests\' files decode', () => {
  for (const t of [Tensor.from(DataType.FLOAT, [2, 3], [1, 2, 3, 4, 5, 6]), Tensor.from(DataType.BOOL, [2], [1, 0]), Tensor.fromStrings([2], [Buffer.from('x'), Buffer.from('yz')]), Tensor.from(DataType.BFLOAT16, [1], [2])]) {
    const back = decodeTensorProto(encodeTensorProto(t, 'v'), 'v.pb');
    assert.ok(back.equals(t), `${t}`);
    assert.equal(back.name, 'v');
  }
  assert.throws(() => decodeTensorProto(Buffer.from([0x0a, 0xff, 0xff]), 'bad.pb'), (e: unknown) => e instanceof KilnError && /bad\.pb/.test(e.message));
  const set = '/usr/share/libonnx-testdata/data/node/test_abs/test_data_set_0';
  if (existsSync(set)) {
    const x = readTensorProto(join(set, 'input_0.pb'));
    const y = readTensorProto(join(set, 'output_0.pb'));
    assert.deepEqual(x.dims, [3, 4, 5]);
    assert.deepEqual(y.toNumbers(), x.toNumbers().map(Math.abs));
    assert.ok(readdirSync(set).length >= 2);
  }
});

test('onnxruntime Tensor conversion keeps type, dims and bytes (float16, bool, int64, string, uint8)', () => {
  const cases = [
    Tensor.from(DataType.FLOAT, [2, 2], [1, -2, 3.5, 0]),
    Tensor.from(DataType.FLOAT16, [3], [1, 0.5, -65504]),
    Tensor.from(DataType.BOOL, [3], [1, 0, 1]),
    Tensor.from(DataType.INT64, [2], [2n ** 62n, -1n]),
    Tensor.from(DataType.UINT8, [2], [0, 255]),
    Tensor.fromStrings([2], [Buffer.from('héllo'), Buffer.from('')]),
  ];
  for (const t of cases) {
    const o = toOrtTensor(t);
    assert.deepEqual([...o.dims], [...t.dims]);
    const back = fromOrtTensor(o);
    assert.ok(back.equals(t), `${t} survives ort and back`);
  }
  // An unaligned view (odd byte offset, as inside a file buffer) still converts.
  const buf = new Uint8Array(9);
  buf.set(new Uint8Array(Float32Array.from([1.25, -3]).buffer), 1);
  const odd = Tensor.fromBytes(DataType.FLOAT, [2], buf.subarray(1));
  assert.deepEqual([...(toOrtTensor(odd).data as Float32Array)], [1.25, -3]);
  assert.throws(() => toOrtTensor(Tensor.from(DataType.BFLOAT16, [1], [1])), /cannot hold bfloat16/);
});
