// Tensor: an initializer or constant value. Data is kept as little-endian raw bytes, exactly as
// ONNX stores raw_data, so loading a model never converts weights; a tensor read from a file
// holds a view into the file's buffer (no copy), and an external-data tensor reads its bytes
// only when first asked for them.
import { openSync, readSync, closeSync } from 'node:fs';
import { ModelError } from '../errors.js';
import { DataType, byteLength, dtypeInfo, dtypeName } from './dtype.js';
import { bfloatBitsToFloat, floatToBfloatBits, floatToHalfBits, halfBitsToFloat } from './half.js';

/** Where an external tensor's bytes live (ONNX external_data: location, offset, length). */
export interface ExternalRef {
  /** Absolute path, already checked to lie inside the model's folder. */
  readonly path: string;
  /** `location` as written in the model (relative to the model's folder). */
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

export const numel = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

export class Tensor {
  private raw?: Uint8Array;
  private readonly strings?: Uint8Array[];
  /** Set while the bytes still live only in an external file. */
  external?: ExternalRef;
  /** TensorProto.name where it is not a graph value's (tensors held in attributes). */
  name = '';
  docString = '';
  /** TensorProto.metadata_props, kept for round-trip. */
  metadataProps: { key: string; value: string }[] = [];

  private constructor(
    readonly dataType: DataType,
    readonly dims: readonly number[],
    source: { raw?: Uint8Array; strings?: Uint8Array[]; external?: ExternalRef },
  ) {
    this.raw = source.raw;
    this.strings = source.strings;
    this.external = source.external;
  }

  static fromBytes(dataType: DataType, dims: readonly number[], raw: Uint8Array): Tensor {
    const want = byteLength(dataType, numel(dims));
    if (raw.byteLength !== want) throw new RangeError(`${dtypeName(dataType)}[${dims.join(',')}] needs ${want} bytes, got ${raw.byteLength}`);
    return new Tensor(dataType, [...dims], { raw });
  }

  static fromStrings(dims: readonly number[], strings: Uint8Array[]): Tensor {
    return new Tensor(DataType.STRING, [...dims], { strings });
  }

  static fromExternal(dataType: DataType, dims: readonly number[], ref: ExternalRef): Tensor {
    return new Tensor(dataType, [...dims], { external: ref });
  }

  /**
   * Builds a tensor from values. Floats given as numbers are converted for FLOAT16/BFLOAT16;
   * INT64/UINT64 accept numbers or bigints; typed arrays of the storage type are used as is.
   */
  static from(dataType: DataType, dims: readonly number[], values: ArrayLike<number | bigint> | TypedArray): Tensor {
    const n = numel(dims);
    if (values.length !== n) throw new RangeError(`${dtypeName(dataType)}[${dims.join(',')}] needs ${n} values, got ${values.length}`);
    const store = allocStorage(dataType, n);
    if (dataType === DataType.FLOAT16 || dataType === DataType.BFLOAT16) {
      const conv = dataType === DataType.FLOAT16 ? floatToHalfBits : floatToBfloatBits;
      for (let i = 0; i < n; i++) (store as Uint16Array)[i] = conv(Number(values[i]));
    } else if (store instanceof BigInt64Array || store instanceof BigUint64Array) {
      for (let i = 0; i < n; i++) store[i] = BigInt(values[i]);
    } else if (dataType === DataType.BOOL) {
      for (let i = 0; i < n; i++) store[i] = values[i] ? 1 : 0;
    } else if (dtypeInfo(dataType).kind === 'complex' || dtypeInfo(dataType).bits < 8 || (dtypeInfo(dataType).kind === 'float' && dtypeInfo(dataType).bits === 8)) {
      throw new RangeError(`Tensor.from does not encode ${dtypeName(dataType)}; use Tensor.fromBytes with encoded data`);
    } else {
      for (let i = 0; i < n; i++) (store as Float32Array)[i] = Number(values[i]);
    }
    return new Tensor(dataType, [...dims], { raw: new Uint8Array(store.buffer, store.byteOffset, store.byteLength) });
  }

  static scalar(dataType: DataType, value: number | bigint): Tensor {
    return Tensor.from(dataType, [], [value]);
  }

  get size(): number {
    return numel(this.dims);
  }

  get byteLength(): number {
    return this.dataType === DataType.STRING ? this.stringData().reduce((a, s) => a + s.byteLength, 0) : byteLength(this.dataType, this.size);
  }

  get isExternal(): boolean {
    return this.external !== undefined;
  }

  /** Raw little-endian bytes (loads external data on first call and keeps it). */
  bytes(): Uint8Array {
    if (this.dataType === DataType.STRING) throw new TypeError('string tensors have no raw bytes; use stringData()');
    if (!this.raw) this.raw = readExternal(this.external!);
    return this.raw;
  }

