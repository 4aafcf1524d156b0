// Op knowledge as data: one row per ONNX op that the constant folder can compute, saying which
// model opsets (default domain) it implements and which element types it accepts. Rows are
// built from a few shapes (unary, binary, variadic, reduce, or a custom `run`) and run by the
// one generic runner in run.ts. test/passes/eval.test.ts checks every row against the ONNX
// reference outputs in Debian's libonnx-testdata and fails when a row has no reference test.
//
// Semantics follow the ONNX operator spec (https://onnx.ai/onnx/operators/); where the spec
// leaves a choice (integer Div, float→int Cast) we follow onnxruntime's CPU kernels: C
// truncation toward zero.
import { DataType, dtypeInfo, dtypeName } from '../../ir/dtype.js';
import type { Node } from '../../ir/graph.js';
import { Tensor, numel } from '../../ir/tensor.js';
import {
  broadcastIndex, broadcastShapes, fromNumbers, intList, normAxis, numbers, refuse, strides, take, takeFrom, transposeIndex,
} from './array.js';

export interface EvalArgs {
  readonly node: Node;
  /** Input tensors; null for an omitted optional input. */
  readonly inputs: readonly (Tensor | null)[];
  /** Model opset of the default domain. */
  readonly opset: number;
}

/** Which element types input 0 may have. 'any': the op only moves data, so every storable type works. */
export type TypeClass = 'any' | 'number' | 'float' | 'bool' | 'int';

export interface Evaluator {
  /** Model opsets this row implements (both ends included); outside it the folder leaves the node alone. */
  readonly opsets: readonly [number, number];
  readonly types: TypeClass;
  /** Inputs the row reads (so the folder can evaluate Shape-like ops on non-constant inputs: none here). */
  run(a: EvalArgs): Tensor[];
}

/** The newest opset the table has been checked against (onnxruntime 1.30 goes further; we stay where we tested). */
export const MAX_OPSET = 21;

const ALL: readonly [number, number] = [1, MAX_OPSET];
const input = (a: EvalArgs, i: number): Tensor => a.inputs[i] ?? refuse(`input ${i} is missing`);

// ---- row shapes -----------------------------------------------------------------------------

function unary(f: (x: number) => number, types: TypeClass = 'float', opsets: readonly [number, number] = [6, MAX_OPSET]): Evaluator {
  return {
    opsets,
    types,
    run: (a) => {
      const x = input(a, 0);
      return [fromNumbers(x.dataType, x.dims, numbers(x).map(f))];
    },
  };
}

/** Elementwise with numpy broadcasting; `out: 'bool'` for comparisons. */
function binary(f: (x: number, y: number, a: EvalArgs, dt: DataType) => number, opts: { types?: TypeClass; out?: 'bool' } = {}): Evaluator {
  return {
    opsets: [7, MAX_OPSET],
    types: opts.types ?? 'number',
    run: (a) => {
      const x = input(a, 0), y = input(a, 1);
      const dims = broadcastShapes([x.dims, y.dims]);
      const ix = broadcastIndex(dims, x.dims), iy = broadcastIndex(dims, y.dims);
      const xv = numbers(x), yv = numbers(y);
      const out = new Array<number>(ix.length);
      for (let k = 0; k < ix.length; k++) out[k] = f(xv[ix[k]], yv[iy[k]], a, x.dataType);
      return [fromNumbers(opts.out === 'bool' ? DataType.BOOL : x.dataType, dims, out)];
    },
  };
}

/** Max/Min/Sum/Mean over any number of broadcast inputs. */
function variadic(f: (acc: number, x: number) => number, finish: (acc: number, n: number) => number = (v) => v): Evaluator {
  return {
    opsets: [8, MAX_OPSET],
    types: 'number',
    run: (a) => {
      const ins = a.inputs.filter((t): t is Tensor => t !== null);
      if (!ins.length) refuse('no inputs');
      const dims = broadcastShapes(ins.map((t) => t.dims));
      const n = numel(dims);
      const acc = new Array<number>(n);
      ins.forEach((t, j) => {
        const ix = broadcastIndex(dims, t.dims);
        const v = numbers(t);
        for (let k = 0; k < n; k++) acc[k] = j === 0 ? v[ix[k]] : f(acc[k], v[ix[k]]);
      });
      return [fromNumbers(ins[0].dataType, dims, acc.map((v) => finish(v, ins.length)))];
    },
  };
}

