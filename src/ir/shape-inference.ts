// Shape and type inference for the common operator set. Fills Value.inferred (never the
// declared type) and keeps symbolic dims as names where the rule allows (N + 0 is still N;
// a conv over a symbolic width gives an unknown width). Rules are a table keyed by op type.
import { KilnError } from '../errors.js';
import { DataType } from './dtype.js';
import type { Dim, Graph, Model, Node, TensorType, Value } from './graph.js';
import { constantValue, propagateValue, type ShapeValue } from './shape-values.js';
import { Tensor } from './tensor.js';

export interface InferResult {
  /** Op types with no rule here (their outputs stay unknown unless declared). */
  readonly unknownOps: string[];
  /** Inconsistencies found (e.g. broadcasting 3 against 4), naming the node. */
  readonly problems: string[];
}

type Shape = readonly Dim[];
type Out = (TensorType | undefined)[];

interface Ctx {
  node: Node;
  opset: number;
  ins: (TensorType | undefined)[];
  /** Constant value of input i (initializer or Constant node output), if known. */
  constant(i: number): Tensor | undefined;
  /** Elements of input i when it holds a shape (constant or propagated; symbolic dims kept). */
  dims(i: number): Dim[] | undefined;
  problem(msg: string): void;
}

type Rule = (c: Ctx) => Out;

const T = (elemType: DataType, shape?: Shape): TensorType => ({ kind: 'tensor', elemType, shape: shape ? [...shape] : undefined });

/** Sets the declared shape of graph inputs from --input-shape, checking rank and fixed dims. */
export function fixInputShapes(model: Model, shapes: Record<string, readonly number[]>): void {
  for (const [name, dims] of Object.entries(shapes)) {
    const v = model.graph.inputs.find((x) => x.name === name);
    if (!v) throw new KilnError(`--input-shape names '${name}', but the model's inputs are ${model.graph.inputs.filter((x) => !x.isConstant).map((x) => `'${x.name}'`).join(', ')}`);
    const t = v.tensorType;
    if (!t) throw new KilnError(`input '${name}' is not a tensor`);
    if (t.shape) {
      if (t.shape.length !== dims.length) throw new KilnError(`input '${name}' has rank ${t.shape.length} [${fmtShape(t.shape)}], but --input-shape gives ${dims.length} dims [${dims.join('x')}]`);
      t.shape.forEach((d, i) => {
        if (typeof d === 'number' && d !== dims[i]) throw new KilnError(`input '${name}' dim ${i} is fixed at ${d}, but --input-shape gives ${dims[i]}`);
      });
    }
    v.type = { ...t, kind: 'tensor', shape: [...dims] };
  }
}

export const fmtShape = (s: Shape | undefined): string => (s ? s.map((d) => (d === null ? '?' : String(d))).join('×') : '?');

/** Infers every value's type in the model (subgraphs included). */
export function inferShapes(model: Model, opts: { inputShapes?: Record<string, readonly number[]> } = {}): InferResult {
  if (opts.inputShapes) fixInputShapes(model, opts.inputShapes);
  const unknown = new Set<string>();
  const problems: string[] = [];
  inferGraph(model.graph, model, unknown, problems, new Map());
  return { unknownOps: [...unknown].sort(), problems };
}

function typeOf(v: Value | null): TensorType | undefined {
  if (!v) return undefined;
  if (v.initializer) return T(v.initializer.dataType, v.initializer.dims);
  return v.tensorType;
}

function constantOf(v: Value | null): Tensor | undefined {
  if (!v) return undefined;
  if (v.initializer && !v.isGraphInput) return v.initializer;
  const p = v.producer;
  if (p && p.opType === 'Constant' && p.domain === '') return constantNodeValue(p);
  return undefined;
}

/** The tensor a Constant node produces (value, value_float(s), value_int(s)). */
export function constantNodeValue(n: Node): Tensor | undefined {
  const t = n.getTensor('value');
  if (t) return t;
  const f = n.getFloat('value_float');
  if (f !== undefined) return Tensor.scalar(DataType.FLOAT, f);
  const fs = n.getFloats('value_floats');
  if (fs) return Tensor.from(DataType.FLOAT, [fs.length], fs);
  const i = n.getInt('value_int');
  if (i !== undefined) return Tensor.scalar(DataType.INT64, i);
  const is = n.getInts('value_ints');
  if (is) return Tensor.from(DataType.INT64, [is.length], is);
  return undefined;
}

