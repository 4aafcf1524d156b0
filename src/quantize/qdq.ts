// Static INT8 in the QDQ form: QuantizeLinear → DequantizeLinear pairs around the tensors that
// integer kernels should read and write, int8 weights and int32 biases behind DequantizeLinear.
// onnxruntime's QDQ transformers then fuse DQ → Conv → Q into QLinearConv (and MatMul, Gemm,
// Add, Concat, pooling … likewise); the file stays a valid float model anywhere else.
//
// Placement is decided per tensor, not per node (onnxruntime `qdq_selectors.cc` is the contract):
//  - anchors (Conv, Gemm, MatMul) are what makes INT8 fast: their activation
//    inputs and their output get Q/DQ, their weights are quantized;
//  - integer-domain ops (Add, Mul, Concat, pooling, Sigmoid, LeakyRelu) are quantized only when
//    every input already comes out of a quantized op: otherwise their Q/DQ would only add work;
//  - pass-through ops (MaxPool, Reshape, Transpose, Resize, …) run on the integer tensor when
//    input and output share one scale (onnxruntime drops their DQ/Q), so their output reuses
//    the input's parameters, and only when a quantized op reads it;
//  - Relu/Clip right after a quantized op is left for onnxruntime to fold into the next Q
//    (ReluQuantFusion: removed when Q's zero point is the type's lowest value), so the anchor's
//    own output gets no Q/DQ of its own.
import { readFileSync } from 'node:fs';
import { KilnError } from '../errors.js';
import { DataType } from '../ir/dtype.js';
import type { Model, Node, Value } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import type { Range } from './calibrate.js';
import { constTensor, dropDeadConstants, isFloatConstant, soleConsumer, swapNodeIoNames, nodeNamer, type ValueInfo } from './graph-util.js';

/**
 * Activation encoding. uint8 asymmetric is the default: onnxruntime's x86 integer GEMM is u8×s8,
 * and with symmetric int8 activations the Relu after a Conv is not folded into the next Q
 * (ReluQuantFusion needs the type's lowest zero point), so fewer convs fuse. Measured here
 * (corpus ResNet-18, bench/results/quantize.json): uint8 fuses all 20 convs and runs ~1.9–2.0×
 * FP32; int8 symmetric fuses 9 and runs ~1.0×, and its output SQNR is 16.6 dB against 31.9 dB
 * for uint8 with 8-bit weights (29.3 vs 30.2 dB with 7-bit weights, where nothing saturates).
 */
export type ActType = 'uint8' | 'int8';
export const ACT_TYPES: readonly ActType[] = ['uint8', 'int8'];

/**
 * Weight width. x86 without VNNI computes u8×s8 products with vpmaddubsw, which adds pairs into
 * int16 and saturates; 7-bit weights (onnxruntime's reduce_range) cannot overflow it but are
 * coarser. Measured on this project's AVX2 EPYC (output SQNR vs FP32, fused kernels):
 * - static QDQ, corpus ResNet-18: 8-bit 31.86 / 29.64 dB, 7-bit 30.21 / 30.49 (two photo sets): a tie;
 * - static QDQ, kiln-vfi step 19,000 on vfi-dev: 8-bit 31.4 dB (PSNR vs truth −0.95 dB), 7-bit
 *   48.1 dB (−0.06 dB);
 * - dynamic (DynamicQuantizeMatMul, MatMulInteger, DynamicQuantizeLSTM): corpus attention
 *   22.6 → 45.6 dB, LSTM 25.6 → 47.0, GRU 17.5 → 37.2 with 7 bits.
 * So the default is 7 bits where the kernels saturate and 8 bits elsewhere (VNNI x86, ARM), where
 * 8 bits are exact; the report says which, and --weight-bits overrides it.
 */
export function defaultWeightBits(): 7 | 8 {
  return x86WithoutVnni() ? 7 : 8;
}