/**
 * Reductions. Axes are an attribute before opset 18 (ReduceSum: 13) and an input after;
 * empty axes reduce everything unless noop_with_empty_axes.
 */
function reduce(init: number, step: (acc: number, x: number) => number, finish: (acc: number, count: number) => number = (v) => v, axesInputSince = 18): Evaluator {
  return {
    opsets: ALL,
    types: 'number',
    run: (a) => {
      const x = input(a, 0);
      const rank = x.dims.length;
      let axes: number[] | undefined;
      if (a.opset >= axesInputSince) axes = a.inputs[1] ? intList(a.inputs[1]) : undefined;
      else axes = a.node.getInts('axes');
      if (!axes || !axes.length) {
        if (a.opset >= axesInputSince && a.node.getInt('noop_with_empty_axes', 0)) return [x];
        axes = x.dims.map((_, i) => i);
      }
      const norm = new Set(axes.map((ax) => normAxis(ax, rank)));
      const keepDims = x.dims.map((d, i) => (norm.has(i) ? 1 : d));
      const n = numel(keepDims);
      const count = x.size / Math.max(n, 1);
      const acc = new Array<number>(n).fill(init);
      const to = broadcastIndex(x.dims, keepDims);
      const v = numbers(x);
      for (let k = 0; k < v.length; k++) acc[to[k]] = step(acc[to[k]], v[k]);
      const outDims = a.node.getInt('keepdims', 1) ? keepDims : x.dims.filter((_, i) => !norm.has(i));
      return [fromNumbers(x.dataType, outDims, acc.map((s) => finish(s, count)))];
    },
  };
}

// ---- element functions ------------------------------------------------------------------------

const isIntType = (dt: DataType): boolean => ['int', 'uint'].includes(dtypeInfo(dt).kind);

function erf(x: number): number {
  // Abramowitz & Stegun 7.1.26 has 1.5e-7 absolute error, below float32 resolution near 1;
  // refined with one Newton step on erf' = 2/√π·e^(−x²) would be overkill for folding.
  const s = Math.sign(x), ax = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * ax);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-ax * ax);
  return s * y;
}

/** Round half to even (ONNX Round). */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function intDiv(x: number, y: number): number {
  if (y === 0) refuse('integer division by zero');
  return Math.trunc(x / y);
}

/** Mod: fmod=0 (integers) takes the divisor's sign like Python; fmod=1 the dividend's like C. */
function mod(x: number, y: number, a: EvalArgs, dt: DataType): number {
  const fmod = a.node.getInt('fmod', 0);
  if (!fmod && !isIntType(dt)) refuse('Mod with fmod=0 is undefined for floats');
  if (y === 0) return isIntType(dt) ? refuse('integer modulo by zero') : NaN;
  const r = x % y;
  if (fmod) return r;
  return r !== 0 && Math.sign(r) !== Math.sign(y) ? r + y : r;
}

// ---- the table ----------------------------------------------------------------------------------

