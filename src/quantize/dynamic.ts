// Dynamic INT8: weights quantized ahead of time, activations at run time (no calibration).
//
// Before: x → MatMul(x, W) → y          (or Gemm(x, W, c) with transA = 0, alpha = beta = 1)
// After:  x → DynamicQuantizeLinear → (xq, xs, xzp)
//         MatMulInteger(xq, Wq, xzp, Wzp) → Cast(float) → Mul(·, xs·Ws) [→ Add(c)] → y
// onnxruntime fuses this into MatMulIntegerToFloat and then DynamicQuantizeMatMul (contrib), a
// u8×s8 kernel. Wq is int8 symmetric per output column (zero points 0).
//
// LSTM becomes onnxruntime's DynamicQuantizeLSTM (contrib): W [D, 4H, I] and R [D, 4H, H] are
// stored transposed ([D, I, 4H], [D, H, 4H]) as int8 with one scale per direction and gate column;
// the kernel quantizes X and h to uint8 at each step. GRU has no such kernel in onnxruntime: from
// hidden size 384 up it is rewritten as MatMul + Scan (gru.ts), whose MatMuls are quantized here.
//
// Conv is not converted: ConvInteger, the dynamic form of Conv, has no optimized kernel in
// onnxruntime and runs slower than FP32 — convolutional nets should use static INT8 (QDQ).
import { UsageError } from '../errors.js';
import { DataType } from '../ir/dtype.js';
import type { Graph, Model, Node, Value } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { constTensor, dropDeadConstants, isFloatConstant, swapNodeIoNames, nodeNamer, type ValueInfo } from './graph-util.js';
import { gruProblem, gruToScan, nonDefaultActivations } from './gru.js';
import { nodeKey, quantizeWeight, type KeptFloat } from './qdq.js';

export interface DynamicOptions {
  excludeOps?: ReadonlySet<string>;
  excludeNodes?: ReadonlySet<string>;
  /** Weight width: 8 (default) or 7 (±63: no u8×s8 saturation in x86 kernels without VNNI). */
  weightBits?: 7 | 8;
}

export interface DynamicResult {
  model: Model;
  quantized: string[];
  kept: KeptFloat[];
  warnings: string[];
  notes: string[];
}

const CONV_OPS = new Set(['Conv', 'ConvTranspose']);

/** float32 by the probe (main graph) or by declared/inferred type (inside subgraphs, which the probe cannot see). */
function isFloat32(v: Value, info: ReadonlyMap<string, ValueInfo>): boolean {
  const probed = info.get(v.name)?.dtype;
  return probed ? probed === 'float32' : v.graph.parent !== null && v.elemType === DataType.FLOAT;
}

function problem(n: Node, info: ReadonlyMap<string, ValueInfo>): string | null {
  const x = n.input(0);
  const w = n.input(1);
  if (!x || x.initializer || !isFloat32(x, info)) return 'its data input is not a float activation';
  if (!isFloatConstant(w)) return isFloatConstant(x) ? 'its weight is the first input' : 'both inputs are activations: the dynamic form (MatMulInteger of two run-time quantized tensors) is not fused by onnxruntime';
  const wt = constTensor(w)!;
  if (wt.dims.length !== 2) return `its weight is ${wt.dims.length}-D (only 2-D weights are quantized)`;
  if (n.opType === 'Gemm') {
    if (n.getInt('transA', 0)) return 'Gemm with transA=1';
    if (n.getFloat('alpha', 1) !== 1 || n.getFloat('beta', 1) !== 1) return 'Gemm with alpha/beta ≠ 1';
    const c = n.input(2);
    if (c && !isFloatConstant(c)) return 'its bias is not a float32 constant';
  }
  return null;
}

/** Every node of the model, subgraph bodies (If/Loop/Scan) included, in graph order. */
function nodesDeep(g: Graph): Node[] {
  const out: Node[] = [];
  for (const n of g.nodes) {
    out.push(n);
    for (const sub of n.subgraphs()) out.push(...nodesDeep(sub));
  }
  return out;
}