/** What the report says about the weight width on this CPU (null: nothing to say). */
export function weightBitsNote(bits: 7 | 8, chosen: boolean): string | null {
  if (!x86WithoutVnni()) return null;
  if (bits === 8) return 'this x86 CPU has no VNNI: its u8×s8 kernels saturate int16 pair sums with 8-bit weights, so the error measured here is this CPU\'s (kiln-vfi: 31.4 vs 48.1 dB SQNR with 7-bit weights); a VNNI or ARM target computes these weights exactly';
  return chosen ? null : 'weights are 7-bit (±63): this x86 CPU has no VNNI and its u8×s8 kernels saturate with 8-bit weights (measured: 2–23 dB SQNR lost); pass --weight-bits 8 when quantizing for a VNNI or ARM target';
}

/** True on x86 CPUs whose integer kernels saturate u8×s8 pair sums (no VNNI / AMX). */
export function x86WithoutVnni(): boolean {
  if (process.arch !== 'x64' && process.arch !== 'ia32') return false;
  let flags = '';
  try {
    flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    return false;
  }
  return !/\b(avx512_vnni|avx_vnni|amx_int8)\b/.test(flags);
}

export interface QParams {
  scale: number;
  zeroPoint: number;
}

/** uint8 asymmetric: the range widened to hold 0, zero point rounded; int8 symmetric: zp 0. */
export function activationParams(r: Range, t: ActType): QParams {
  const lo = Math.min(r.min, 0);
  const hi = Math.max(r.max, 0);
  if (t === 'int8') {
    const m = Math.max(-lo, hi);
    return { scale: m > 0 ? m / 127 : 1, zeroPoint: 0 };
  }
  if (hi - lo <= 0) return { scale: 1, zeroPoint: 0 };
  const scale = (hi - lo) / 255;
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-lo / scale))) };
}

type Role = 'anchor' | 'int' | 'pass' | 'absorb';

interface OpRule {
  role: Role;
  /** Activation input slots ('all' = every input). */
  act: number[] | 'all';
  /** Constant weight slot and its channel axis (null axis: per-tensor). */
  weight?: { input: number; axis: (n: Node, w: Tensor, o: WeightOptions) => number | null };
  /** Optional bias slot, quantized to int32 with scale s_input·s_weight. */
  bias?: number;
}

/** What onnxruntime can run on integers, and how (op knowledge as data). */
export const QDQ_OPS: Readonly<Record<string, OpRule>> = {
  Conv: { role: 'anchor', act: [0], weight: { input: 1, axis: () => 0 }, bias: 2 },
  Gemm: { role: 'anchor', act: [0], weight: { input: 1, axis: (n) => (n.getInt('transB', 0) ? 0 : 1) }, bias: 2 },
  // MatMul weights per tensor by default: both forms fuse into QLinearMatMul here, but on x86
  // without VNNI the u8×s8 kernel saturates more often when every column spans the full int8
  // range (mlpAttention d=256: SQNR 39.1 dB per tensor vs 32.3 dB per column, December 2026).
  // `matmulScales: 'column'` is the better choice on VNNI CPUs or when column ranges differ a lot.
  MatMul: { role: 'anchor', act: [0, 1], weight: { input: 1, axis: (_n, w, o) => (o.matmulScales === 'column' && w.dims.length === 2 ? 1 : null) } },
  Add: { role: 'int', act: [0, 1] },
  Mul: { role: 'int', act: [0, 1] },
  Concat: { role: 'int', act: 'all' },
  AveragePool: { role: 'int', act: [0] },
  GlobalAveragePool: { role: 'int', act: [0] },
  Sigmoid: { role: 'int', act: [0] },
  LeakyRelu: { role: 'int', act: [0] },
  MaxPool: { role: 'pass', act: [0] },
  Reshape: { role: 'pass', act: [0] },
  Transpose: { role: 'pass', act: [0] },
  Flatten: { role: 'pass', act: [0] },
  Squeeze: { role: 'pass', act: [0] },
  Unsqueeze: { role: 'pass', act: [0] },
  Resize: { role: 'pass', act: [0] },
  DepthToSpace: { role: 'pass', act: [0] },
  SpaceToDepth: { role: 'pass', act: [0] },
  Identity: { role: 'pass', act: [0] },
  Relu: { role: 'absorb', act: [0] },
  Clip: { role: 'absorb', act: [0] },
};