function inferGraph(g: Graph, model: Model, unknown: Set<string>, problems: string[], values: Map<Value, ShapeValue>): void {
  const valueOf = (v: Value | null): ShapeValue | undefined => {
    if (!v) return undefined;
    const known = values.get(v);
    if (known) return known;
    const t = constantOf(v);
    return t ? constantValue(t) : undefined;
  };
  for (const n of g.nodes) {
    const rule = n.domain === '' ? RULES[n.opType] : undefined;
    for (const sg of n.subgraphs()) inferGraph(sg, model, unknown, problems, values);
    if (!rule) {
      unknown.add(n.domain ? `${n.domain}.${n.opType}` : n.opType);
      continue;
    }
    const opset = model.opset(n.domain) ?? 0;
    const ctx: Ctx = {
      node: n,
      opset,
      ins: n.inputs.map(typeOf),
      constant: (i) => {
        const t = constantOf(n.input(i));
        if (t) return t;
        const v = valueOf(n.input(i));
        // A propagated shape value with every element known acts as an int64 constant.
        return v && v.elems.every((d) => typeof d === 'number') ? Tensor.from(DataType.INT64, v.shape, v.elems as number[]) : undefined;
      },
      dims: (i) => {
        const v = valueOf(n.input(i));
        return v && v.shape.length === 1 ? [...v.elems] : undefined;
      },
      problem: (msg) => problems.push(`${n}: ${msg}`),
    };
    let outs: Out;
    try {
      outs = rule(ctx);
    } catch (e) {
      problems.push(`${n}: shape inference failed: ${(e as Error).message}`);
      continue;
    }
    n.outputs.forEach((v, i) => {
      if (v && outs[i]) v.inferred = outs[i];
    });
    const out = n.outputs[0];
    if (out) {
      const v = propagateValue({ node: n, opset, value: (i) => valueOf(n.input(i)), shape: (i) => typeOf(n.input(i))?.shape });
      if (v) values.set(out, v);
    }
  }
}

// ---- dimension arithmetic -------------------------------------------------------------------

function broadcast(c: Ctx, shapes: (Shape | undefined)[]): Shape | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      // Missing leading dims broadcast as 1; an unknown dim (null) stays unknown, never 1.
      const j = s!.length - rank + i;
      const x = j >= 0 ? s![j] : 1;
      if (x === 1) continue;
      if (d === 1) d = x;
      else if (d === null) d = typeof x === 'number' ? x : null; // unknown vs 5 → 5; unknown vs 'N' could be 5 too
      else if (d !== x) {
        if (typeof d === 'number' && typeof x === 'number') {
          c.problem(`cannot broadcast ${shapes.map((s) => `[${fmtShape(s)}]`).join(' with ')}`);
          d = null;
        } else if (typeof d === 'string') d = typeof x === 'number' ? x : null; // 'N' vs 5 → 5; 'N' vs 'M' → unknown
        // x unknown: the result is d (if x is 1 it broadcasts, otherwise it must equal d).
      }
    }
    out.push(d);
  }
  return out;
}

const mulDims = (a: Dim, b: Dim): Dim => (typeof a === 'number' && typeof b === 'number' ? a * b : a === 1 ? b : b === 1 ? a : null);

const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

function ints(c: Ctx, i: number): number[] | undefined {
  const t = c.constant(i);
  if (!t) return undefined;
  try {
    return t.toNumbers();
  } catch {
    return undefined;
  }
}

/** Axes from the attribute (older opsets) or from input `i` (newer ones). */
function axesOf(c: Ctx, i: number): number[] | undefined | 'unknown' {
  const a = c.node.getInts('axes');
  if (a) return a;
  if (c.node.input(i)) return ints(c, i) ?? 'unknown';
  return undefined;
}

// ---- rules ----------------------------------------------------------------------------------