export function quantizeDynamic(model: Model, info: ReadonlyMap<string, ValueInfo>, opts: DynamicOptions = {}): DynamicResult {
  const g = model.graph;
  const kept: KeptFloat[] = [];
  const warnings: string[] = [];
  const quantized: string[] = [];
  const candidates: Node[] = [];
  const lstms: Node[] = [];
  const notes: string[] = [];
  const swaps: [string, string][] = [];
  const namers = new Map<Graph, (hint: string) => string>();
  const nameIn = (sg: Graph, hint: string): string => {
    let f = namers.get(sg);
    if (!f) namers.set(sg, (f = nodeNamer(sg)));
    return f(hint);
  };
  // GRU first: its Scan form brings MatMuls that the walk below then quantizes.
  for (const n of nodesDeep(g)) {
    if (n.domain !== '' || n.opType !== 'GRU') continue;
    const why = opts.excludeOps?.has(n.opType) || opts.excludeNodes?.has(nodeKey(n)) ? 'excluded' : gruProblem(n);
    if (why) {
      kept.push({ node: nodeKey(n), op: n.opType, reason: why });
      continue;
    }
    const mms = gruToScan(n, (hint) => nameIn(n.graph, hint), swaps);
    notes.push(`GRU '${nodeKey(n)}' rewritten as MatMul + Scan so that its ${mms.length} MatMuls run in INT8 (onnxruntime has no integer GRU kernel)`);
  }
  let convs = 0;
  for (const n of nodesDeep(g)) {
    if (n.domain !== '') continue;
    if (CONV_OPS.has(n.opType)) {
      convs++;
      kept.push({ node: nodeKey(n), op: n.opType, reason: 'dynamic INT8 leaves Conv in float (ConvInteger has no optimized kernel in onnxruntime); use --mode int8' });
      continue;
    }
    if (n.opType === 'GRU') continue; // kept above, with the reason
    if (n.opType === 'LSTM') {
      const why = opts.excludeOps?.has(n.opType) || opts.excludeNodes?.has(nodeKey(n)) ? 'excluded' : lstmProblem(n, info);
      if (why) kept.push({ node: nodeKey(n), op: n.opType, reason: why });
      else lstms.push(n);
      continue;
    }
    if (n.opType !== 'MatMul' && n.opType !== 'Gemm') continue;
    if (opts.excludeOps?.has(n.opType) || opts.excludeNodes?.has(nodeKey(n))) {
      kept.push({ node: nodeKey(n), op: n.opType, reason: 'excluded' });
      continue;
    }
    const why = problem(n, info);
    if (why) kept.push({ node: nodeKey(n), op: n.opType, reason: why });
    else candidates.push(n);
  }
  if (!candidates.length && !lstms.length) {
    if (convs) throw new UsageError(`${model.source || 'model'} is a convolutional network (${convs} Conv, no quantizable MatMul/Gemm): dynamic INT8 would need ConvInteger, which has no optimized kernel in onnxruntime and runs slower than FP32. Use --mode int8 (static QDQ with calibration) instead`);
    throw new UsageError(`${model.source || 'model'} has no MatMul/Gemm/LSTM with constant float weights: nothing for dynamic INT8 to quantize${kept.length ? ` (${kept[0].node}: ${kept[0].reason})` : ''}`);
  }
  if (convs) warnings.push(`${convs} Conv node(s) stay float in dynamic mode (ConvInteger is slow in onnxruntime); --mode int8 quantizes them statically`);
  const qmax = opts.weightBits === 7 ? 63 : 127;
  // One DynamicQuantizeLinear per activation and graph that reads it; one quantized copy per
  // weight (value names are unique in the whole model, subgraphs included).
  const dql = new Map<Graph, Map<string, Node>>();
  const weights = new Map<string, { wq: Value; ws: Value; wz: Value }>();
  for (const n of candidates) {
    const sg = n.graph;
    const x = n.input(0)!;
    const w = n.input(1)!;
    const y = n.output(0);
    if (!dql.has(sg)) dql.set(sg, new Map());
    let d = dql.get(sg)!.get(x.name);
    if (!d) {
      d = sg.addNode({ op: 'DynamicQuantizeLinear', inputs: [x], outputs: 3, name: nameIn(sg, `${x.name}_DynamicQuantizeLinear`) }, { before: n });
      dql.get(sg)!.set(x.name, d);
    }
    // Gemm transB=1 holds W as [N, K]: quantize per row then, which is per output column of x·Wᵀ.
    const transB = n.opType === 'Gemm' && n.getInt('transB', 0) === 1;
    let wt = constTensor(w)!;
    if (transB) {
      const [N, K] = wt.dims;
      const src = wt.toFloat32();
      const t = new Float32Array(N * K);
      for (let i = 0; i < N; i++) for (let k = 0; k < K; k++) t[k * N + i] = src[i * K + k];
      wt = Tensor.from(DataType.FLOAT, [K, N], t);
    }
    // Quantized weights live beside the float ones (an outer-scope weight serves every subgraph).
    const wg = w.graph;
    const wKey = `${w.name}|${transB}`;
    let wv = weights.get(wKey);
    if (!wv) {
      const q = quantizeWeight(wt, 1, qmax);
      wv = { wq: wg.addConstant(`${w.name}_quantized`, q.data), ws: wg.addConstant(`${w.name}_scale`, q.scales), wz: wg.addConstant(`${w.name}_zero_point`, q.zeroPoints) };
      weights.set(wKey, wv);
    }
    const mmi = sg.addNode({ op: 'MatMulInteger', inputs: [d.output(0), wv.wq, d.output(2), wv.wz], name: nameIn(sg, `${nodeKey(n)}_MatMulInteger`) }, { before: n });
    const cast = sg.addNode({ op: 'Cast', inputs: [mmi.output(0)], attrs: { to: { type: 'int', value: DataType.FLOAT } }, name: nameIn(sg, `${nodeKey(n)}_Cast`) }, { before: n });
    const scale = sg.addNode({ op: 'Mul', inputs: [d.output(1), wv.ws], name: nameIn(sg, `${nodeKey(n)}_scale`) }, { before: n });
    let out = sg.addNode({ op: 'Mul', inputs: [cast.output(0), scale.output(0)], name: nameIn(sg, `${nodeKey(n)}_rescale`) }, { before: n }).output(0);
    const c = n.opType === 'Gemm' ? n.input(2) : null;
    if (c) out = sg.addNode({ op: 'Add', inputs: [out, c], name: nameIn(sg, `${nodeKey(n)}_bias`) }, { before: n }).output(0);
    if (y.isGraphOutput && sg === g) {
      for (const u of [...y.uses]) g.setInput(u.node, u.index, out);
      swaps.push([y.name, out.name]);
    } else if (y.isGraphOutput) {
      // Subgraph outputs bind by position, not name: point the body's output slot at the new value.
      for (const u of [...y.uses]) u.node.graph.setInput(u.node, u.index, out);
      out.type = y.type ?? y.inferred;
      sg.outputs.forEach((v, i) => v === y && sg.setOutput(i, out));
    } else sg.replaceAllUses(y, out);
    quantized.push(nodeKey(n));
  }
  for (const n of lstms) {
    toDynamicLstm(n, (hint) => nameIn(n.graph, hint), qmax);
    quantized.push(nodeKey(n));
  }
  if (lstms.length && model.opset('com.microsoft') === undefined) model.opsetImports.set('com.microsoft', 1);
  // Replaced nodes go once nothing reads them (main-graph-output ones are renamed away by the swap).
  for (const n of candidates) if (!n.output(0).uses.length && !n.output(0).isGraphOutput) n.graph.removeNode(n);
  const outModel = swapNodeIoNames(model, swaps);
  if (swaps.length) {
    // The original nodes whose output was a graph output now produce the swapped-away name: drop them.
    const og = outModel.graph;
    const names = new Set(swaps.map(([, b]) => b));
    for (const n of [...og.nodes].reverse()) if (n.outputs.some((v) => v && names.has(v.name) && !v.uses.length)) og.removeNode(n);
  }
  const dropAll = (sg: Graph): void => {
    for (const n of sg.nodes) n.subgraphs().forEach(dropAll);
    dropDeadConstants(sg);
  };
  dropAll(outModel.graph);
  return { model: outModel, quantized, kept, warnings, notes };
}