/**
 * Ops with an integer form on paper that onnxruntime 1.30's CPU EP does not fuse from QDQ
 * (measured: DQ → ConvTranspose → Q stays a float ConvTranspose between a DQ and a Q), so Q/DQ
 * around them would only add work.
 */
const NOT_FUSED: Readonly<Record<string, string>> = {
  ConvTranspose: 'onnxruntime 1.30 (CPU) does not fuse QDQ ConvTranspose into an integer kernel (measured), so Q/DQ around it would only add work',
};

/** Ops that compute nothing numeric (shape plumbing): never listed as "kept float". */
const PLUMBING = new Set(['Shape', 'Size', 'Constant', 'ConstantOfShape', 'Cast', 'Range', 'NonZero', 'Equal', 'Less', 'Greater', 'Where', 'Not', 'And', 'Or']);

export interface KeptFloat {
  node: string;
  op: string;
  reason: string;
}

export interface QdqPlan {
  /** Anchors and integer-domain ops that run on integers. */
  quantized: Node[];
  /** Relu/Clip nodes folded by onnxruntime into the following Q. */
  absorbed: Node[];
  /** Tensors that get a Q/DQ pair → the tensor whose calibrated range they use. */
  tensors: Map<string, string>;
  /** Quantized node → the tensor carrying its quantized output. */
  outputOf: Map<string, string>;
  kept: KeptFloat[];
}

export interface PlanOptions {
  activations: ActType;
  /** Ops never quantized (--exclude op:NAME). */
  excludeOps?: ReadonlySet<string>;
  /** Node names never quantized (--exclude node:NAME, or kept float by the sensitivity search). */
  excludeNodes?: ReadonlySet<string>;
  /** When set, only these nodes may be quantized (the sensitivity analysis quantizes one layer). */
  onlyNodes?: ReadonlySet<string>;
  /**
   * Layers kept float for accuracy: the node and the tensor it outputs (past Relu/Clip and
   * pass-through ops) stay float, so the consumers that would need that tensor quantized stay
   * float too. A layer's damage is mostly in its output tensor, which its consumers' inputs share.
   */
  keepLayers?: ReadonlySet<string>;
}

export const nodeKey = (n: Node): string => n.name || n.outputs.find((v) => v)?.name || '?';

