// GRU → standard ops with MatMuls that dynamic INT8 can quantize. onnxruntime has no integer GRU
// kernel, so a GRU is rewritten as
//
//   xw = X·Wᵀ + Wb                        one [T·B, I]×[I, 3H] MatMul over all steps
//   Scan over t (per direction):          h' from (h, xw_t):
//     z = σ(xw_z + h·R_zᵀ + Rb_z)   r = σ(xw_r + h·R_rᵀ + Rb_r)
//     n = tanh(xw_n + r ⊙ (h·R_nᵀ + Rb_n))            (linear_before_reset = 1)
//     n = tanh(xw_n + (r ⊙ h)·R_nᵀ + Rb_n)            (linear_before_reset = 0)
//     h' = n + z ⊙ (h − n)
//
// whose MatMuls the dynamic pass then quantizes (the ones inside the Scan body read R from the
// outer graph). The float Scan form matches onnxruntime's GRU to 1e-7. It pays a per-step
// overhead, so it is used only from hidden size 384 up. Measured on the AVX2 EPYC, 2 threads,
// T = 64, batch 1 (GRU / Scan FP32 / Scan INT8): I = H = 256: 2.24 / 3.59 / 2.48 ms;
// I = H = 512: 13.4 / 9.2 / 4.8 ms; I = H = 1024: 91 / 78 / 11.4 ms; T = 128, I = 256, H = 128:
// 1.9 / 4.5 / 4.2 ms.
import { attr } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Graph, tensorType, type Attribute, type Node, type Value } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { constTensor, isFloatConstant } from './graph-util.js';

/** Smallest hidden size at which the Scan form with INT8 MatMuls beats onnxruntime's float GRU. */
export const GRU_MIN_HIDDEN = 384;

/**
 * Why an RNN node's `activations` attribute is not the default list (e.g. Sigmoid, Tanh for GRU,
 * repeated per direction), or null when it is absent or the default.
 */
export function nonDefaultActivations(n: Node, defaults: readonly string[]): string | null {
  const acts = n.attributes.get('activations');
  if (acts?.type !== 'strings') return null;
  const list = acts.value.map((a) => Buffer.from(a).toString('utf8'));
  return list.every((a, i) => a.toLowerCase() === defaults[i % defaults.length].toLowerCase()) ? null : `non-default activations (${list.join(', ')})`;
}

/** Why this GRU cannot take the Scan form (null: it can). */
export function gruProblem(n: Node): string | null {
  const H = n.getInt('hidden_size', 0);
  for (const [slot, what] of [[1, 'W'], [2, 'R']] as const) {
    if (!isFloatConstant(n.input(slot))) return `its ${what} is not a float32 constant`;
    if (constTensor(n.input(slot))!.dims.length !== 3) return `its ${what} is not 3-D`;
  }
  const b = n.input(3);
  if (b && !isFloatConstant(b)) return 'its bias B is not a float32 constant';
  if (n.input(4)) return 'it has sequence_lens (per-sequence lengths are not rewritten)';
  if (n.getInt('layout', 0) !== 0) return 'layout=1 (batch-first)';
  if (n.attributes.has('clip')) return 'it clips its gates';
  const acts = nonDefaultActivations(n, ['Sigmoid', 'Tanh']);
  if (acts) return acts;
  if (!(H > 0)) return 'hidden_size is missing';
  if (H < GRU_MIN_HIDDEN) return `onnxruntime has no integer GRU kernel, and at hidden_size ${H} (< ${GRU_MIN_HIDDEN}) the Scan form with INT8 MatMuls is slower than its float GRU (measured 1.1× slower at 256); GRU stays FP32`;
  return null;
}

function transposed(t: Float32Array, rows: number, cols: number, rowOffset: number, rowCount: number): Float32Array {
  // rows [rowOffset, rowOffset + rowCount) of a [rows, cols] matrix, transposed to [cols, rowCount]
  const out = new Float32Array(cols * rowCount);
  for (let i = 0; i < rowCount; i++) for (let j = 0; j < cols; j++) out[j * rowCount + i] = t[(rowOffset + i) * cols + j];
  return out;
}

/**
 * Builds the Scan form of GRU node `n` and hands its outputs (Y, Y_h) over; the GRU node is
 * removed. A main-graph output keeps its name through `swaps` (see swapNodeIoNames: the caller
 * swaps the pairs, after which the old node's outputs are unused and go). Returns the MatMuls made.
 */
