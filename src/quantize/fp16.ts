// FP16: weights and activations to float16, with Casts wherever a float16 value meets a node
// that stays float32 (a blocked op, a float32-only input slot, an out-of-range tensor) and, with
// keepIoTypes, at the graph inputs and outputs.
//
// Precision is decided per node; a value's precision is its producer's. Every input slot then
// wants its node's precision (or float32 for the slots the ONNX spec fixes to float, like
// Resize's scales) and gets one Cast when the two differ, shared by every reader of that value.
//
// Nothing is clamped: a float32 constant holding values beyond ±65504 keeps float32 and its
// consumers stay float32; an activation that exceeds the range on the calibration samples keeps
// its producer in float32; both are reported.
import { KilnError } from '../errors.js';
import { DataType } from '../ir/dtype.js';
import { HALF_MAX } from '../ir/half.js';
import { tensorType, type Graph, type Model, type Node, type Value } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { nodeKey } from './qdq.js';
import { swapNodeIoNames, nodeNamer, type ValueInfo } from './graph-util.js';

/**
 * Ops kept in float32 by default:
 * - Range, NonMaxSuppression, RandomNormal/Uniform(Like): float16 is outside their type
 *   constraints or their running sums drift.
 * Measured and left out: GridSample. On onnxruntime's CPU EP most ops have no float16 kernel, so
 * it inserts Casts and computes in float32 anyway; blocking GridSample in a 640×480 warping net
 * changed the output error not at all (PSNR 42.66 dB vs FP32 either way), because the grid was
 * already rounded to float16 by the ops producing it. Block the whole grid chain with
 * --exclude node:NAME when a GPU build's float16 GridSample is the target.
 */
export const DEFAULT_FP16_BLOCK: readonly string[] = ['Range', 'NonMaxSuppression', 'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike'];

/** Input slots that the spec types as float32 whatever the data type (roi follows T2, kept float32 too). */
const FLOAT32_SLOTS: Readonly<Record<string, readonly number[]>> = {
  Resize: [1, 2],
  Upsample: [1],
};

export interface Fp16Options {
  keepIoTypes?: boolean;
  blockOps?: ReadonlySet<string>;
  blockNodes?: ReadonlySet<string>;
  /** Activation ranges (max |x|) seen on calibration data, by tensor name. */
  activationAbsMax?: ReadonlyMap<string, number>;
}

export interface Fp16Result {
  model: Model;
  /** Nodes left in float32, with the reason. */
  kept: { node: string; op: string; reason: string }[];
  /** Tensors whose values do not fit float16 (kept float32, never clamped). */
  outOfRange: { tensor: string; absMax: number; where: 'constant' | 'activation' }[];
  /** Constants whose non-zero values fall below float16's smallest subnormal (they become 0). */
  underflow: { tensor: string; count: number }[];
  casts: number;
}

const SUBNORMAL_MIN = 2 ** -24;