/** Decides which nodes run on integers and which tensors carry Q/DQ. Changes nothing. */
export function planQdq(model: Model, info: ReadonlyMap<string, ValueInfo>, opts: PlanOptions): QdqPlan {
  const g = model.graph;
  const isAct = (v: Value | null): v is Value => !!v && !constTensor(v) && info.get(v.name)?.dtype === 'float32';
  const hasFloat = (n: Node): boolean => n.inputs.some((v) => isAct(v) || isFloatConstant(v)) || n.outputs.some((v) => isAct(v));
  const produced = new Set<string>();
  const wanted = new Set<string>();
  const shareOf = new Map<string, string>();
  const outputOf = new Map<string, string>();
  const forbidden = new Set<string>();
  const quantized: Node[] = [];
  const absorbed: Node[] = [];
  const absorbedSet = new Set<Node>();
  const kept: KeptFloat[] = [];
  const keep = (n: Node, reason: string): void => void kept.push({ node: nodeKey(n), op: n.opType, reason });
  const actInputs = (n: Node, rule: OpRule): Value[] => {
    const slots = rule.act === 'all' ? n.inputs.map((_, i) => i) : rule.act;
    return slots.map((i) => n.input(i)).filter(isAct);
  };
  const available = (v: Value): boolean => produced.has(v.name) || shareOf.has(v.name);
  const root = (name: string): string => shareOf.get(name) ?? name;
  /** The tensor that carries n's quantized output: past a Relu/Clip onnxruntime will fold. */
  const outputTensor = (n: Node): Value => {
    const y = n.output(0);
    const c = soleConsumer(y);
    if (opts.activations === 'uint8' && c && c.domain === '' && (c.opType === 'Relu' || clipFoldable(c)) && !excluded(c) && isAct(c.output(0))) {
      absorbed.push(c);
      absorbedSet.add(c);
      return c.output(0);
    }
    return y;
  };
  const excluded = (n: Node): boolean => !!opts.excludeOps?.has(n.opType) || !!opts.excludeNodes?.has(nodeKey(n)) || (!!opts.onlyNodes && !opts.onlyNodes.has(nodeKey(n)));

  for (const n of g.nodes) {
    if (absorbedSet.has(n)) continue;
    const rule = n.domain === '' ? QDQ_OPS[n.opType] : undefined;
    if (!hasFloat(n)) continue;
    if (opts.excludeOps?.has(n.opType) || opts.excludeNodes?.has(nodeKey(n))) {
      keep(n, opts.excludeOps?.has(n.opType) ? `excluded (--exclude op:${n.opType})` : `excluded (--exclude node:${nodeKey(n)})`);
      continue;
    }
    if (!rule && n.subgraphs().length) {
      const inside = n.subgraphs().flatMap((sg) => [...sg.allNodes()]).filter((m) => m.domain === '' && QDQ_OPS[m.opType]?.role === 'anchor').length;
      keep(n, `control flow: its subgraphs stay float (their tensors cannot be calibrated as graph outputs)${inside ? `; ${inside} MatMul/Gemm/Conv inside — --mode int8-dynamic quantizes MatMul/Gemm in subgraphs` : ''}`);
      continue;
    }
    if (!rule) {
      if (!PLUMBING.has(n.opType)) keep(n, (n.domain === '' && NOT_FUSED[n.opType]) || `${n.domain ? `${n.domain}.` : ''}${n.opType} has no integer kernel in onnxruntime`);
      continue;
    }
    if (opts.keepLayers?.has(nodeKey(n))) {
      keep(n, 'kept float with its output tensor to meet the quality budget');
      for (let v: Value | null = n.output(0); v; ) {
        forbidden.add(v.name);
        const c = soleConsumer(v);
        const r = c && c.domain === '' ? QDQ_OPS[c.opType] : undefined;
        v = c && r && (r.role === 'pass' || r.role === 'absorb') && c.input(0) === v ? c.output(0) : null;
      }
      continue;
    }
    if (excluded(n)) continue; // not among onlyNodes (sensitivity: one layer at a time)
    const acts = actInputs(n, rule);
    const blocked = acts.find((v) => forbidden.has(v.name));
    if (blocked && (rule.role === 'anchor' || rule.role === 'int')) {
      keep(n, `reads ${blocked}, which is kept float to meet the quality budget`);
      continue;
    }
    if (rule.role === 'anchor' || rule.role === 'int') {
      const why = rule.role === 'anchor' ? anchorProblem(n, rule, isAct) : intProblem(n, rule, isAct, available);
      if (why) {
        keep(n, why);
        continue;
      }
      quantized.push(n);
      for (const v of acts) wanted.add(v.name);
      const t = outputTensor(n).name;
      produced.add(t);
      outputOf.set(nodeKey(n), t);
    } else if (rule.role === 'pass' || rule.role === 'absorb') {
      const x = n.input(0);
      const extraOut = n.outputs.filter((v) => v).length > 1;
      if (x && isAct(x) && available(x) && !extraOut && isAct(n.output(0))) shareOf.set(n.output(0).name, root(x.name));
    }
  }
  // A pass-through output gets Q/DQ only when a quantized op reads it; then its own input must
  // be integer too, back along the chain (reverse order reaches the whole chain in one sweep).
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    const out = n.outputs[0];
    if (!out || !shareOf.has(out.name) || !wanted.has(out.name)) continue;
    const x = n.input(0)!;
    if (shareOf.has(x.name)) wanted.add(x.name);
  }
  const tensors = new Map<string, string>();
  for (const t of produced) tensors.set(t, t);
  for (const t of wanted) tensors.set(t, root(t));
  // Pass-through ops whose output was not materialised, and absorbed ops, are not "kept float"
  // in a way that costs anything: list only pass-through ops that really run in float.
  for (const n of g.nodes) {
    const rule = n.domain === '' ? QDQ_OPS[n.opType] : undefined;
    if (!rule || (rule.role !== 'pass' && rule.role !== 'absorb') || absorbedSet.has(n) || !hasFloat(n) || excluded(n)) continue;
    const out = n.outputs[0];
    if (out && tensors.has(out.name) && n.input(0) && tensors.has(n.input(0)!.name)) continue;
    if (['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze'].includes(n.opType)) continue;
    keep(n, out && tensors.has(out.name) ? 'its input is float (no quantized producer)' : 'no quantized op reads its output: running it on integers would only add Q/DQ');
  }
  return { quantized, absorbed, tensors, outputOf, kept };
}