export const EVALUATORS: Readonly<Record<string, Evaluator>> = {
  // elementwise, one input
  Abs: unary(Math.abs, 'number'),
  Neg: unary((x) => -x, 'number'),
  Sign: unary((x) => (x > 0 ? 1 : x < 0 ? -1 : x), 'number', [9, MAX_OPSET]),
  Relu: unary((x) => (x > 0 ? x : 0), 'number'),
  Sqrt: unary(Math.sqrt),
  Reciprocal: unary((x) => 1 / x),
  Exp: unary(Math.exp),
  Log: unary(Math.log),
  Floor: unary(Math.floor),
  Ceil: unary(Math.ceil),
  Round: unary(roundEven, 'float', [11, MAX_OPSET]),
  Sigmoid: unary((x) => 1 / (1 + Math.exp(-x))),
  Tanh: unary(Math.tanh),
  Erf: unary(erf, 'float', [9, MAX_OPSET]),
  Sin: unary(Math.sin, 'float', [7, MAX_OPSET]),
  Cos: unary(Math.cos, 'float', [7, MAX_OPSET]),
  Not: unary((x) => (x ? 0 : 1), 'bool', [1, MAX_OPSET]),

  // elementwise, two inputs (numpy broadcasting since opset 7)
  Add: binary((x, y) => x + y),
  Sub: binary((x, y) => x - y),
  Mul: binary((x, y) => x * y),
  Div: binary((x, y, _a, dt) => (isIntType(dt) ? intDiv(x, y) : x / y)),
  Pow: binary((x, y) => x ** y),
  Mod: { ...binary(mod), opsets: [10, MAX_OPSET] },
  Equal: binary((x, y) => (x === y ? 1 : 0), { types: 'any', out: 'bool' }),
  Less: binary((x, y) => (x < y ? 1 : 0), { out: 'bool' }),
  LessOrEqual: { ...binary((x, y) => (x <= y ? 1 : 0), { out: 'bool' }), opsets: [12, MAX_OPSET] },
  Greater: binary((x, y) => (x > y ? 1 : 0), { out: 'bool' }),
  GreaterOrEqual: { ...binary((x, y) => (x >= y ? 1 : 0), { out: 'bool' }), opsets: [12, MAX_OPSET] },
  And: binary((x, y) => (x && y ? 1 : 0), { types: 'bool', out: 'bool' }),
  Or: binary((x, y) => (x || y ? 1 : 0), { types: 'bool', out: 'bool' }),
  Xor: binary((x, y) => (!x !== !y ? 1 : 0), { types: 'bool', out: 'bool' }),

  // elementwise, any number of inputs
  Max: variadic(Math.max),
  Min: variadic(Math.min),
  Sum: variadic((a, x) => a + x),
  Mean: variadic((a, x) => a + x, (s, n) => s / n),

  Clip: {
    opsets: [6, MAX_OPSET],
    types: 'number',
    run: (a) => {
      const x = input(a, 0);
      let lo = -Infinity, hi = Infinity;
      if (a.opset >= 11) {
        if (a.inputs[1]) lo = numbers(a.inputs[1])[0];
        if (a.inputs[2]) hi = numbers(a.inputs[2])[0];
      } else {
        lo = a.node.getFloat('min', -Infinity);
        hi = a.node.getFloat('max', Infinity);
      }
      return [fromNumbers(x.dataType, x.dims, numbers(x).map((v) => Math.min(Math.max(v, lo), hi)))];
    },
  },

  Cast: { opsets: [6, MAX_OPSET], types: 'any', run: (a) => [cast(input(a, 0), a.node.getInt('to') ?? refuse('Cast has no "to"'))] },
  CastLike: { opsets: [15, MAX_OPSET], types: 'any', run: (a) => [cast(input(a, 0), input(a, 1).dataType)] },

  // reductions
  ReduceSum: reduce(0, (s, x) => s + x, undefined, 13),
  ReduceMean: reduce(0, (s, x) => s + x, (s, n) => s / n),
  ReduceProd: reduce(1, (s, x) => s * x),
  ReduceMax: reduce(-Infinity, Math.max),
  ReduceMin: reduce(Infinity, Math.min),
  ReduceL1: reduce(0, (s, x) => s + Math.abs(x)),
  ReduceL2: reduce(0, (s, x) => s + x * x, (s) => Math.sqrt(s)),
  ReduceSumSquare: reduce(0, (s, x) => s + x * x),
  ReduceLogSum: reduce(0, (s, x) => s + x, (s) => Math.log(s)),
  ReduceLogSumExp: reduce(0, (s, x) => s + Math.exp(x), (s) => Math.log(s)),

  // data movement (exact copies of storage)
  Identity: { opsets: ALL, types: 'any', run: (a) => [input(a, 0)] },
  Reshape: {
    opsets: [5, MAX_OPSET],
    types: 'any',
    run: (a) => {
      const x = input(a, 0);
      return [x.reshaped(reshapeDims(x.dims, intList(input(a, 1)), a.node.getInt('allowzero', 0) === 1))];
    },
  },
  Flatten: {
    opsets: ALL,
    types: 'any',
    run: (a) => {
      const x = input(a, 0);
      const r = x.dims.length;
      let axis = a.node.getInt('axis', 1);
      if (axis < 0) axis += r;
      if (axis < 0 || axis > r) refuse(`Flatten axis ${a.node.getInt('axis', 1)} out of range for rank ${r}`);
      return [x.reshaped([numel(x.dims.slice(0, axis)), numel(x.dims.slice(axis))])];
    },
  },
  Squeeze: {
    opsets: ALL,
    types: 'any',
    run: (a) => {
      const x = input(a, 0);
      const given = a.opset >= 13 ? (a.inputs[1] ? intList(a.inputs[1]) : undefined) : a.node.getInts('axes');
      const axes = new Set((given ?? x.dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((ax) => normAxis(ax, x.dims.length)));
      for (const ax of axes) if (x.dims[ax] !== 1) refuse(`cannot squeeze axis ${ax} of size ${x.dims[ax]}`);
      return [x.reshaped(x.dims.filter((_, i) => !axes.has(i)))];
    },
  },
  Unsqueeze: {
    opsets: ALL,
    types: 'any',
    run: (a) => {
      const x = input(a, 0);
      const given = a.opset >= 13 ? intList(input(a, 1)) : (a.node.getInts('axes') ?? refuse('Unsqueeze has no axes'));
      const rank = x.dims.length + given.length;
      const axes = new Set(given.map((ax) => normAxis(ax, rank)));
      if (axes.size !== given.length) refuse('Unsqueeze axes repeat');
      const dims: number[] = [];
      for (let i = 0, j = 0; i < rank; i++) dims.push(axes.has(i) ? 1 : x.dims[j++]);
      return [x.reshaped(dims)];
    },
  },
  Transpose: {
    opsets: ALL,
    types: 'any',
    run: (a) => {
      const x = input(a, 0);
      const perm = a.node.getInts('perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i);
      if (perm.length !== x.dims.length || new Set(perm).size !== perm.length || perm.some((p) => p < 0 || p >= perm.length)) refuse(`perm [${perm}] is not a permutation of rank ${x.dims.length}`);
      const { dims, idx } = transposeIndex(x.dims, perm);
      return [take(x, dims, idx)];
    },
  },
  Concat: {
    opsets: [4, MAX_OPSET],
    types: 'any',
    run: (a) => {
      const ins = a.inputs.map((t, i) => t ?? refuse(`input ${i} is missing`));
      const rank = ins[0].dims.length;
      const axis = normAxis(a.node.getInt('axis') ?? refuse('Concat has no axis'), rank);
      for (const t of ins) if (t.dims.length !== rank || t.dims.some((d, i) => i !== axis && d !== ins[0].dims[i])) refuse(`cannot concatenate [${ins.map((x) => x.dims.join(',')).join('] and [')}] on axis ${axis}`);
      const outer = numel(ins[0].dims.slice(0, axis));
      const inner = numel(ins[0].dims.slice(axis + 1));
      const dims = [...ins[0].dims];
      dims[axis] = ins.reduce((s, t) => s + t.dims[axis], 0);
      const which: number[] = [], idx: number[] = [];
      for (let o = 0; o < outer; o++) {
        ins.forEach((t, j) => {
          const block = t.dims[axis] * inner;
          for (let k = 0; k < block; k++) {
            which.push(j);
            idx.push(o * block + k);
          }
        });
      }
      return [takeFrom(ins, dims, which, idx)];
    },
  },
  Gather: {
    opsets: ALL,
    types: 'any',
    run: (a) => {
      const x = input(a, 0), ind = input(a, 1);
      const axis = normAxis(a.node.getInt('axis', 0), x.dims.length);
      const d = x.dims[axis];
      const outer = numel(x.dims.slice(0, axis)), inner = numel(x.dims.slice(axis + 1));
      const is = intList(ind).map((i) => {
        if (i < -d || i >= d) refuse(`index ${i} is out of range for axis ${axis} of size ${d}`);
        return i < 0 ? i + d : i;
      });
      const idx: number[] = [];
      for (let o = 0; o < outer; o++) for (const i of is) for (let k = 0; k < inner; k++) idx.push((o * d + i) * inner + k);
      return [take(x, [...x.dims.slice(0, axis), ...ind.dims, ...x.dims.slice(axis + 1)], idx)];
    },
  },
  Slice: {
    opsets: ALL,
    types: 'any',
    run: (a) => {
      const x = input(a, 0);
      const r = x.dims.length;
      let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
      if (a.opset >= 10) {
        starts = intList(input(a, 1));
        ends = intList(input(a, 2));
        axes = a.inputs[3] ? intList(a.inputs[3]) : undefined;
        steps = a.inputs[4] ? intList(a.inputs[4]) : undefined;
      } else {
        starts = a.node.getInts('starts') ?? refuse('Slice has no starts');
        ends = a.node.getInts('ends') ?? refuse('Slice has no ends');
        axes = a.node.getInts('axes');
      }
      const ranges = sliceRanges(x.dims, starts, ends, axes, steps);
      const dims = ranges.map((rg) => rg.count);
      const st = strides(x.dims);
      const idx: number[] = [];
      const rec = (ax: number, off: number): void => {
        if (ax === r) {
          idx.push(off);
          return;
        }
        for (let k = 0; k < ranges[ax].count; k++) rec(ax + 1, off + (ranges[ax].start + k * ranges[ax].step) * st[ax]);
      };
      if (numel(dims) > 0) rec(0, 0);
      return [take(x, dims, idx)];
    },
  },
  Expand: {
    opsets: [8, MAX_OPSET],
    types: 'any',
    run: (a) => {
      const x = input(a, 0);
      const dims = broadcastShapes([x.dims, intList(input(a, 1))]);
      return [take(x, dims, broadcastIndex(dims, x.dims))];
    },
  },
  Tile: {
    opsets: [6, MAX_OPSET],
    types: 'any',
    run: (a) => {
      const x = input(a, 0);
      const reps = intList(input(a, 1));
      if (reps.length !== x.dims.length) refuse('Tile repeats do not match the rank');
      const dims = x.dims.map((d, i) => d * reps[i]);
      const inSt = strides(x.dims), outSt = strides(dims);
      const idx = new Int32Array(numel(dims));
      for (let k = 0; k < idx.length; k++) {
        let off = 0;
        for (let ax = 0; ax < dims.length; ax++) off += (Math.floor(k / outSt[ax]) % dims[ax] % x.dims[ax]) * inSt[ax];
        idx[k] = off;
      }
      return [take(x, dims, idx)];
    },
  },
  Where: {
    opsets: [9, MAX_OPSET],
    types: 'bool',
    run: (a) => {
      const c = input(a, 0), x = input(a, 1), y = input(a, 2);
      const dims = broadcastShapes([c.dims, x.dims, y.dims]);
      const ic = broadcastIndex(dims, c.dims), ix = broadcastIndex(dims, x.dims), iy = broadcastIndex(dims, y.dims);
      const cv = c.view() as Uint8Array;
      const which = new Uint8Array(ic.length), idx = new Int32Array(ic.length);
      for (let k = 0; k < ic.length; k++) {
        which[k] = cv[ic[k]] ? 0 : 1;
        idx[k] = cv[ic[k]] ? ix[k] : iy[k];
      }
      return [takeFrom([x, y], dims, which, idx)];
    },
  },

  // shapes and generators
  Shape: {
    opsets: ALL,
    types: 'any',
    run: (a) => [shapeTensor(input(a, 0).dims, a.opset >= 15 ? a.node.getInt('start', 0) : 0, a.opset >= 15 ? a.node.getInt('end') : undefined)],
  },
  Size: { opsets: ALL, types: 'any', run: (a) => [Tensor.scalar(DataType.INT64, input(a, 0).size)] },
  ConstantOfShape: {
    opsets: [9, MAX_OPSET],
    types: 'int',
    run: (a) => {
      const dims = intList(input(a, 0));
      const value = a.node.getTensor('value') ?? Tensor.from(DataType.FLOAT, [1], [0]);
      if (value.size !== 1) refuse('ConstantOfShape value must hold one element');
      return [take(value, dims, new Int32Array(numel(dims)))];
    },
  },
  Range: {
    opsets: [11, MAX_OPSET],
    types: 'number',
    run: (a) => {
      const [start, limit, delta] = [0, 1, 2].map((i) => numbers(input(a, i))[0]);
      if (delta === 0) refuse('Range delta is 0');
      const n = Math.max(Math.ceil((limit - start) / delta), 0);
      return [fromNumbers(input(a, 0).dataType, [n], Array.from({ length: n }, (_, i) => start + i * delta))];
    },
  },
  MatMul: {
    opsets: [9, MAX_OPSET],
    types: 'number',
    run: (a) => [matmul(input(a, 0), input(a, 1))],
  },
  // Running sum along one axis; exclusive: each element gets the sum before it; reverse: from the end.
  CumSum: {
    opsets: [11, MAX_OPSET],
    types: 'number',
    run: (a) => {
      const x = input(a, 0);
      const axis = normAxis(numbers(input(a, 1))[0], x.dims.length);
      const exclusive = a.node.getInt('exclusive', 0) === 1;
      const reverse = a.node.getInt('reverse', 0) === 1;
      const v = numbers(x);
      const out = new Array<number>(v.length);
      const n = x.dims[axis];
      const inner = numel(x.dims.slice(axis + 1));
      const outer = n ? v.length / (n * inner) : 0;
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let sum = 0;
          for (let step = 0; step < n; step++) {
            const k = reverse ? n - 1 - step : step;
            const idx = (o * n + k) * inner + i;
            if (exclusive) out[idx] = sum;
            sum += v[idx];
            if (!exclusive) out[idx] = sum;
          }
        }
      }
      return [fromNumbers(x.dataType, x.dims, out)];
    },
  },
};