const same: Rule = (c) => [c.ins[0]];
const elem = (c: Ctx): DataType => c.ins.find((t) => t)?.elemType ?? DataType.UNDEFINED;
const binary: Rule = (c) => [c.ins[0] && c.ins[1] ? T(c.ins[0].elemType, broadcast(c, [c.ins[0].shape, c.ins[1].shape])) : undefined];
const variadic: Rule = (c) => [T(elem(c), broadcast(c, c.ins.map((t) => t?.shape)))];
const compare: Rule = (c) => [T(DataType.BOOL, broadcast(c, [c.ins[0]?.shape, c.ins[1]?.shape]))];
const toBool: Rule = (c) => [c.ins[0] && T(DataType.BOOL, c.ins[0].shape)];

function convLike(c: Ctx, transposed: boolean): Out {
  const x = c.ins[0], w = c.ins[1];
  if (!x) return [undefined];
  if (!x.shape || !w?.shape) return [T(x.elemType)];
  const spatial = x.shape.length - 2;
  const n = c.node;
  const kernel = n.getInts('kernel_shape') ?? w.shape.slice(2);
  const strides = n.getInts('strides') ?? Array(spatial).fill(1);
  const dil = n.getInts('dilations') ?? Array(spatial).fill(1);
  const pads = n.getInts('pads') ?? Array(2 * spatial).fill(0);
  const autoPad = n.getString('auto_pad', 'NOTSET');
  const group = n.getInt('group', 1);
  const outC = transposed ? mulDims(w.shape[1], group) : w.shape[0];
  const out: Dim[] = [x.shape[0], outC];
  const outputShape = n.getInts('output_shape');
  const outPad = n.getInts('output_padding') ?? Array(spatial).fill(0);
  for (let i = 0; i < spatial; i++) {
    const d = x.shape[2 + i], k = kernel[i];
    if (typeof d !== 'number' || typeof k !== 'number') {
      out.push(null);
      continue;
    }
    const ek = (k - 1) * dil[i] + 1;
    if (transposed) {
      if (outputShape) out.push(outputShape[outputShape.length - spatial + i]);
      else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out.push(d * strides[i]);
      else out.push(strides[i] * (d - 1) + outPad[i] + ek - pads[i] - pads[i + spatial]);
    } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out.push(Math.ceil(d / strides[i]));
    else if (autoPad === 'VALID') out.push(Math.floor((d - ek) / strides[i]) + 1);
    else out.push(Math.floor((d + pads[i] + pads[i + spatial] - ek) / strides[i]) + 1);
  }
  return [T(x.elemType, out)];
}

function pool(c: Ctx): Out {
  const x = c.ins[0];
  if (!x) return [undefined];
  if (!x.shape) return [T(x.elemType), T(DataType.INT64)];
  const spatial = x.shape.length - 2;
  const n = c.node;
  const kernel = n.getInts('kernel_shape') ?? [];
  const strides = n.getInts('strides') ?? Array(spatial).fill(1);
  const dil = n.getInts('dilations') ?? Array(spatial).fill(1);
  const pads = n.getInts('pads') ?? Array(2 * spatial).fill(0);
  const autoPad = n.getString('auto_pad', 'NOTSET');
  const ceil = n.getInt('ceil_mode', 0) === 1;
  const out: Dim[] = [x.shape[0], x.shape[1]];
  for (let i = 0; i < spatial; i++) {
    const d = x.shape[2 + i];
    if (typeof d !== 'number' || kernel[i] === undefined) {
      out.push(null);
      continue;
    }
    const ek = (kernel[i] - 1) * dil[i] + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out.push(Math.ceil(d / strides[i]));
    else if (autoPad === 'VALID') out.push(Math.floor((d - ek) / strides[i]) + 1);
    else {
      const span = d + pads[i] + pads[i + spatial] - ek;
      let o = (ceil ? Math.ceil(span / strides[i]) : Math.floor(span / strides[i])) + 1;
      // With ceil_mode the last window must start inside the (left-padded) input.
      if (ceil && (o - 1) * strides[i] >= d + pads[i]) o--;
      out.push(o);
    }
  }
  return [T(x.elemType, out), T(DataType.INT64, out)];
}