function clipFoldable(n: Node): boolean {
  if (n.opType !== 'Clip') return false;
  const lo = n.input(1);
  const t = constTensor(lo);
  if (t) return t.toFloat32()[0] >= 0;
  return n.getFloat('min') !== undefined && n.getFloat('min')! >= 0;
}

function anchorProblem(n: Node, rule: OpRule, isAct: (v: Value | null) => v is Value): string | null {
  const x = n.input(0);
  if (!isAct(x)) return 'its data input is not a float activation';
  const w = n.input(rule.weight!.input);
  if (n.opType === 'MatMul') {
    if (!isAct(w) && !isFloatConstant(w)) return 'its second input is neither a float activation nor a float constant';
    const wt = constTensor(w);
    if (wt && wt.dims.length !== 2) return `its constant weight is ${wt.dims.length}-D (only 2-D MatMul weights are quantized)`;
    return null;
  }
  if (!isFloatConstant(w)) return 'its weights are not a float32 constant (computed weights cannot be quantized ahead of time)';
  if (n.opType === 'Gemm') {
    if (n.getInt('transA', 0)) return 'Gemm with transA=1 is not fused by onnxruntime';
    if (n.getFloat('alpha', 1) !== 1 || n.getFloat('beta', 1) !== 1) return 'Gemm with alpha/beta ≠ 1 is not fused by onnxruntime';
    const c = n.input(2);
    const N = constTensor(w)!.dims[n.getInt('transB', 0) ? 0 : 1];
    const ct = constTensor(c);
    if (c && !(isFloatConstant(c) && ct!.size === N && ct!.dims.length === 1)) return 'its bias is not a constant of shape [N]';
  }
  const b = rule.bias !== undefined ? n.input(rule.bias) : null;
  if (b && !isFloatConstant(b)) return 'its bias is not a float32 constant';
  return null;
}

function intProblem(n: Node, rule: OpRule, isAct: (v: Value | null) => v is Value, available: (v: Value) => boolean): string | null {
  const slots = rule.act === 'all' ? n.inputs.map((_, i) => i) : rule.act;
  for (const i of slots) {
    const v = n.input(i);
    if (!v) continue;
    if (!isAct(v)) return `input ${i} ${v} is ${constTensor(v as Value) ? 'a constant' : 'not float'}: the integer kernel needs quantized activations on every input`;
    if (!available(v)) return `input ${v} ${v.producer ? `comes from ${v.producer}, which runs in float` : 'is a float graph input'}: quantizing it here would only add Q/DQ`;
  }
  if (n.opType === 'LeakyRelu' || n.opType === 'Sigmoid' || n.opType === 'AveragePool' || n.opType === 'GlobalAveragePool') return null;
  return null;
}