// ---- op bodies too long for a row ---------------------------------------------------------------

/** Reshape's target: 0 copies the input dim (unless allowzero), one -1 is inferred. */
export function reshapeDims(inDims: readonly number[], shape: readonly number[], allowZero: boolean): number[] {
  const out = shape.map((s, i) => {
    if (s === 0 && !allowZero) {
      if (i >= inDims.length) refuse(`Reshape dim ${i} is 0 but the input has rank ${inDims.length}`);
      return inDims[i];
    }
    return s;
  });
  const minus = out.filter((d) => d === -1).length;
  if (minus > 1) refuse('Reshape shape has more than one -1');
  const known = numel(out.filter((d) => d !== -1));
  const total = numel(inDims);
  if (minus) {
    if (known === 0 || total % known) refuse(`cannot reshape [${inDims.join(',')}] to [${shape.join(',')}]`);
    out[out.indexOf(-1)] = total / known;
  }
  if (numel(out) !== total || out.some((d) => d < 0)) refuse(`cannot reshape [${inDims.join(',')}] to [${shape.join(',')}]`);
  return out;
}

/** Per-axis start/step/count of a Slice (ONNX clamping rules). */
export function sliceRanges(dims: readonly number[], starts: number[], ends: number[], axes?: number[], steps?: number[]): { start: number; step: number; count: number }[] {
  const r = dims.length;
  const out = dims.map((d) => ({ start: 0, step: 1, count: d }));
  const ax = axes ?? starts.map((_, i) => i);
  if (ax.length !== starts.length || ends.length !== starts.length || (steps && steps.length !== starts.length)) refuse('Slice starts/ends/axes/steps differ in length');
  ax.forEach((axis0, i) => {
    const axis = normAxis(axis0, r);
    const d = dims[axis];
    const step = steps ? steps[i] : 1;
    if (step === 0) refuse('Slice step is 0');
    let s = starts[i], e = ends[i];
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
    }
    out[axis] = { start: s, step, count: Math.max(0, Math.ceil((e - s) / step)) };
  });
  return out;
}