function lstmProblem(n: Node, info: ReadonlyMap<string, ValueInfo>): string | null {
  const x = n.input(0);
  if (!x || !isFloat32(x, info)) return 'its input X is not float32';
  for (const [slot, what] of [[1, 'W'], [2, 'R']] as const) {
    const t = constTensor(n.input(slot));
    if (!t || !isFloatConstant(n.input(slot))) return `its ${what} is not a float32 constant`;
    if (t.dims.length !== 3) return `its ${what} is ${t.dims.length}-D`;
  }
  if (n.getInt('layout', 0) !== 0) return 'layout=1 (batch-first): DynamicQuantizeLSTM takes [seq, batch, input] only';
  for (const slot of [3, 7]) {
    const v = n.input(slot);
    if (v && !isFloatConstant(v)) return `its ${slot === 3 ? 'bias B' : 'peephole P'} is not a float32 constant`;
  }
  const seq = n.input(4);
  if (seq && info.get(seq.name)?.dtype && info.get(seq.name)?.dtype !== 'int32') return 'its sequence_lens is not int32';
  return nonDefaultActivations(n, ['Sigmoid', 'Tanh', 'Tanh']);
}

/**
 * [D, 4H, K] float → [D, K, 4H] int8, symmetric, one scale per (direction, gate column): the
 * layout and granularity DynamicQuantizeLSTM reads ("per channel on the axis input_size").
 */