export interface QdqWarnings {
  warnings: string[];
}

/**
 * Inserts the plan into `model` (in place; returns the model to use, which differs when a graph
 * output had to keep its name behind a new DequantizeLinear).
 */
export interface WeightOptions {
  /** 8 (default) or 7 (reduce range, see weightBitsNote). */
  bits?: 7 | 8;
  /** MatMul weight scales: one per tensor (default) or one per output column. */
  matmulScales?: 'tensor' | 'column';
}

export function applyQdq(model: Model, plan: QdqPlan, ranges: ReadonlyMap<string, Range>, act: ActType, warnings: string[] = [], weights: WeightOptions = {}): Model {
  const weightBits = weights.bits ?? 8;
  const g = model.graph;
  const nodeName = nodeNamer(g);
  const actDt = act === 'uint8' ? DataType.UINT8 : DataType.INT8;
  const params = new Map<string, { p: QParams; scale: Value; zp: Value }>();
  const paramsOf = (owner: string): { p: QParams; scale: Value; zp: Value } => {
    let e = params.get(owner);
    if (!e) {
      const r = ranges.get(owner);
      if (!r) throw new KilnError(`internal: no calibrated range for '${owner}'`);
      const p = activationParams(r, act);
      e = { p, scale: g.addConstant(`${owner}_scale`, Tensor.scalar(DataType.FLOAT, p.scale)), zp: g.addConstant(`${owner}_zero_point`, Tensor.scalar(actDt, p.zeroPoint)) };
      params.set(owner, e);
    }
    return e;
  };
  const swaps: [string, string][] = [];
  // Anchors read their input scale for the bias: fix them before rewiring inputs.
  const inputScale = new Map<Node, number>();
  for (const n of plan.quantized) {
    const rule = QDQ_OPS[n.opType];
    if (rule.role !== 'anchor') continue;
    const x = n.input(0)!;
    const owner = plan.tensors.get(x.name);
    if (!owner) throw new KilnError(`internal: anchor ${n} input ${x} has no Q/DQ`);
    inputScale.set(n, paramsOf(owner).p.scale);
  }
  for (const [name, owner] of plan.tensors) {
    const v = g.ownValue(name);
    if (!v) throw new KilnError(`internal: no value '${name}'`);
    const { scale, zp } = paramsOf(owner);
    const at = v.producer ? { after: v.producer } : { before: g.nodes[0] };
    const consumers = [...v.uses];
    const q = g.addNode({ op: 'QuantizeLinear', inputs: [v, scale, zp], name: nodeName(`${name}_QuantizeLinear`) }, at);
    const dq = g.addNode({ op: 'DequantizeLinear', inputs: [q.output(0), scale, zp], name: nodeName(`${name}_DequantizeLinear`) }, { after: q });
    for (const u of consumers) g.setInput(u.node, u.index, dq.output(0));
    if (v.isGraphOutput) swaps.push([v.name, dq.output(0).name]);
  }
  const weightDq = new Map<string, Value>();
  for (const n of plan.quantized) {
    const rule = QDQ_OPS[n.opType];
    if (rule.role !== 'anchor' || !rule.weight) continue;
    const w = n.input(rule.weight.input)!;
    const wt = constTensor(w);
    if (!wt) continue; // MatMul with two activations: both already carry Q/DQ
    const axis = rule.weight.axis(n, wt, weights);
    const key = `${w.name}|${axis}`;
    let wdq = weightDq.get(key);
    if (!wdq) {
      const q = quantizeWeight(wt, axis, weightBits === 7 ? 63 : 127);
      const wq = g.addConstant(`${w.name}_quantized`, q.data);
      const ws = g.addConstant(`${w.name}_scale`, q.scales);
      const wz = g.addConstant(`${w.name}_zero_point`, q.zeroPoints);
      const node = g.addNode({ op: 'DequantizeLinear', inputs: [wq, ws, wz], attrs: axis === null ? {} : { axis: { type: 'int', value: axis } }, name: nodeName(`${w.name}_DequantizeLinear`) }, { before: g.nodes[0] });
      wdq = node.output(0);
      weightDq.set(key, wdq);
    }
    const wScales = wdq.producer!.input(1)!.initializer!.toFloat32();
    g.setInput(n, rule.weight.input, wdq);
    const b = rule.bias !== undefined ? n.input(rule.bias) : null;
    const bt = constTensor(b);
    if (b && bt) {
      const sx = inputScale.get(n)!;
      const bq = quantizeBias(bt, sx, wScales, `${n}`, warnings);
      const bv = g.addConstant(`${b.name}_quantized`, bq.data);
      const bs = g.addConstant(`${b.name}_scale`, bq.scales);
      const bz = g.addConstant(`${b.name}_zero_point`, bq.zeroPoints);
      const node = g.addNode({ op: 'DequantizeLinear', inputs: [bv, bs, bz], attrs: bq.scales.size > 1 ? { axis: { type: 'int', value: 0 } } : {}, name: nodeName(`${b.name}_DequantizeLinear`) }, { before: g.nodes[0] });
      g.setInput(n, rule.bias!, node.output(0));
    }
  }
  dropDeadConstants(g);
  const cycle = g.topoSort();
  if (cycle) throw new KilnError(`internal: Q/DQ insertion made a cycle through ${cycle[0]}`);
  return swapNodeIoNames(model, swaps);
}

