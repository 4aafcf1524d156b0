// Partial data propagation for shape inference: the values of small integer tensors that hold
// shapes or pads (Shape → Gather → Unsqueeze → Concat → Reshape, and torch's F.pad export
// Concat → Reshape → Slice(step −1) → Transpose → Reshape → Cast), element by element, with
// symbolic dims kept as names. Shape inference reads them where a rule needs a constant
// (Reshape's shape, Expand, ConstantOfShape, Pad, Resize sizes, Slice bounds), so a model given
// --input-shape resolves its dims as if its shape computation were folded. Rules are a table
// keyed by op type; an op without a rule gives no value.
import { DataType } from './dtype.js';
import type { Dim, Node } from './graph.js';
import type { Tensor } from './tensor.js';

/** A small integer tensor: its shape and its elements in row-major order (numbers, names, or null). */
export interface ShapeValue {
  readonly shape: readonly number[];
  readonly elems: readonly Dim[];
}

/** Largest value tracked (shapes and pads are short; anything larger is data). */
const MAX_ELEMS = 64;

export interface ValueCtx {
  readonly node: Node;
  readonly opset: number;
  /** The known value of input i (a constant or a propagated value). */
  value(i: number): ShapeValue | undefined;
  /** The (inferred or declared) shape of input i. */
  shape(i: number): readonly Dim[] | undefined;
}

type ValueRule = (c: ValueCtx) => ShapeValue | undefined;

const INT_TYPES = new Set<number>([DataType.INT64, DataType.INT32]);

/** A constant's value when it is a small integer tensor. */
export function constantValue(t: Tensor): ShapeValue | undefined {
  if (!INT_TYPES.has(t.dataType) || t.size > MAX_ELEMS) return undefined;
  return { shape: [...t.dims], elems: t.toNumbers() };
}

const numeric = (v: ShapeValue | undefined): number[] | undefined => (v && v.elems.every((d) => typeof d === 'number') ? (v.elems as number[]) : undefined);
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const strides = (shape: readonly number[]): number[] => shape.map((_, i) => size(shape.slice(i + 1)));
const normAxis = (a: number, rank: number): number => (a < 0 ? a + rank : a);
const withShape = (v: ShapeValue, shape: number[]): ShapeValue | undefined => (size(shape) === v.elems.length ? { shape, elems: v.elems } : undefined);

function arith(f: (a: number, b: number) => number, identity?: number): ValueRule {
  return (c) => {
    const a = c.value(0), b = c.value(1);
    if (!a || !b) return undefined;
    const na = a.elems.length, nb = b.elems.length;
    if (na !== nb && na !== 1 && nb !== 1) return undefined;
    const shape = na >= nb ? a.shape : b.shape;
    const elems = Array.from({ length: Math.max(na, nb) }, (_, i): Dim => {
      const x = a.elems[na === 1 ? 0 : i], y = b.elems[nb === 1 ? 0 : i];
      if (typeof x === 'number' && typeof y === 'number') return f(x, y);
      if (identity !== undefined && y === identity) return x; // N * 1, N + 0
      if (identity !== undefined && x === identity) return y; // 1 * N, 0 + N
      return null;
    });
    return { shape: [...shape], elems };
  };
}

/** Slices one axis of a value (ONNX Slice semantics with clamping, negative steps included). */
function sliceAxis(v: ShapeValue, axis: number, start: number, end: number, step: number): ShapeValue {
  const n = v.shape[axis];
  const clamp = (i: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, i < 0 ? i + n : i));
  const picks: number[] = [];
  if (step > 0) for (let i = clamp(start, 0, n); i < clamp(end, 0, n); i += step) picks.push(i);
  else for (let i = clamp(start, -1, n - 1); i > clamp(end, -1, n - 1); i += step) picks.push(i);
  const outShape = [...v.shape];
  outShape[axis] = picks.length;
  const st = strides(v.shape);
  const outer = size(v.shape.slice(0, axis));
  const inner = st[axis];
  const elems: Dim[] = [];
  for (let o = 0; o < outer; o++) for (const p of picks) for (let i = 0; i < inner; i++) elems.push(v.elems[o * n * inner + p * inner + i]);
  return { shape: outShape, elems };
}