const globalPool: Rule = (c) => {
  const x = c.ins[0];
  return [x && T(x.elemType, x.shape ? [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] : undefined)];
};

function matmulShape(c: Ctx, a: Shape | undefined, b: Shape | undefined): Shape | undefined {
  if (!a || !b) return undefined;
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const batch = broadcast(c, [a2.slice(0, -2), b2.slice(0, -2)]) ?? [];
  const out: Dim[] = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.pop();
  return out;
}

function reduce(c: Ctx, axesInput: number): Out {
  const x = c.ins[0];
  if (!x) return [undefined];
  const keep = c.node.getInt('keepdims', 1) === 1;
  const axes = axesOf(c, axesInput);
  if (!x.shape || axes === 'unknown') return [T(x.elemType)];
  const rank = x.shape.length;
  const noop = c.node.getInt('noop_with_empty_axes', 0) === 1;
  const set = new Set((axes && axes.length ? axes : noop ? [] : [...Array(rank).keys()]).map((a) => normAxis(a, rank)));
  const out: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return [T(x.elemType, out)];
}

function argReduce(c: Ctx): Out {
  const x = c.ins[0];
  if (!x) return [undefined];
  if (!x.shape) return [T(DataType.INT64)];
  const axis = normAxis(c.node.getInt('axis', 0), x.shape.length);
  const keep = c.node.getInt('keepdims', 1) === 1;
  return [T(DataType.INT64, x.shape.flatMap((d, i) => (i !== axis ? [d] : keep ? [1] : [])))];
}

function reshape(c: Ctx): Out {
  const x = c.ins[0];
  if (!x) return [undefined];
  const shape: Dim[] | undefined = ints(c, 1) ?? c.dims(1);
  if (!shape) {
    const len = c.ins[1]?.shape?.[0];
    return [T(x.elemType, typeof len === 'number' ? Array(len).fill(null) : undefined)];
  }
  const allowZero = c.node.getInt('allowzero', 0) === 1;
  const out: Dim[] = shape.map((d, i) => (d === 0 && !allowZero ? (x.shape?.[i] ?? null) : d === -1 ? -1 : d));
  const minus = out.indexOf(-1);
  if (minus >= 0) {
    const total = x.shape && x.shape.every((d) => typeof d === 'number') ? (x.shape as number[]).reduce((a, b) => a * b, 1) : null;
    const known = out.filter((d, i) => i !== minus);
    const rest = known.every((d) => typeof d === 'number') ? (known as number[]).reduce((a, b) => a * b, 1) : null;
    out[minus] = total !== null && rest ? total / rest : inferSymbolicMinusOne(x.shape, known);
  }
  return [T(x.elemType, out)];
}

/** Reshape [N,C,H,W] → [N,-1]: when the known dims cancel, the -1 is what is left. */
function inferSymbolicMinusOne(inShape: Shape | undefined, known: Dim[]): Dim {
  if (!inShape) return null;
  const left = [...inShape];
  for (const d of known) {
    const i = left.indexOf(d);
    if (i < 0) return null;
    left.splice(i, 1);
  }
  return left.length === 1 ? left[0] : left.every((d) => typeof d === 'number') ? (left as number[]).reduce((a, b) => a * b, 1) : null;
}

function slice(c: Ctx): Out {
  const x = c.ins[0];
  if (!x) return [undefined];
  if (!x.shape) return [T(x.elemType)];
  const rank = x.shape.length;
  let starts: number[] | undefined, ends: number[] | undefined, axes: number[] | undefined, steps: number[] | undefined;
  if (c.opset < 10) {
    starts = c.node.getInts('starts');
    ends = c.node.getInts('ends');
    axes = c.node.getInts('axes');
  } else {
    starts = ints(c, 1);
    ends = ints(c, 2);
    axes = c.node.input(3) ? ints(c, 3) : undefined;
    steps = c.node.input(4) ? ints(c, 4) : undefined;
    if ((c.node.input(3) && !axes) || (c.node.input(4) && !steps)) return [T(x.elemType, Array(rank).fill(null))];
  }
  if (!starts || !ends) return [T(x.elemType, Array(rank).fill(null))];
  const out: Dim[] = [...x.shape];
  const ax = axes ?? starts.map((_, i) => i);
  ax.forEach((a0, i) => {
    const a = normAxis(a0, rank);
    const d = x.shape![a];
    if (typeof d !== 'number') {
      out[a] = null;
      return;
    }
    const step = steps?.[i] ?? 1;
    const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
    let s = starts![i] < 0 ? starts![i] + d : starts![i];
    let e = ends![i] < 0 ? ends![i] + d : ends![i];
    if (step > 0) {
      s = clamp(s, 0, d);
      e = clamp(e, 0, d);
      out[a] = Math.max(0, Math.ceil((e - s) / step));
    } else {
      s = clamp(s, -1, d - 1);
      e = clamp(e, -1, d - 1);
      out[a] = Math.max(0, Math.ceil((e - s) / step));
    }
  });
  return [T(x.elemType, out)];
}