export function quantizeLstmWeight(t: Tensor, qmax = 127): { data: Tensor; scales: Tensor; zeroPoints: Tensor } {
  const [D, G, K] = t.dims;
  const w = t.toFloat32();
  const scales = new Float32Array(D * G);
  const q = new Int8Array(D * G * K);
  for (let d = 0; d < D; d++) {
    for (let j = 0; j < G; j++) {
      const row = (d * G + j) * K;
      let m = 0;
      for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(w[row + k]));
      const s = m > 0 ? m / qmax : 1;
      scales[d * G + j] = s;
      for (let k = 0; k < K; k++) q[(d * K + k) * G + j] = Math.max(-qmax, Math.min(qmax, Math.round(w[row + k] / s)));
    }
  }
  return {
    data: Tensor.from(DataType.INT8, [D, K, G], q),
    scales: Tensor.from(DataType.FLOAT, [D, G], scales),
    zeroPoints: Tensor.from(DataType.INT8, [D, G], new Int8Array(D * G)),
  };
}

/** Rewrites an LSTM node in place into com.microsoft.DynamicQuantizeLSTM (outputs unchanged). */
function toDynamicLstm(n: Node, nodeName: (hint: string) => string, qmax: number): void {
  const g = n.graph;
  const base = nodeName(`${nodeKey(n)}_int8`);
  const q = (slot: number, tag: string) => {
    const r = quantizeLstmWeight(constTensor(n.input(slot))!, qmax);
    const wg = n.input(slot)!.graph;
    return { data: wg.addConstant(`${base}_${tag}_quantized`, r.data), scale: wg.addConstant(`${base}_${tag}_scale`, r.scales), zp: wg.addConstant(`${base}_${tag}_zero_point`, r.zeroPoints) };
  };
  const w = q(1, 'W');
  const r = q(2, 'R');
  const inputs = [n.input(0), w.data, r.data, n.input(3), n.input(4), n.input(5), n.input(6), n.input(7), w.scale, w.zp, r.scale, r.zp];
  g.truncateInputs(n, 0);
  inputs.forEach((v, i) => g.setInput(n, i, v));
  n.attributes.delete('layout');
  n.opType = 'DynamicQuantizeLSTM';
  n.domain = 'com.microsoft';
}
