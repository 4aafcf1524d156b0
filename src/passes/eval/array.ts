// Array helpers for the constant evaluator. Two families of ops, two representations:
// - data movement (Transpose, Slice, Gather, Concat, Expand, Where, …) computes an index map and
//   copies elements of the storage array as they are, so int64 (INT64_MAX in Slice ends),
//   float16 bits and bools pass through exactly;
// - arithmetic works on JS numbers (doubles) and rounds once to the output type when the tensor
//   is built; int64 arithmetic is refused when a value is beyond 2^53, where doubles lose digits.
import { DataType, dtypeInfo, dtypeName } from '../../ir/dtype.js';
import { Tensor, numel, type TypedArray } from '../../ir/tensor.js';

/** Thrown by an evaluator that cannot (or should not) compute this case; the reason becomes a note. */
export class EvalRefusal extends Error {}

export const refuse = (reason: string): never => {
  throw new EvalRefusal(reason);
};

export function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

/** Numpy broadcasting of several shapes, or a refusal naming them. */
export function broadcastShapes(shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i];
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else refuse(`shapes [${shapes.map((x) => x.join(',')).join('] and [')}] do not broadcast`);
    }
  }
  return out;
}

/** For each flat index of `outDims`, the flat index of the broadcast input with `inDims`. */
export function broadcastIndex(outDims: readonly number[], inDims: readonly number[]): Int32Array {
  const n = numel(outDims);
  const idx = new Int32Array(n);
  const rank = outDims.length;
  const inStrides = strides(inDims);
  // Stride 0 along broadcast (size-1 or missing) axes.
  const st = outDims.map((_, i) => {
    const j = i - (rank - inDims.length);
    return j < 0 || inDims[j] === 1 ? 0 : inStrides[j];
  });
  const counter = new Array<number>(rank).fill(0);
  let off = 0;
  for (let k = 0; k < n; k++) {
    idx[k] = off;
    for (let a = rank - 1; a >= 0; a--) {
      counter[a]++;
      off += st[a];
      if (counter[a] < outDims[a]) break;
      off -= st[a] * counter[a];
      counter[a] = 0;
    }
  }
  return idx;
}

function storageOf(t: Tensor): TypedArray {
  if (t.dataType === DataType.STRING) refuse('string tensors are not evaluated');
  const info = dtypeInfo(t.dataType);
  if (info.bits < 8 || info.kind === 'complex' || (info.kind === 'float' && info.bits === 8)) refuse(`${dtypeName(t.dataType)} tensors are not evaluated`);
  return t.view();
}

/** A new tensor of `t`'s type whose element k is t's element idx[k] (exact copy of storage). */
export function take(t: Tensor, dims: readonly number[], idx: ArrayLike<number>): Tensor {
  const src = storageOf(t);
  const Ctor = src.constructor as new (n: number) => TypedArray;
  const dst = new Ctor(idx.length);
  for (let k = 0; k < idx.length; k++) (dst as unknown as unknown[])[k] = (src as unknown as unknown[])[idx[k]];
  return Tensor.fromBytes(t.dataType, dims, new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength));
}

/** Like take, but element k comes from sources[which[k]] at idx[k] (Concat, Where). */
export function takeFrom(sources: readonly Tensor[], dims: readonly number[], which: ArrayLike<number>, idx: ArrayLike<number>): Tensor {
  const dt = sources[0].dataType;
  if (sources.some((s) => s.dataType !== dt)) refuse('inputs have different element types');
  const srcs = sources.map(storageOf) as unknown as unknown[][];
  const Ctor = (srcs[0] as unknown as TypedArray).constructor as new (n: number) => TypedArray;
  const dst = new Ctor(idx.length);
  for (let k = 0; k < idx.length; k++) (dst as unknown as unknown[])[k] = srcs[which[k]][idx[k]];
  return Tensor.fromBytes(dt, dims, new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength));
}

const SAFE = 2 ** 53;

/** Values as numbers for arithmetic; int64 beyond ±2^53 is refused (`exact` false: rounded, for clamping). */
export function numbers(t: Tensor, exact = true): number[] {
  storageOf(t);
  const v = t.toNumbers();
  if (exact && (t.dataType === DataType.INT64 || t.dataType === DataType.UINT64)) {
    for (const x of v) if (Math.abs(x) > SAFE) refuse(`int64 value ${x} is beyond 2^53, where arithmetic in doubles is inexact`);
  }
  return v;
}

/** Integer-valued list input (shape, axes, pads); big values (INT64_MAX) are kept rounded. */
export const intList = (t: Tensor): number[] => numbers(t, false);

/** Builds a tensor from computed numbers, rounding to the type (ints truncate toward zero and wrap like C). */
export function fromNumbers(dt: DataType, dims: readonly number[], values: ArrayLike<number>): Tensor {
  const info = dtypeInfo(dt);
  if (info.kind === 'string' || info.kind === 'complex' || info.bits < 8 || (info.kind === 'float' && info.bits === 8)) refuse(`${dtypeName(dt)} results are not evaluated`);
  if (info.kind === 'int' || info.kind === 'uint') {
    const ints = new Array<number>(values.length);
    for (let i = 0; i < values.length; i++) {
      const x = values[i];
      if (!Number.isFinite(x)) refuse(`result ${x} does not fit ${dtypeName(dt)}`);
      const y = Math.trunc(x);
      if (info.bits === 64 && Math.abs(y) > SAFE) refuse(`int64 result ${y} is beyond 2^53`);
      ints[i] = y;
    }
    if (dt === DataType.UINT64 && ints.some((x) => x < 0)) refuse('negative result for uint64');
    return Tensor.from(dt, dims, ints);
  }
  return Tensor.from(dt, dims, values);
}

export const normAxis = (axis: number, rank: number, what = 'axis'): number => {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) refuse(`${what} ${axis} is out of range for rank ${rank}`);
  return a;
};

/** Transposition index map: output element k reads input element idx[k]. */
export function transposeIndex(dims: readonly number[], perm: readonly number[]): { dims: number[]; idx: Int32Array } {
  const outDims = perm.map((p) => dims[p]);
  const inSt = strides(dims);
  const st = perm.map((p) => inSt[p]);
  const n = numel(outDims);
  const idx = new Int32Array(n);
  const counter = new Array<number>(outDims.length).fill(0);
  let off = 0;
  for (let k = 0; k < n; k++) {
    idx[k] = off;
    for (let a = outDims.length - 1; a >= 0; a--) {
      counter[a]++;
      off += st[a];
      if (counter[a] < outDims[a]) break;
      off -= st[a] * counter[a];
      counter[a] = 0;
    }
  }
  return { dims: outDims, idx };
}