function resize(c: Ctx): Out {
  const x = c.ins[0];
  if (!x) return [undefined];
  if (!x.shape) return [T(x.elemType)];
  const rank = x.shape.length;
  // opset 10: (X, scales); opset ≥ 11: (X, roi, scales, sizes). Upsample: (X, scales) or attribute.
  const scalesIdx = c.opset >= 11 && c.node.opType === 'Resize' ? 2 : 1;
  const sizes = c.opset >= 11 && c.node.opType === 'Resize' && c.node.input(3) ? (ints(c, 3) ?? c.dims(3)) : undefined;
  const axes = c.node.getInts('axes')?.map((a) => normAxis(a, rank)) ?? [...Array(rank).keys()];
  if (sizes) {
    const out: Dim[] = [...x.shape];
    axes.forEach((a, i) => (out[a] = sizes[i]));
    return [T(x.elemType, out)];
  }
  const scales = c.node.getFloats('scales') ?? (c.node.input(scalesIdx) ? c.constant(scalesIdx)?.toNumbers() : undefined);
  if (!scales || !scales.length) return [T(x.elemType, Array(rank).fill(null))];
  const out: Dim[] = [...x.shape];
  axes.forEach((a, i) => {
    const d = x.shape![a];
    out[a] = typeof d === 'number' ? Math.floor(d * scales[i] + 1e-9) : scales[i] === 1 ? d : null;
  });
  return [T(x.elemType, out)];
}

const rnn = (gates: number): Rule => (c) => {
  const x = c.ins[0], w = c.ins[1];
  if (!x?.shape || !w?.shape) return [x && T(x.elemType), x && T(x.elemType), x && T(x.elemType)];
  const layout = c.node.getInt('layout', 0);
  const [seq, batch] = layout === 0 ? [x.shape[0], x.shape[1]] : [x.shape[1], x.shape[0]];
  const dirs = w.shape[0];
  const hidden = c.node.getInt('hidden_size') ?? (typeof w.shape[1] === 'number' ? w.shape[1] / gates : null);
  const y = layout === 0 ? [seq, dirs, batch, hidden] : [batch, seq, dirs, hidden];
  const h = layout === 0 ? [dirs, batch, hidden] : [batch, dirs, hidden];
  return [T(x.elemType, y), T(x.elemType, h), T(x.elemType, h)];
};

const UNARY = [
  'Abs', 'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'Ceil', 'Cos', 'Cosh', 'Elu', 'Erf', 'Exp', 'Floor', 'HardSigmoid',
  'HardSwish', 'Identity', 'LeakyRelu', 'Log', 'Mish', 'Neg', 'Reciprocal', 'Relu', 'Round', 'Selu', 'Sigmoid', 'Sign', 'Sin',
  'Sinh', 'Softplus', 'Softsign', 'Sqrt', 'Tan', 'Tanh', 'ThresholdedRelu', 'Celu', 'Gelu', 'Softmax', 'LogSoftmax', 'Hardmax',
  'LRN', 'BitwiseNot', 'Clip', 'CumSum', 'Trilu', 'Shrink', 'MeanVarianceNormalization', 'InstanceNormalization',
  'LpNormalization', 'ReverseSequence', 'Scatter', 'ScatterElements', 'ScatterND',
];
const BINARY = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Mod', 'PRelu', 'BitShift', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor'];
const VARIADIC = ['Max', 'Min', 'Mean', 'Sum'];
const COMPARE = ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor'];
const REDUCE = ['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'];