export function shapeTensor(dims: readonly number[], start = 0, end?: number): Tensor {
  const r = dims.length;
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const part = dims.slice(clamp(start), end === undefined ? r : clamp(end));
  return Tensor.from(DataType.INT64, [part.length], part);
}

function cast(x: Tensor, to: number): Tensor {
  const info = dtypeInfo(to);
  if (to === x.dataType) return x;
  if (info.kind === 'string' || dtypeInfo(x.dataType).kind === 'string') refuse('casts to or from string are not evaluated');
  // onnx ≤ 1.12 truncates float→bfloat16 (its reference data), onnxruntime rounds to nearest
  // even: the folded value would depend on the runtime, so it stays a Cast.
  if (to === DataType.BFLOAT16) refuse('float→bfloat16 rounding differs between ONNX reference (truncation) and onnxruntime (nearest even)');
  const v = numbers(x);
  if (info.kind === 'bool') return fromNumbers(to, x.dims, v.map((e) => (e !== 0 ? 1 : 0)));
  if (info.kind === 'int' || info.kind === 'uint') {
    if (v.some((e) => !Number.isFinite(e))) refuse(`casting a non-finite value to ${dtypeName(to)} is implementation-defined`);
    // Out-of-range float→int conversions are undefined behaviour in C; only in-range values fold.
    if (dtypeInfo(x.dataType).kind === 'float') {
      const lim = 2 ** (info.bits - (info.kind === 'int' ? 1 : 0));
      if (v.some((e) => Math.trunc(e) >= lim || Math.trunc(e) < (info.kind === 'int' ? -lim : 0))) refuse(`a value is out of range for ${dtypeName(to)}`);
    }
  }
  return fromNumbers(to, x.dims, v);
}