export const VALUE_RULES: Readonly<Record<string, ValueRule>> = {
  Shape: (c) => {
    const s = c.shape(0);
    if (!s) return undefined;
    const clamp = (i: number): number => Math.max(0, Math.min(s.length, i < 0 ? i + s.length : i));
    const start = c.opset >= 15 ? clamp(c.node.getInt('start', 0)) : 0;
    const end = c.opset >= 15 ? clamp(c.node.getInt('end', s.length)) : s.length;
    const elems = s.slice(start, Math.max(start, end));
    return { shape: [elems.length], elems };
  },
  Identity: (c) => c.value(0),
  Cast: (c) => (INT_TYPES.has(c.node.getInt('to', 0)) ? c.value(0) : undefined),
  ConstantOfShape: (c) => {
    const shape = numeric(c.value(0));
    const t = c.node.getTensor('value');
    if (!shape || size(shape) > MAX_ELEMS || (t && !INT_TYPES.has(t.dataType))) return undefined;
    const fill = t ? t.toNumbers()[0] : null; // default value is float 0: not an integer value
    if (fill === null) return undefined;
    return { shape, elems: Array(size(shape)).fill(fill) };
  },
  Gather: (c) => {
    const data = c.value(0), idx = c.value(1), ix = numeric(idx);
    if (!data || !idx || !ix || data.shape.length !== 1 || normAxis(c.node.getInt('axis', 0), 1) !== 0) return undefined;
    const n = data.shape[0];
    if (ix.some((i) => i < -n || i >= n)) return undefined;
    return { shape: [...idx.shape], elems: ix.map((i) => data.elems[i < 0 ? i + n : i]) };
  },
  Unsqueeze: (c) => {
    const v = c.value(0);
    const axes = c.opset >= 13 ? numeric(c.value(1)) : c.node.getInts('axes');
    if (!v || !axes) return undefined;
    const rank = v.shape.length + axes.length;
    const set = new Set(axes.map((a) => normAxis(a, rank)));
    const shape: number[] = [];
    for (let i = 0, j = 0; i < rank; i++) shape.push(set.has(i) ? 1 : v.shape[j++]);
    return withShape(v, shape);
  },
  Squeeze: (c) => {
    const v = c.value(0);
    if (!v) return undefined;
    const axes = c.opset >= 13 ? (c.node.input(1) ? numeric(c.value(1)) : undefined) : c.node.getInts('axes');
    const set = axes ? new Set(axes.map((a) => normAxis(a, v.shape.length))) : undefined;
    return withShape(v, v.shape.filter((d, i) => (set ? !set.has(i) : d !== 1)));
  },
  Flatten: (c) => {
    const v = c.value(0);
    if (!v) return undefined;
    const axis = normAxis(c.node.getInt('axis', 1), v.shape.length);
    return withShape(v, [size(v.shape.slice(0, axis)), size(v.shape.slice(axis))]);
  },
  Reshape: (c) => {
    const v = c.value(0), target = numeric(c.value(1));
    if (!v || !target) return undefined;
    const shape = target.map((d, i) => (d === 0 && c.node.getInt('allowzero', 0) !== 1 ? v.shape[i] : d));
    const minus = shape.indexOf(-1);
    if (minus >= 0) shape[minus] = v.elems.length / size(shape.filter((_, i) => i !== minus));
    return shape.every((d) => Number.isInteger(d) && d >= 0) ? withShape(v, shape) : undefined;
  },
  Transpose: (c) => {
    const v = c.value(0);
    if (!v) return undefined;
    const rank = v.shape.length;
    const perm = c.node.getInts('perm') ?? [...Array(rank).keys()].reverse();
    const shape = perm.map((p) => v.shape[p]);
    const st = strides(v.shape);
    const elems: Dim[] = [];
    const idx = new Array<number>(rank).fill(0);
    for (let k = 0; k < v.elems.length; k++) {
      elems.push(v.elems[perm.reduce((off, p, j) => off + idx[j] * st[p], 0)]);
      for (let j = rank - 1; j >= 0 && ++idx[j] === shape[j]; j--) idx[j] = 0;
    }
    return { shape, elems };
  },
  Concat: (c) => {
    const parts = c.node.inputs.map((_, i) => c.value(i));
    if (!parts.length || parts.some((p) => !p || p.shape.length !== parts[0]!.shape.length)) return undefined;
    const rank = parts[0]!.shape.length;
    if (rank === 0) return undefined;
    const axis = normAxis(c.node.getInt('axis', 0), rank);
    const outer = size(parts[0]!.shape.slice(0, axis));
    const shape = [...parts[0]!.shape];
    shape[axis] = parts.reduce((a, p) => a + p!.shape[axis], 0);
    if (size(shape) > MAX_ELEMS) return undefined;
    const elems: Dim[] = [];
    for (let o = 0; o < outer; o++) {
      for (const p of parts) {
        const chunk = size(p!.shape.slice(axis));
        elems.push(...p!.elems.slice(o * chunk, (o + 1) * chunk));
      }
    }
    return { shape, elems };
  },
  Slice: (c) => {
    let v = c.value(0);
    if (!v || !v.shape.length) return undefined;
    const rank = v.shape.length;
    const [starts, ends] = c.opset >= 10 ? [numeric(c.value(1)), numeric(c.value(2))] : [c.node.getInts('starts'), c.node.getInts('ends')];
    if (!starts || !ends) return undefined;
    const axes = c.opset >= 10 ? (c.node.input(3) ? numeric(c.value(3)) : [...starts.keys()]) : (c.node.getInts('axes') ?? [...starts.keys()]);
    const steps = c.opset >= 10 && c.node.input(4) ? numeric(c.value(4)) : starts.map(() => 1);
    if (!axes || !steps || steps.some((s) => s === 0)) return undefined;
    for (const [k, a] of axes.entries()) v = sliceAxis(v, normAxis(a, rank), starts[k], ends[k], steps[k]);
    return v;
  },
  Add: arith((a, b) => a + b, 0),
  Sub: arith((a, b) => a - b),
  Mul: arith((a, b) => a * b, 1),
  // Integer division truncates toward zero (onnxruntime's int64 Div).
  Div: arith((a, b) => (b === 0 ? Number.NaN : Math.trunc(a / b))),
};

/** The value node `n`'s first output takes, when a rule knows it. */
export function propagateValue(c: ValueCtx): ShapeValue | undefined {
  if (c.node.domain !== '') return undefined;
  const v = VALUE_RULES[c.node.opType]?.(c);
  if (!v || v.elems.length > MAX_ELEMS || v.elems.some((d) => typeof d === 'number' && !Number.isFinite(d))) return undefined;
  return v;
}