/** Opset from which each reduction takes axes as an input instead of an attribute. */
const AXES_INPUT_FROM: Record<string, number> = { ReduceSum: 13 };

export const RULES: Record<string, Rule> = {
  ...Object.fromEntries(UNARY.map((op) => [op, same])),
  ...Object.fromEntries(BINARY.map((op) => [op, binary])),
  ...Object.fromEntries(VARIADIC.map((op) => [op, variadic])),
  ...Object.fromEntries(COMPARE.map((op) => [op, compare])),
  ...Object.fromEntries(REDUCE.map((op) => [op, (c: Ctx) => (c.opset >= (AXES_INPUT_FROM[op] ?? 18) ? reduce(c, 1) : reduce(c, 99))])),
  Not: same,
  IsNaN: toBool,
  IsInf: toBool,
  Where: (c) => [c.ins[1] && T(c.ins[1].elemType, broadcast(c, c.ins.map((t) => t?.shape)))],
  Dropout: (c) => [c.ins[0], c.ins[0] && T(DataType.BOOL, c.ins[0].shape)],
  BatchNormalization: (c) => [c.ins[0], c.ins[1], c.ins[1], c.ins[1], c.ins[1]],
  LayerNormalization: (c) => {
    const x = c.ins[0];
    if (!x?.shape) return [x];
    const axis = normAxis(c.node.getInt('axis', -1), x.shape.length);
    const stat = x.shape.map((d, i) => (i < axis ? d : 1));
    return [x, T(DataType.FLOAT, stat), T(DataType.FLOAT, stat)];
  },
  GroupNormalization: same,
  Conv: (c) => convLike(c, false),
  ConvInteger: (c) => [convLike(c, false)[0] && T(DataType.INT32, convLike(c, false)[0]!.shape)],
  QLinearConv: (c) => {
    const x = c.ins[0], w = c.ins[3];
    const r = convLike({ ...c, ins: [x, w] }, false)[0];
    return [r && T(c.ins[7]?.elemType ?? x?.elemType ?? DataType.UINT8, r.shape)];
  },
  ConvTranspose: (c) => convLike(c, true),
  // DeformConv (opset 19): the output has the offsets' spatial size (symbolic dims included)
  DeformConv: (c) => {
    const [x, w, off] = c.ins;
    if (!x?.shape || !w?.shape || !off?.shape) return convLike(c, false);
    return [T(x.elemType, [x.shape[0], w.shape[0], ...off.shape.slice(2)])];
  },
  MaxPool: pool,
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
  MatMul: (c) => [c.ins[0] && T(c.ins[0].elemType, matmulShape(c, c.ins[0].shape, c.ins[1]?.shape))],
  MatMulInteger: (c) => [T(DataType.INT32, matmulShape(c, c.ins[0]?.shape, c.ins[1]?.shape))],
  QLinearMatMul: (c) => [T(c.ins[7]?.elemType ?? DataType.UINT8, matmulShape(c, c.ins[0]?.shape, c.ins[3]?.shape))],
  Gemm: (c) => {
    const a = c.ins[0]?.shape, b = c.ins[1]?.shape;
    if (!c.ins[0]) return [undefined];
    if (!a || !b) return [T(c.ins[0].elemType, [null, null])];
    const ta = c.node.getInt('transA', 0), tb = c.node.getInt('transB', 0);
    return [T(c.ins[0].elemType, [ta ? a[1] : a[0], tb ? b[0] : b[1]])];
  },
  Einsum: (c) => [T(elem(c))],
  Flatten: (c) => {
    const x = c.ins[0];
    if (!x?.shape) return [x && T(x.elemType)];
    const axis = normAxis(c.node.getInt('axis', 1), x.shape.length);
    const prod = (s: Shape): Dim => s.reduce<Dim>((a, b) => mulDims(a, b), 1);
    return [T(x.elemType, [prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis))])];
  },
  Reshape: reshape,
  Transpose: (c) => {
    const x = c.ins[0];
    if (!x?.shape) return [x];
    const perm = c.node.getInts('perm') ?? [...x.shape.keys()].reverse();
    return [T(x.elemType, perm.map((p) => x.shape![p]))];
  },
  Squeeze: (c) => {
    const x = c.ins[0];
    if (!x?.shape) return [x];
    const axes = axesOf(c, 1);
    if (axes === 'unknown') return [T(x.elemType)];
    const rank = x.shape.length;
    const set = new Set((axes ?? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, rank)));
    return [T(x.elemType, x.shape.filter((_, i) => !set.has(i)))];
  },
  Unsqueeze: (c) => {
    const x = c.ins[0];
    if (!x?.shape) return [x];
    const axes = axesOf(c, 1);
    if (!axes || axes === 'unknown') return [T(x.elemType)];
    const rank = x.shape.length + axes.length;
    const set = new Set(axes.map((a) => normAxis(a, rank)));
    const out: Dim[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : x.shape[k++]);
    return [T(x.elemType, out)];
  },
  Concat: (c) => {
    const present = c.ins.filter((t): t is TensorType => t !== undefined);
    if (present.length !== c.ins.length || present.some((t) => !t.shape)) return [T(elem(c))];
    const rank = present[0].shape!.length;
    const axis = normAxis(c.node.getInt('axis', 0), rank);
    const out: Dim[] = [...present[0].shape!];
    let sum: Dim = 0;
    for (const t of present) {
      const d = t.shape![axis];
      sum = typeof sum === 'number' && typeof d === 'number' ? sum + d : null;
    }
    out[axis] = sum;
    return [T(present[0].elemType, out)];
  },
  Split: (c) => {
    const x = c.ins[0];
    const count = c.node.outputs.length;
    if (!x?.shape) return Array(count).fill(x && T(x.elemType));
    const axis = normAxis(c.node.getInt('axis', 0), x.shape.length);
    const splitInput = c.opset >= 13 && c.node.input(1) !== null;
    const split = c.node.getInts('split') ?? (splitInput ? ints(c, 1) : undefined);
    const d = x.shape[axis];
    const sizesUnknown = splitInput && !split;
    return Array.from({ length: count }, (_, i) => {
      const out: Dim[] = [...x.shape!];
      if (split) out[axis] = split[i];
      else if (sizesUnknown) out[axis] = null;
      else if (typeof d === 'number') {
        const chunk = Math.ceil(d / count);
        out[axis] = i < count - 1 ? chunk : d - chunk * (count - 1);
      } else out[axis] = null;
      return T(x.elemType, out);
    });
  },
  Slice: slice,
  Gather: (c) => {
    const x = c.ins[0], idx = c.ins[1];
    if (!x?.shape || !idx?.shape) return [x && T(x.elemType)];
    const axis = normAxis(c.node.getInt('axis', 0), x.shape.length);
    return [T(x.elemType, [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)])];
  },
  GatherElements: (c) => [c.ins[0] && T(c.ins[0].elemType, c.ins[1]?.shape)],
  Shape: (c) => {
    const x = c.ins[0];
    if (!x?.shape) return [T(DataType.INT64, [null])];
    const rank = x.shape.length;
    const clampAxis = (a: number): number => Math.min(Math.max(normAxis(a, rank), 0), rank);
    const start = clampAxis(c.node.getInt('start', 0));
    const end = clampAxis(c.node.getInt('end', rank));
    return [T(DataType.INT64, [Math.max(0, end - start)])];
  },
  Size: () => [T(DataType.INT64, [])],
  Cast: (c) => [T(c.node.getInt('to', DataType.FLOAT), c.ins[0]?.shape)],
  CastLike: (c) => [c.ins[1] && T(c.ins[1].elemType, c.ins[0]?.shape)],
  Constant: (c) => {
    const t = constantNodeValue(c.node);
    return [t && T(t.dataType, t.dims)];
  },
  ConstantOfShape: (c) => {
    const value = c.node.getTensor('value');
    const shape = ints(c, 0) ?? c.dims(0);
    const len = c.ins[0]?.shape?.[0];
    return [T(value?.dataType ?? DataType.FLOAT, shape ?? (typeof len === 'number' ? Array(len).fill(null) : undefined))];
  },
  Range: (c) => {
    const [s, l, d] = [ints(c, 0), ints(c, 1), ints(c, 2)];
    const n = s && l && d ? Math.max(Math.ceil((l[0] - s[0]) / d[0]), 0) : null;
    return [T(elem(c), [n])];
  },
  Expand: (c) => {
    const x = c.ins[0];
    const shape = ints(c, 1) ?? c.dims(1);
    if (!x) return [undefined];
    if (!shape) return [T(x.elemType)];
    return [T(x.elemType, broadcast(c, [x.shape, shape]))];
  },
  Tile: (c) => {
    const x = c.ins[0];
    const reps = ints(c, 1);
    if (!x?.shape || !reps) return [x && T(x.elemType, x.shape?.map(() => null))];
    return [T(x.elemType, x.shape.map((d, i) => mulDims(d, reps[i])))];
  },
  Pad: (c) => {
    const x = c.ins[0];
    if (!x?.shape) return [x];
    const rank = x.shape.length;
    const pads = c.opset >= 11 ? ints(c, 1) : c.node.getInts('pads');
    if (!pads) return [T(x.elemType, Array(rank).fill(null))];
    const axes = c.opset >= 18 && c.node.input(3) ? ints(c, 3)?.map((a) => normAxis(a, rank)) : [...Array(rank).keys()];
    if (!axes) return [T(x.elemType, Array(rank).fill(null))];
    const out: Dim[] = [...x.shape];
    axes.forEach((a, i) => {
      const d = out[a];
      out[a] = typeof d === 'number' ? d + pads[i] + pads[i + axes.length] : pads[i] + pads[i + axes.length] === 0 ? d : null;
    });
    return [T(x.elemType, out)];
  },
  Resize: resize,
  Upsample: resize,
  GridSample: (c) => {
    const x = c.ins[0], grid = c.ins[1];
    if (!x?.shape || !grid?.shape) return [x && T(x.elemType)];
    return [T(x.elemType, [x.shape[0], x.shape[1], ...grid.shape.slice(1, -1)])];
  },
  DepthToSpace: (c) => {
    const x = c.ins[0];
    const b = c.node.getInt('blocksize', 1);
    if (!x?.shape) return [x];
    const [n, ch, h, w] = x.shape;
    return [T(x.elemType, [n, typeof ch === 'number' ? ch / (b * b) : null, mulDims(h, b), mulDims(w, b)])];
  },
  SpaceToDepth: (c) => {
    const x = c.ins[0];
    const b = c.node.getInt('blocksize', 1);
    if (!x?.shape) return [x];
    const [n, ch, h, w] = x.shape;
    const div = (d: Dim): Dim => (typeof d === 'number' ? d / b : null);
    return [T(x.elemType, [n, mulDims(ch, b * b), div(h), div(w)])];
  },
  ArgMax: argReduce,
  ArgMin: argReduce,
  TopK: (c) => {
    const x = c.ins[0];
    if (!x?.shape) return [x, T(DataType.INT64)];
    const axis = normAxis(c.node.getInt('axis', -1), x.shape.length);
    const k = c.opset >= 10 ? ints(c, 1)?.[0] ?? null : c.node.getInt('k', 0);
    const out = x.shape.map((d, i) => (i === axis ? k : d));
    return [T(x.elemType, out), T(DataType.INT64, out)];
  },
  NonZero: (c) => [T(DataType.INT64, [c.ins[0]?.shape?.length ?? null, null])],
  OneHot: (c) => [T(c.ins[2]?.elemType ?? DataType.FLOAT)],
  QuantizeLinear: (c) => [c.ins[0] && T(c.ins[2]?.elemType ?? DataType.UINT8, c.ins[0].shape)],
  DequantizeLinear: (c) => [c.ins[0] && T(c.ins[1]?.elemType ?? DataType.FLOAT, c.ins[0].shape)],
  DynamicQuantizeLinear: (c) => [c.ins[0] && T(DataType.UINT8, c.ins[0].shape), T(DataType.FLOAT, []), T(DataType.UINT8, [])],
  LSTM: rnn(4),
  GRU: rnn(3),
  RNN: rnn(1),
};