  /** Drops loaded external bytes again (for streaming very large models). */
  releaseExternal(): void {
    if (this.external) this.raw = undefined;
  }

  stringData(): Uint8Array[] {
    if (this.dataType !== DataType.STRING) throw new TypeError(`${dtypeName(this.dataType)} tensor has no string data`);
    return this.strings ?? [];
  }

  /** The data as a typed array of its storage type (a view when aligned, else a copy). */
  view(): TypedArray {
    const raw = this.bytes();
    const Ctor = storageCtor(this.dataType);
    const bpe = Ctor.BYTES_PER_ELEMENT;
    if (raw.byteOffset % bpe === 0) return new Ctor(raw.buffer, raw.byteOffset, raw.byteLength / bpe);
    const copy = new Uint8Array(raw);
    return new Ctor(copy.buffer, 0, copy.byteLength / bpe);
  }

  /** Values as JS numbers (float16/bfloat16 decoded, 64-bit integers rounded to double). */
  toNumbers(): number[] {
    const dt = this.dataType;
    const v = this.view();
    if (dt === DataType.FLOAT16) return Array.from(v as Uint16Array, halfBitsToFloat);
    if (dt === DataType.BFLOAT16) return Array.from(v as Uint16Array, bfloatBitsToFloat);
    const info = dtypeInfo(dt);
    if (info.kind === 'complex' || info.bits < 8 || (info.kind === 'float' && info.bits === 8)) throw new TypeError(`toNumbers() does not decode ${dtypeName(dt)}`);
    return Array.from(v as ArrayLike<number | bigint>, Number);
  }

  /** Float32 copy of a float16/bfloat16/float32/float64 tensor. */
  toFloat32(): Float32Array {
    if (this.dataType === DataType.FLOAT) return Float32Array.from(this.view() as Float32Array);
    return Float32Array.from(this.toNumbers());
  }

  /** A new tensor with the same data and other dims (same element count). */
  reshaped(dims: readonly number[]): Tensor {
    if (numel(dims) !== this.size) throw new RangeError(`cannot reshape [${this.dims.join(',')}] to [${dims.join(',')}]`);
    if (this.dataType === DataType.STRING) return Tensor.fromStrings(dims, this.stringData());
    return Tensor.fromBytes(this.dataType, dims, this.bytes());
  }

  /** True when both hold the same type, dims and bytes. */
  equals(other: Tensor): boolean {
    if (this.dataType !== other.dataType || this.dims.length !== other.dims.length) return false;
    if (this.dims.some((d, i) => d !== other.dims[i])) return false;
    if (this.dataType === DataType.STRING) {
      const a = this.stringData(), b = other.stringData();
      return a.length === b.length && a.every((s, i) => Buffer.compare(s, b[i]) === 0);
    }
    return Buffer.compare(this.bytes(), other.bytes()) === 0;
  }

  toString(): string {
    return `${dtypeName(this.dataType)}[${this.dims.join('×')}]`;
  }
}

function storageCtor(dt: DataType): { new (b: ArrayBufferLike, o: number, l: number): TypedArray; BYTES_PER_ELEMENT: number } {
  switch (dt) {
    case DataType.FLOAT: case DataType.COMPLEX64: return Float32Array;
    case DataType.DOUBLE: case DataType.COMPLEX128: return Float64Array;
    case DataType.INT8: return Int8Array;
    case DataType.INT16: return Int16Array;
    case DataType.UINT16: case DataType.FLOAT16: case DataType.BFLOAT16: return Uint16Array;
    case DataType.INT32: return Int32Array;
    case DataType.UINT32: return Uint32Array;
    case DataType.INT64: return BigInt64Array;
    case DataType.UINT64: return BigUint64Array;
    default: return Uint8Array; // uint8, bool, float8 variants, packed 4-bit and 2-bit types
  }
}

function allocStorage(dt: DataType, n: number): TypedArray {
  const Ctor = storageCtor(dt);
  const count = Ctor === Uint8Array ? byteLength(dt, n) : dt === DataType.COMPLEX64 || dt === DataType.COMPLEX128 ? 2 * n : n;
  return new Ctor(new ArrayBuffer(count * Ctor.BYTES_PER_ELEMENT), 0, count);
}

function readExternal(ref: ExternalRef): Uint8Array {
  let fd: number;
  try {
    fd = openSync(ref.path, 'r');
  } catch (e) {
    throw new ModelError(ref.path, `external data file cannot be opened: ${(e as Error).message}`, { cause: e });
  }
  try {
    const buf = Buffer.allocUnsafe(ref.length);
    let done = 0;
    while (done < ref.length) {
      const n = readSync(fd, buf, done, ref.length - done, ref.offset + done);
      if (n === 0) throw new ModelError(ref.path, `external data file ended at byte ${ref.offset + done}, expected ${ref.offset + ref.length} (changed since the model was loaded?)`);
      done += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}