/** Largest m·k·n the folder multiplies ("small MatMul"): bigger products stay in the graph. */
export const MATMUL_LIMIT = 1 << 22;

function matmul(x: Tensor, y: Tensor): Tensor {
  const xd = x.dims.length === 1 ? [1, x.dims[0]] : [...x.dims];
  const yd = y.dims.length === 1 ? [y.dims[0], 1] : [...y.dims];
  const m = xd[xd.length - 2], k = xd[xd.length - 1], k2 = yd[yd.length - 2], n = yd[yd.length - 1];
  if (k !== k2) refuse(`MatMul inner dims ${k} and ${k2} differ`);
  const batch = broadcastShapes([xd.slice(0, -2), yd.slice(0, -2)]);
  const nb = numel(batch);
  if (nb * m * n * k > MATMUL_LIMIT) refuse(`MatMul of ${nb * m * k * n} multiply-adds is above the small-MatMul limit ${MATMUL_LIMIT}`);
  const bx = broadcastIndex(batch, xd.slice(0, -2)), by = broadcastIndex(batch, yd.slice(0, -2));
  const xv = numbers(x), yv = numbers(y);
  const out = new Array<number>(nb * m * n);
  for (let b = 0; b < nb; b++) {
    const xo = bx[b] * m * k, yo = by[b] * k * n, oo = b * m * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += xv[xo + i * k + p] * yv[yo + p * n + j];
        out[oo + i * n + j] = s;
      }
  }
  const dims = [...batch, ...(x.dims.length === 1 ? [] : [m]), ...(y.dims.length === 1 ? [] : [n])];
  return fromNumbers(x.dataType, dims, out);
}
