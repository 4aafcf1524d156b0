// Tensors on disk and in onnxruntime: TensorProto `.pb` files (the ONNX backend tests'
// input_N.pb / output_N.pb), NumPy `.npy` files (what PyTorch-side scripts write), and
// onnxruntime Tensors, all converted to and from kiln's Tensor (raw little-endian bytes).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { KilnError } from '../errors.js';
import { DataType, DTYPES, dtypeFromName, dtypeName } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { ort } from '../runtime/session.js';
import { onnx } from './codec.js';
import { convertTensor } from './read.js';
import { tensorProto } from './write.js';

// ---------------------------------------------------------------------------------------------
// TensorProto (.pb)

/** Decodes one serialized TensorProto. `baseDir` resolves external data, as for a model. */
export function decodeTensorProto(bytes: Uint8Array, file = '<tensor bytes>', baseDir?: string): Tensor {
  let proto: onnx.TensorProto;
  try {
    proto = onnx.TensorProto.decode(bytes);
  } catch (e) {
    throw new KilnError(`${file}: not a valid TensorProto (${(e as Error).message})`, { cause: e });
  }
  return convertTensor(proto, { file, baseDir, sizes: new Map() }, `tensor '${proto.name || '?'}'`);
}

export function readTensorProto(file: string): Tensor {
  return decodeTensorProto(readBytes(file), file, dirname(resolve(file)));
}

/** Serializes a tensor as a TensorProto with its data in raw_data (string tensors in string_data). */
export function encodeTensorProto(t: Tensor, name = t.name): Uint8Array {
  return onnx.TensorProto.encode(tensorProto(t, name || undefined, null, 0)).finish();
}

/**
 * The kind of value an ONNX backend-test `.pb` file holds, judged from the graph's declared type:
 * only tensors decode here; sequences, maps and optionals are SequenceProto/MapProto/OptionalProto.
 */
export function isTensorTypeProto(tp: unknown): boolean {
  const t = tp as onnx.ITypeProto | undefined;
  return !!t && !!t.tensorType;
}

// ---------------------------------------------------------------------------------------------
// NumPy (.npy, format versions 1–3; https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html)

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** NumPy dtype descriptor ↔ ONNX element type (little-endian only; '|' marks 1-byte types). */
const NPY_DESCR: Readonly<Record<string, DataType>> = {
  '<f4': DataType.FLOAT,
  '<f8': DataType.DOUBLE,
  '<f2': DataType.FLOAT16,
  '|i1': DataType.INT8,
  '|u1': DataType.UINT8,
  '<i2': DataType.INT16,
  '<u2': DataType.UINT16,
  '<i4': DataType.INT32,
  '<u4': DataType.UINT32,
  '<i8': DataType.INT64,
  '<u8': DataType.UINT64,
  '|b1': DataType.BOOL,
  '<c8': DataType.COMPLEX64,
  '<c16': DataType.COMPLEX128,
};

export function decodeNpy(bytes: Uint8Array, file = '<npy bytes>'): Tensor {
  const fail = (detail: string): never => {
    throw new KilnError(`${file}: ${detail}`);
  };
  if (bytes.byteLength < 10 || NPY_MAGIC.some((b, i) => bytes[i] !== b)) fail('not a .npy file (bad magic)');
  const major = bytes[6];
  if (major < 1 || major > 3) fail(`unsupported .npy format version ${major}.${bytes[7]}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.byteLength) fail('truncated .npy header');
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail(`cannot parse .npy header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True') fail('Fortran-order arrays are not supported; save with np.ascontiguousarray');
  const dt = NPY_DESCR[descr!] ?? NPY_DESCR[descr!.replace(/^=/, '<')];
  if (dt === undefined) fail(`unsupported dtype '${descr}' (big-endian, string and object arrays are not supported)`);
  const dims = shapeText!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : fail(`bad shape entry '${s}'`)));
  const data = bytes.subarray(start + headerLen);
  try {
    // A copy, so the tensor does not pin (or alias) the caller's buffer at an odd offset.
    return Tensor.fromBytes(dt, dims, new Uint8Array(data));
  } catch (e) {
    return fail(`${(e as Error).message} of data`);
  }
}

export function readNpy(file: string): Tensor {
  return decodeNpy(readBytes(file), file);
}

export function encodeNpy(t: Tensor): Uint8Array {
  const descr = Object.entries(NPY_DESCR).find(([, dt]) => dt === t.dataType)?.[0];
  if (!descr) throw new KilnError(`.npy cannot hold ${dtypeName(t.dataType)} tensors`);
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Header padded with spaces and ended by '\n' so that the data starts 64-byte aligned.
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += `${' '.repeat(pad % 64)}\n`;
  const data = t.bytes();
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(NPY_MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(data, 10 + header.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// onnxruntime Tensor

/** True when onnxruntime-node can hold tensors of this element type. */
export const ortSupportsType = (dt: DataType): boolean => DTYPES[dt]?.ort !== undefined;

/** kiln Tensor → onnxruntime Tensor (shares the bytes when they are aligned for the type). */
export function toOrtTensor(t: Tensor): ort.Tensor {
  const type = DTYPES[t.dataType]?.ort;
  if (!type) throw new KilnError(`onnxruntime-node cannot hold ${dtypeName(t.dataType)} tensors`);
  const dims = [...t.dims];
  if (type === 'string') return new ort.Tensor('string', t.stringData().map((s) => Buffer.from(s).toString('utf8')), dims);
  if (type === 'bool' || type === 'int4' || type === 'uint4') return new ort.Tensor(type, new Uint8Array(t.bytes()), dims);
  return new ort.Tensor(type, t.view() as never, dims);
}

/** onnxruntime Tensor → kiln Tensor. The bytes are copied: ort may reuse its output buffers. */
export function fromOrtTensor(o: ort.Tensor): Tensor {
  const dt = dtypeFromName(o.type);
  const dims = [...o.dims];
  if (o.type === 'string') return Tensor.fromStrings(dims, (o.data as string[]).map((s) => Buffer.from(s, 'utf8')));
  const d = o.data as ArrayBufferView;
  return Tensor.fromBytes(dt, dims, new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)));
}

function readBytes(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KilnError(`${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}`}`, { cause: e });
  }
}