export function gruToScan(n: Node, nodeName: (hint: string) => string, swaps: [string, string][]): string[] {
  const g = n.graph;
  const F = DataType.FLOAT;
  const H = n.getInt('hidden_size', 0);
  const lbr = n.getInt('linear_before_reset', 0) === 1;
  const direction = n.getString('direction', 'forward');
  const dirs = direction === 'bidirectional' ? [0, 1] : [direction === 'reverse' ? 1 : 0];
  const wt = constTensor(n.input(1))!;
  const I = wt.dims[2];
  const W = wt.toFloat32();
  const R = constTensor(n.input(2))!.toFloat32();
  const Bt = n.input(3) ? constTensor(n.input(3))!.toFloat32() : new Float32Array(dirs.length * 6 * H);
  const base = n.name || n.output(0)?.name || 'gru';
  const x = n.input(0)!;
  const initialH = n.input(5);
  const matmuls: string[] = [];
  const before = { before: n };
  const op = (sg: Graph, opType: string, inputs: (Value | null)[], hint: string, attrs: Record<string, Attribute> = {}, outputs = 1): Node =>
    sg.addNode({ op: opType, inputs, attrs, outputs, name: sg === g ? nodeName(`${base}_${hint}`) : `${base}_${hint}` }, sg === g ? before : {});
  const int64 = (hint: string, v: number[]): Value => g.addConstant(`${base}_${hint}`, Tensor.from(DataType.INT64, [v.length], v));
  const floats = (sg: Graph, hint: string, dims: number[], v: Float32Array): Value => sg.addConstant(`${base}_${hint}`, Tensor.from(F, dims, v));

  // Zero initial state [B, H] when none is given (B read from X at run time).
  let zeros: Value | null = null;
  if (!initialH) {
    const batch = op(g, 'Gather', [op(g, 'Shape', [x], 'x_shape').output(0), int64('batch_index', [1])], 'batch');
    const shape = op(g, 'Concat', [batch.output(0), int64('hidden', [H])], 'h0_shape', { axis: attr.i(0) });
    zeros = op(g, 'ConstantOfShape', [shape.output(0)], 'h0', { value: attr.t(Tensor.from(F, [1], [0])) }).output(0);
  }
  const ys: Value[] = [];
  const hs: Value[] = [];
  for (const [k, d] of dirs.entries()) {
    const tag = dirs.length > 1 ? (d ? '_bw' : '_fw') : '';
    // Input projection for all steps: [T, B, I]·[I, 3H] + Wb.
    const wT = floats(g, `W${tag}_t`, [I, 3 * H], transposed(W.subarray(k * 3 * H * I, (k + 1) * 3 * H * I), 3 * H, I, 0, 3 * H));
    const proj = op(g, 'MatMul', [x, wT], `input_proj${tag}`);
    matmuls.push(proj.name);
    const bias = Bt.subarray(k * 6 * H, (k + 1) * 6 * H);
    const xw = op(g, 'Add', [proj.output(0), floats(g, `Wb${tag}`, [3 * H], bias.slice(0, 3 * H))], `xw${tag}`).output(0);
    const h0 = initialH ? op(g, 'Gather', [initialH, int64(`dir${tag}`, [k])], `h0${tag}`, { axis: attr.i(0) }).output(0) : zeros!;
    const h0flat = initialH ? op(g, 'Squeeze', [h0, int64(`axis0${tag}`, [0])], `h0_squeeze${tag}`).output(0) : h0;

    const Rk = R.subarray(k * 3 * H * H, (k + 1) * 3 * H * H);
    const body = new Graph(g);
    body.name = `${base}_step${tag}`;
    const h = body.addInput(`${base}_h${tag}`, tensorType(F, [null, H]));
    const xt = body.addInput(`${base}_xw_t${tag}`, tensorType(F, [null, 3 * H]));
    const split3 = body.addConstant(`${base}_split3${tag}`, Tensor.from(DataType.INT64, [3], [H, H, H]));
    const xs = op(body, 'Split', [xt, split3], `xw_split${tag}`, { axis: attr.i(1) }, 3);
    let z: Value, r: Value, nGate: Value;
    if (lbr) {
      const rAll = floats(g, `R${tag}_t`, [H, 3 * H], transposed(Rk, 3 * H, H, 0, 3 * H));
      const mm = op(body, 'MatMul', [h, rAll], `recurrence${tag}`);
      matmuls.push(mm.name);
      const hr = op(body, 'Add', [mm.output(0), floats(body, `Rb${tag}`, [3 * H], bias.slice(3 * H))], `hr${tag}`).output(0);
      const hsplit = op(body, 'Split', [hr, split3], `hr_split${tag}`, { axis: attr.i(1) }, 3);
      z = op(body, 'Sigmoid', [op(body, 'Add', [xs.output(0), hsplit.output(0)], `z_in${tag}`).output(0)], `z${tag}`).output(0);
      r = op(body, 'Sigmoid', [op(body, 'Add', [xs.output(1), hsplit.output(1)], `r_in${tag}`).output(0)], `r${tag}`).output(0);
      nGate = op(body, 'Mul', [r, hsplit.output(2)], `r_hn${tag}`).output(0);
    } else {
      const rZr = floats(g, `Rzr${tag}_t`, [H, 2 * H], transposed(Rk, 3 * H, H, 0, 2 * H));
      const rN = floats(g, `Rn${tag}_t`, [H, H], transposed(Rk, 3 * H, H, 2 * H, H));
      const mm = op(body, 'MatMul', [h, rZr], `recurrence_zr${tag}`);
      matmuls.push(mm.name);
      const hr = op(body, 'Add', [mm.output(0), floats(body, `Rb_zr${tag}`, [2 * H], bias.slice(3 * H, 5 * H))], `hr${tag}`).output(0);
      const split2 = body.addConstant(`${base}_split2${tag}`, Tensor.from(DataType.INT64, [2], [H, H]));
      const hsplit = op(body, 'Split', [hr, split2], `hr_split${tag}`, { axis: attr.i(1) }, 2);
      z = op(body, 'Sigmoid', [op(body, 'Add', [xs.output(0), hsplit.output(0)], `z_in${tag}`).output(0)], `z${tag}`).output(0);
      r = op(body, 'Sigmoid', [op(body, 'Add', [xs.output(1), hsplit.output(1)], `r_in${tag}`).output(0)], `r${tag}`).output(0);
      const rh = op(body, 'Mul', [r, h], `r_h${tag}`).output(0);
      rh.type = tensorType(F, [null, H]);
      const mmN = op(body, 'MatMul', [rh, rN], `recurrence_n${tag}`);
      matmuls.push(mmN.name);
      nGate = op(body, 'Add', [mmN.output(0), floats(body, `Rb_n${tag}`, [H], bias.slice(5 * H))], `hn${tag}`).output(0);
    }
    const nv = op(body, 'Tanh', [op(body, 'Add', [xs.output(2), nGate], `n_in${tag}`).output(0)], `n${tag}`).output(0);
    const hNew = op(body, 'Add', [nv, op(body, 'Mul', [z, op(body, 'Sub', [h, nv], `h_minus_n${tag}`).output(0)], `z_mix${tag}`).output(0)], `h_new${tag}`).output(0);
    const yOut = op(body, 'Identity', [hNew], `y${tag}`).output(0);
    hNew.type = tensorType(F, [null, H]);
    yOut.type = tensorType(F, [null, H]);
    body.addOutput(hNew);
    body.addOutput(yOut);
    const scan = op(g, 'Scan', [h0flat, xw], `scan${tag}`, {
      body: attr.g(body),
      num_scan_inputs: attr.i(1),
      ...(d ? { scan_input_directions: attr.ints([1]), scan_output_directions: attr.ints([1]) } : {}),
    }, 2);
    hs.push(op(g, 'Unsqueeze', [scan.output(0), int64(`ax0${tag}`, [0])], `y_h${tag}`).output(0)); // [1, B, H]
    ys.push(op(g, 'Unsqueeze', [scan.output(1), int64(`ax1${tag}`, [1])], `y_all${tag}`).output(0)); // [T, 1, B, H]
  }
  const y = ys.length > 1 ? op(g, 'Concat', ys, 'y', { axis: attr.i(1) }).output(0) : ys[0];
  const yh = hs.length > 1 ? op(g, 'Concat', hs, 'y_h', { axis: attr.i(0) }).output(0) : hs[0];
  let keep = false;
  for (const [i, v] of [y, yh].entries()) {
    const old = n.outputs[i];
    if (!old) continue;
    if (!old.isGraphOutput) {
      g.replaceAllUses(old, v);
      continue;
    }
    for (const u of [...old.uses]) u.node.graph.setInput(u.node, u.index, v);
    if (g.parent) {
      // Subgraph outputs bind by position: point the slot at the new value.
      v.type = old.type ?? old.inferred;
      g.outputs.forEach((o, j) => o === old && g.setOutput(j, v));
    } else {
      const out = op(g, 'Identity', [v], `out${i}`).output(0);
      swaps.push([old.name, out.name]);
      keep = true;
    }
  }
  if (!keep) g.removeNode(n);
  return matmuls;
}