/** Symmetric int8 weights, per channel along `axis` (null: one scale). Zero points are 0. */
export function quantizeWeight(t: Tensor, axis: number | null, qmax = 127): { data: Tensor; scales: Tensor; zeroPoints: Tensor } {
  const w = t.toFloat32();
  const dims = t.dims;
  const channels = axis === null ? 1 : dims[axis];
  const inner = axis === null ? w.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const chanOf = (i: number): number => (axis === null ? 0 : Math.floor(i / inner) % channels);
  const absMax = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) absMax[chanOf(i)] = Math.max(absMax[chanOf(i)], Math.abs(w[i]));
  const scales = Float32Array.from(absMax, (m) => (m > 0 ? m / qmax : 1));
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-qmax, Math.min(qmax, Math.round(w[i] / scales[chanOf(i)])));
  const sdims = axis === null ? [] : [channels];
  return {
    data: Tensor.from(DataType.INT8, dims, q),
    scales: Tensor.from(DataType.FLOAT, sdims, scales),
    zeroPoints: Tensor.from(DataType.INT8, sdims, new Int8Array(channels)),
  };
}

/** int32 bias with scale s_x·s_w[c] (what QLinearConv/QGemm add to the int32 accumulator). */
export function quantizeBias(t: Tensor, sx: number, ws: Float32Array, where: string, warnings: string[]): { data: Tensor; scales: Tensor; zeroPoints: Tensor } {
  const b = t.toFloat32();
  const n = b.length;
  const scales = new Float32Array(n);
  const q = new Int32Array(n);
  let clipped = 0;
  for (let c = 0; c < n; c++) {
    const s = sx * (ws.length === 1 ? ws[0] : ws[c]);
    scales[c] = s;
    const v = Math.round(b[c] / s);
    if (v > 2147483647 || v < -2147483648) clipped++;
    q[c] = Math.max(-2147483648, Math.min(2147483647, v));
  }
  if (clipped) warnings.push(`${where}: ${clipped} bias value(s) exceed the int32 range at scale s_x·s_w and were clipped`);
  const perChannel = ws.length > 1;
  return {
    data: Tensor.from(DataType.INT32, t.dims, q),
    scales: perChannel ? Tensor.from(DataType.FLOAT, [n], scales) : Tensor.scalar(DataType.FLOAT, scales[0]),
    zeroPoints: perChannel ? Tensor.from(DataType.INT32, [n], new Int32Array(n)) : Tensor.scalar(DataType.INT32, 0),
  };
}
