// Bad model files, through the library (loadModel → ModelError naming the file and the culprit)
// and through the CLI (`kiln inspect FILE`: exit 1, one line on stderr, no stack unless --verbose).
// Ops from unknown domains and newer opsets are not bad input: they load and are listed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import protobuf from 'protobufjs/minimal.js';
import { ModelError } from '../../src/errors.js';
import { onnx } from '../../src/onnx/codec.js';
import { loadModel } from '../../src/onnx/read.js';
import { encodeModel } from '../../src/onnx/write.js';
import { verify } from '../../src/ir/verify.js';
import { addModel, convModel, externalTensor, floatTensor, long, longs, modelBytes, node, valueInfo } from './proto-helpers.js';

const KILN = new URL('../../bin/kiln.js', import.meta.url).pathname;
const exec = promisify(execFile);
const T = onnx.AttributeProto.AttributeType;

interface BadCase {
  name: string;
  /** Writes the model (and any side files) into `dir`; returns the model's path. */
  make(dir: string): string;
  /** Each must appear in the error message (besides the file name). */
  culprit: RegExp[];
}

const write = (dir: string, name: string, bytes: Uint8Array): string => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

/** ModelProto with ir_version = 8 and a graph given as raw bytes (for wire-level damage). */
const rawModel = (build: (w: protobuf.Writer) => void): Uint8Array => {
  const w = protobuf.Writer.create();
  build(w);
  return w.finish();
};

const floats24 = new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer);