export function convertFp16(model: Model, info: ReadonlyMap<string, ValueInfo>, opts: Fp16Options = {}): Fp16Result {
  const g = model.graph;
  const block = opts.blockOps ?? new Set(DEFAULT_FP16_BLOCK);
  const kept: Fp16Result['kept'] = [];
  const outOfRange: Fp16Result['outOfRange'] = [];
  const underflow: Fp16Result['underflow'] = [];
  const isFloatValue = (v: Value | null): v is Value => !!v && (v.initializer ? v.initializer.dataType === DataType.FLOAT : info.get(v.name)?.dtype === 'float32');

  // 1. Which nodes stay float32.
  const fp32 = new Map<Node, string>();
  const constTooBig = new Set<Value>();
  for (const v of g.initializers) {
    if (v.initializer?.dataType !== DataType.FLOAT) continue;
    const d = v.initializer.toFloat32();
    let m = 0, tiny = 0;
    for (let i = 0; i < d.length; i++) {
      const a = Math.abs(d[i]);
      if (a > m) m = a;
      if (a > 0 && a < SUBNORMAL_MIN) tiny++;
    }
    if (m > HALF_MAX) {
      constTooBig.add(v);
      outOfRange.push({ tensor: v.name, absMax: m, where: 'constant' });
    }
    if (tiny) underflow.push({ tensor: v.name, count: tiny });
  }
  for (const n of g.nodes) {
    if (n.subgraphs().length) fp32.set(n, 'control flow: the node and its subgraphs stay float32 (outer float16 values they read are cast back)');
    else if (block.has(n.opType)) fp32.set(n, `${n.opType} is on the FP16 block list`);
    else if (opts.blockNodes?.has(nodeKey(n))) fp32.set(n, 'excluded (kept float32)');
    else if (n.inputs.some((v) => v && constTooBig.has(v))) fp32.set(n, `reads a constant beyond the float16 range (±${HALF_MAX})`);
    else if (n.opType === 'Constant') {
      const t = n.getTensor('value');
      if (t?.dataType === DataType.FLOAT && t.toFloat32().some((x) => Math.abs(x) > HALF_MAX)) {
        fp32.set(n, `holds values beyond the float16 range (±${HALF_MAX})`);
        outOfRange.push({ tensor: n.output(0).name, absMax: Math.max(...t.toFloat32().map(Math.abs)), where: 'constant' });
      }
    }
    for (const o of n.outputs) {
      const m = o ? opts.activationAbsMax?.get(o.name) : undefined;
      if (o && m !== undefined && m > HALF_MAX) {
        fp32.set(n, `its output reaches |x| = ${m.toExponential(3)} on the calibration data, beyond float16's ±${HALF_MAX}`);
        outOfRange.push({ tensor: o.name, absMax: m, where: 'activation' });
      }
    }
  }
  const handlesFloat = (n: Node): boolean => n.inputs.some(isFloatValue) || n.outputs.some(isFloatValue) || (n.opType === 'Cast' && n.getInt('to') === DataType.FLOAT);
  for (const [n, reason] of fp32) if (handlesFloat(n)) kept.push({ node: nodeKey(n), op: n.opType, reason });

  // 2. Precision of every float value: its producer's (graph inputs: float16 unless keepIoTypes).
  const half = new Set<Value>();
  for (const v of g.inputs) if (!v.initializer && isFloatValue(v) && !opts.keepIoTypes) half.add(v);
  for (const n of g.nodes) {
    if (fp32.has(n)) continue;
    for (const o of n.outputs) if (o && (isFloatValue(o) || (n.opType === 'Cast' && n.getInt('to') === DataType.FLOAT))) half.add(o);
  }

  // 3. Rewrite: float16 constants per use, Casts where a slot's precision differs.
  let casts = 0;
  const nodeName = nodeNamer(g);
  const castCache = new Map<string, Value>();
  const halfConst = new Map<Value, Value>();
  const castTo = (v: Value, to: DataType): Value => {
    const key = `${v.name}→${to}`;
    let c = castCache.get(key);
    if (!c) {
      const at = v.producer ? { after: v.producer } : { before: g.nodes[0] };
      c = g.addNode({ op: 'Cast', inputs: [v], attrs: { to: { type: 'int', value: to } }, name: nodeName(`${v.name}_to_${to === DataType.FLOAT16 ? 'fp16' : 'fp32'}`) }, at).output(0);
      c.type = tensorType(to, v.shape ? [...v.shape] : undefined);
      castCache.set(key, c);
      casts++;
    }
    return c;
  };
  for (const n of [...g.nodes]) {
    const nodeHalf = !fp32.has(n);
    if (nodeHalf && n.opType === 'Cast' && n.getInt('to') === DataType.FLOAT) n.attributes.set('to', { type: 'int', value: DataType.FLOAT16 });
    if (nodeHalf && (n.opType === 'Constant' || n.opType === 'ConstantOfShape')) {
      const t = n.getTensor('value');
      if (t?.dataType === DataType.FLOAT) n.attributes.set('value', { type: 'tensor', value: Tensor.from(DataType.FLOAT16, t.dims, t.toFloat32()) });
    }
    n.inputs.forEach((v, i) => {
      if (!isFloatValue(v) && !(v && half.has(v))) return;
      const wantHalf = nodeHalf && !(FLOAT32_SLOTS[n.opType] ?? []).includes(i);
      if (v!.initializer) {
        if (!wantHalf) return;
        let h = halfConst.get(v!);
        if (!h) {
          h = g.addConstant(`${v!.name}_fp16`, Tensor.from(DataType.FLOAT16, v!.initializer.dims, v!.initializer.toFloat32()));
          halfConst.set(v!, h);
        }
        g.setInput(n, i, h);
        return;
      }
      const isHalf = half.has(v!);
      if (isHalf !== wantHalf) g.setInput(n, i, castTo(v!, wantHalf ? DataType.FLOAT16 : DataType.FLOAT));
    });
  }
  // Subgraphs stay float32: every float16 outer value they read (at any depth) is read through a Cast.
  const castInside = (sg: Graph): void => {
    for (const m of sg.nodes) {
      m.inputs.forEach((v, i) => v && v.graph === g && half.has(v) && sg.setInput(m, i, castTo(v, DataType.FLOAT)));
      m.subgraphs().forEach(castInside);
    }
    sg.outputs.forEach((v, i) => v.graph === g && half.has(v) && sg.setOutput(i, castTo(v, DataType.FLOAT)));
  };
  for (const n of g.nodes) n.subgraphs().forEach(castInside);
  for (const v of [...g.initializers]) if (!v.uses.length && !v.isGraphInput && !v.isGraphOutput) g.removeInitializer(v);
  // Declared types follow (value_info, graph inputs, outputs); keepIoTypes adds output Casts.
  const swaps: [string, string][] = [];
  for (const v of half) {
    const t = v.tensorType;
    const shape = t?.shape ? [...t.shape] : info.get(v.name)?.dims;
    if (v.isGraphOutput && opts.keepIoTypes) {
      // Readers of v stay on v (the float16 value): after the swap they read the producer's output.
      const c = castCache.get(`${v.name}→${DataType.FLOAT}`) ?? g.addNode({ op: 'Cast', inputs: [v], attrs: { to: { type: 'int', value: DataType.FLOAT } }, name: nodeName(`${v.name}_to_fp32`) }, { after: v.producer! }).output(0);
      if (!castCache.has(`${v.name}→${DataType.FLOAT}`)) casts++;
      // Blocked readers that took the shared float32 Cast must keep reading the Cast, which after the swap is v itself.
      swaps.push([v.name, c.name]);
      continue;
    }
    if (v.type || v.isGraphInput || v.isGraphOutput) v.type = tensorType(DataType.FLOAT16, shape);
    if (v.inferred) v.inferred = tensorType(DataType.FLOAT16, v.inferred.shape ? [...v.inferred.shape] : undefined);
  }
  const cycle = g.topoSort();
  if (cycle) throw new KilnError(`internal: FP16 conversion made a cycle through ${cycle[0]}`);
  return { model: swapNodeIoNames(model, swaps), kept, outOfRange, underflow, casts };
}