const CASES: BadCase[] = [
  {
    name: 'garbage bytes',
    make: (d) => {
      let s = 12345;
      return write(d, 'garbage.onnx', Uint8Array.from({ length: 300 }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24));
    },
    culprit: [/protobuf|not an ONNX model/],
  },
  { name: 'empty file', make: (d) => write(d, 'empty.onnx', new Uint8Array()), culprit: [/empty/] },
  { name: 'truncated file', make: (d) => write(d, 'truncated.onnx', convModel().subarray(0, 400)), culprit: [/truncated/] },
  {
    name: 'graph field with the wrong wire type (varint instead of a message)',
    make: (d) => write(d, 'wire-graph.onnx', rawModel((w) => w.uint32((1 << 3) | 0).int64(8).uint32((7 << 3) | 0).int64(5))),
    culprit: [/protobuf/],
  },
  {
    // protobufjs' generated decoders do not check wire types: ir_version sent as a string is read
    // as a varint (the string's length) and the string's bytes as further fields.
    name: 'ir_version with the wrong wire type (a string instead of a varint)',
    make: (d) =>
      write(
        d,
        'wire-ir.onnx',
        rawModel((w) => {
          w.uint32((1 << 3) | 2).string('eight');
          w.uint32((8 << 3) | 2).bytes(onnx.OperatorSetIdProto.encode({ domain: '', version: long(17) }).finish());
          w.uint32((7 << 3) | 2).bytes(onnx.GraphProto.encode({ name: 'g', node: [node('Relu', ['x'], ['y'])], input: [valueInfo('x')], output: [valueInfo('y')] }).finish());
        }),
      ),
    culprit: [/ir_version|wire type|protobuf/],
  },
  {
    name: 'attribute whose declared type holds no value (INT with only f set)',
    make: (d) =>
      write(d, 'attr-type.onnx', modelBytes({ node: [node('Softmax', ['x'], ['y'], 'soft', { attribute: [{ name: 'axis', type: T.INT, f: 1.5 }] })], input: [valueInfo('x', 1, [2, 3])], output: [valueInfo('y', 1, [2, 3])] })),
    culprit: [/soft/, /axis/],
  },
  {
    name: 'initializer data in the wrong typed field (float tensor in int64_data)',
    make: (d) => write(d, 'typed-field.onnx', addModel({ name: 'W', dims: longs([2, 3]), dataType: onnx.TensorProto.DataType.FLOAT, int64Data: longs([1, 2, 3, 4, 5, 6]) })),
    culprit: [/'W'/, /float_data/],
  },
  {
    name: 'graph with a cycle',
    make: (d) =>
      write(d, 'cycle.onnx', modelBytes({ node: [node('Add', ['x', 'b'], ['a'], 'first'), node('Relu', ['a'], ['b'], 'second')], input: [valueInfo('x', 1, [2])], output: [valueInfo('a', 1, [2])] })),
    culprit: [/cycle/, /first|second/],
  },
  {
    name: 'node input nothing produces',
    make: (d) => write(d, 'dangling.onnx', modelBytes({ node: [node('Add', ['x', 'ghost'], ['y'], 'adder')], input: [valueInfo('x', 1, [2])], output: [valueInfo('y', 1, [2])] })),
    culprit: [/adder/, /'ghost'/],
  },
  {
    name: 'two nodes produce the same value',
    make: (d) => write(d, 'dup-output.onnx', modelBytes({ node: [node('Relu', ['x'], ['y'], 'one'), node('Neg', ['x'], ['y'], 'two')], input: [valueInfo('x', 1, [2])], output: [valueInfo('y', 1, [2])] })),
    culprit: [/'y'/, /two/],
  },
  {
    name: 'a node output reuses a graph input name',
    make: (d) => write(d, 'dup-input.onnx', modelBytes({ node: [node('Relu', ['x'], ['x'], 'self')], input: [valueInfo('x', 1, [2])], output: [valueInfo('x', 1, [2])] })),
    culprit: [/'x'/, /self/],
  },
  {
    name: 'an initializer defined twice',
    make: (d) =>
      write(d, 'dup-init.onnx', modelBytes({ node: [node('Add', ['x', 'W'], ['y'])], initializer: [floatTensor('W', [2], [1, 2]), floatTensor('W', [2], [3, 4])], input: [valueInfo('x', 1, [2])], output: [valueInfo('y', 1, [2])] })),
    culprit: [/'W'/, /twice/],
  },
  {
    name: 'external data file missing',
    make: (d) => write(d, 'ext-missing.onnx', addModel(externalTensor('W', [2, 3], 'weights.bin', 0, 24))),
    culprit: [/'W'/, /weights\.bin/, /does not exist/],
  },
  {
    name: 'external data file shorter than offset + length',
    make: (d) => {
      writeFileSync(join(d, 'short.bin'), floats24.subarray(0, 20));
      return write(d, 'ext-short.onnx', addModel(externalTensor('W', [2, 3], 'short.bin', 0, 24)));
    },
    culprit: [/'W'/, /short\.bin/, /20 bytes/],
  },
  {
    name: 'external data offset past the end',
    make: (d) => {
      writeFileSync(join(d, 'w.bin'), floats24);
      return write(d, 'ext-offset.onnx', addModel(externalTensor('W', [2, 3], 'w.bin', 8, 24)));
    },
    culprit: [/'W'/, /w\.bin/, /8\.\.32/],
  },
  {
    name: 'external data location is absolute',
    make: (d) => {
      writeFileSync(join(d, 'abs.bin'), floats24);
      return write(d, 'ext-abs.onnx', addModel(externalTensor('W', [2, 3], join(d, 'abs.bin'), 0, 24)));
    },
    culprit: [/'W'/, /absolute/],
  },
  {
    name: 'external data location escapes the folder with ../',
    make: (d) => {
      mkdirSync(join(d, 'model'));
      writeFileSync(join(d, 'outside.bin'), floats24);
      return write(join(d, 'model'), 'ext-dotdot.onnx', addModel(externalTensor('W', [2, 3], '../outside.bin', 0, 24)));
    },
    culprit: [/'W'/, /outside the model's folder/],
  },
  {
    name: 'external data location escapes through a symlink',
    make: (d) => {
      mkdirSync(join(d, 'model'));
      writeFileSync(join(d, 'secret.bin'), floats24);
      symlinkSync(join(d, 'secret.bin'), join(d, 'model', 'link.bin'));
      return write(join(d, 'model'), 'ext-link.onnx', addModel(externalTensor('W', [2, 3], 'link.bin', 0, 24)));
    },
    culprit: [/'W'/, /link\.bin/, /outside/],
  },
  {
    name: 'external data location hides ../ in the middle',
    make: (d) => {
      mkdirSync(join(d, 'model', 'sub'), { recursive: true });
      writeFileSync(join(d, 'outside.bin'), floats24);
      return write(join(d, 'model'), 'ext-mid.onnx', addModel(externalTensor('W', [2, 3], 'sub/../../outside.bin', 0, 24)));
    },
    culprit: [/'W'/, /outside the model's folder/],
  },
];

const dir = mkdtempSync(join(tmpdir(), 'kiln-bad-input-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

for (const [i, c] of CASES.entries()) {
  test(`bad input, library: ${c.name} → ModelError naming file and culprit`, async () => {
    const d = join(dir, `lib${i}`);
    mkdirSync(d);
    const file = c.make(d);
    await assert.rejects(loadModel(file), (e: unknown) => {
      assert.ok(e instanceof ModelError, `expected a ModelError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
      assert.equal(e.file, file);
      assert.ok(e.message.startsWith(file), `message names the file: ${e.message}`);
      for (const re of c.culprit) assert.match(e.message, re);
      return true;
    });
  });
}

test('bad input, CLI: kiln inspect exits 1 with one clear line per bad file, a stack only with --verbose', { timeout: 5 * 60_000 }, async () => {
  const d = join(dir, 'cli');
  mkdirSync(d);
  const files = CASES.map((c, i) => {
    const sub = join(d, String(i));
    mkdirSync(sub);
    return c.make(sub);
  });
  const inspect = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const r = await exec(process.execPath, [KILN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      return { code: 0, ...r };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, stdout: x.stdout, stderr: x.stderr };
    }
  };
  // Two at a time: each is a Node + tsx start-up.
  const results: { code: number; stdout: string; stderr: string }[] = [];
  for (let i = 0; i < files.length; i += 2) results.push(...(await Promise.all(files.slice(i, i + 2).map((f) => inspect(['inspect', f])))));
  const problems: string[] = [];
  results.forEach((r, i) => {
    const c = CASES[i];
    const lines = r.stderr.trimEnd().split('\n');
    if (r.code !== 1) problems.push(`${c.name}: exit code ${r.code}, expected 1 (stderr: ${r.stderr.trim() || 'empty'})`);
    else if (r.stdout !== '') problems.push(`${c.name}: wrote to stdout: ${r.stdout}`);
    else if (lines.length !== 1) problems.push(`${c.name}: ${lines.length} lines on stderr, expected one:\n${r.stderr}`);
    else if (!lines[0].includes(files[i])) problems.push(`${c.name}: does not name the file: ${lines[0]}`);
    else if (/^\s+at /m.test(r.stderr)) problems.push(`${c.name}: prints a stack trace without --verbose`);
    else for (const re of c.culprit) if (!re.test(lines[0])) problems.push(`${c.name}: ${lines[0]} does not match ${re}`);
  });
  assert.deepEqual(problems, []);
  const verbose = await inspect(['--verbose', 'inspect', files[CASES.findIndex((c) => c.name === 'node input nothing produces')]]);
  assert.equal(verbose.code, 1);
  assert.match(verbose.stderr, /^\s+at /m, '--verbose prints the stack');
});

// Not bad input: an op from another domain and opset versions newer than kiln knows.
function foreignModel(): Uint8Array {
  return modelBytes(
    {
      node: [
        node('FusedGemm', ['x', 'w'], ['g'], 'ms_gemm', { domain: 'com.microsoft', attribute: [{ name: 'activation', type: T.STRING, s: Buffer.from('Relu') }] }),
        node('FancyFutureOp', ['g'], ['y'], 'future', { attribute: [{ name: 'mode', type: T.INT, i: long(3) }] }),
      ],
      initializer: [floatTensor('w', [3, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1])],
      input: [valueInfo('x', 1, ['n', 3])],
      output: [valueInfo('y', 1, ['n', 3])],
    },
    { opsets: { '': 99, 'com.microsoft': 1 }, irVersion: 99 },
  );
}

test('unknown-domain ops (com.microsoft) and newer opsets / IR versions load, verify and round-trip', async () => {
  const file = write(dir, 'foreign.onnx', foreignModel());
  const m = await loadModel(file);
  assert.deepEqual(verify(m), []);
  assert.equal(m.opset(''), 99);
  assert.equal(m.opset('com.microsoft'), 1);
  assert.equal(m.irVersion, 99);
  assert.deepEqual(m.graph.nodes.map((n) => [n.domain, n.opType]), [['com.microsoft', 'FusedGemm'], ['', 'FancyFutureOp']]);
  const again = write(dir, 'foreign-rt.onnx', encodeModel(m));
  const m2 = await loadModel(again);
  assert.deepEqual(m2.graph.nodes.map((n) => [n.domain, n.opType, n.getString('activation'), n.getInt('mode')]), [['com.microsoft', 'FusedGemm', 'Relu', undefined], ['', 'FancyFutureOp', undefined, 3]]);
  assert.equal(m2.opset('com.microsoft'), 1);
});

test('kiln inspect lists unknown-domain ops and newer opsets instead of rejecting them', async () => {
  const file = write(dir, 'foreign-cli.onnx', foreignModel());
  const { stdout } = await exec(process.execPath, [KILN, 'inspect', file, '--json'], { encoding: 'utf8' });
  const text = JSON.stringify(JSON.parse(stdout));
  assert.match(text, /com\.microsoft/);
  assert.match(text, /FusedGemm/);
  assert.match(text, /FancyFutureOp/);
  assert.match(text, /99/);
});
