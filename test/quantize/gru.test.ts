// GRU → MatMul + Scan (gru.ts): the float rewrite must compute what onnxruntime's GRU computes,
// for every form it accepts; dynamic INT8 then quantizes its MatMuls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelBuilder } from '../../src/ir/builder.js';
import { DataType } from '../../src/ir/dtype.js';
import type { Model } from '../../src/ir/graph.js';
import { Tensor } from '../../src/ir/tensor.js';
import { verify } from '../../src/ir/verify.js';
import { encodeModel } from '../../src/onnx/write.js';
import { rng } from '../../src/quantize/calibrate.js';
import { compareOutputs } from '../../src/quantize/evaluate.js';
import { nodeNamer } from '../../src/quantize/graph-util.js';
import { GRU_MIN_HIDDEN, gruProblem, gruToScan } from '../../src/quantize/gru.js';
import { quantizeModel } from '../../src/quantize/index.js';
import { swapNodeIoNames } from '../../src/quantize/graph-util.js';
import { ort } from '../../src/runtime/session.js';
import { INT8_DYNAMIC_SQNR_MIN_DB } from './tolerances.js';

/** The float Scan form vs onnxruntime's GRU: float32 rounding only. */
const SCAN_FORM_MAX_ABS = 1e-5;

interface GruCase { direction: 'forward' | 'reverse' | 'bidirectional'; lbr: 0 | 1; initialH: boolean; bias: boolean; T?: number; B?: number; I?: number; H?: number; seed?: number }

function gruNet(c: GruCase): Model {
  const [T, B, I, H] = [c.T ?? 5, c.B ?? 3, c.I ?? 6, c.H ?? 4];
  const D = c.direction === 'bidirectional' ? 2 : 1;
  const r = rng(c.seed ?? 1);
  const rand = (dims: number[], s: number): Tensor => Tensor.from(DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (r() - 0.5) * 2 * s));
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', DataType.FLOAT, [T, B, I]);
  const inputs = [x, b.constant('W', rand([D, 3 * H, I], 1.5 / Math.sqrt(I))), b.constant('R', rand([D, 3 * H, H], 1.5 / Math.sqrt(H))), c.bias ? b.constant('B', rand([D, 6 * H], 0.3)) : null, null, c.initialH ? b.input('h0', DataType.FLOAT, [D, B, H]) : null];
  while (inputs[inputs.length - 1] === null) inputs.pop();
  const [y, yh] = b.node('GRU', inputs, { hidden_size: H, direction: c.direction, linear_before_reset: c.lbr }, { outputs: ['y', 'y_h'], name: 'gru' });
  b.output(y);
  b.output(yh);
  return b.build();
}

function samples(m: Model, n: number): Record<string, ort.Tensor>[] {
  const r = rng(42);
  return Array.from({ length: n }, () => Object.fromEntries(m.graph.inputs.map((v) => {
    const dims = v.tensorType!.shape as number[];
    return [v.name, new ort.Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1), dims)];
  })));
}

function rewrite(m: Model): Model {
  const gru = m.graph.nodes.find((n) => n.opType === 'GRU')!;
  const swaps: [string, string][] = [];
  gruToScan(gru, nodeNamer(m.graph), swaps);
  const out = swapNodeIoNames(m, swaps);
  for (const n of [...out.graph.nodes].reverse()) if (n.opType === 'GRU' && n.outputs.every((v) => !v || !v.uses.length)) out.graph.removeNode(n);
  return out;
}

const CASES: GruCase[] = [
  { direction: 'forward', lbr: 1, initialH: false, bias: true },
  { direction: 'forward', lbr: 0, initialH: true, bias: true },
  { direction: 'reverse', lbr: 0, initialH: false, bias: false },
  { direction: 'reverse', lbr: 1, initialH: true, bias: true },
  { direction: 'bidirectional', lbr: 0, initialH: true, bias: true },
  { direction: 'bidirectional', lbr: 1, initialH: false, bias: true, T: 1, B: 1 },
];

for (const c of CASES) {
  test(`GRU → Scan, ${c.direction}, linear_before_reset=${c.lbr}, ${c.initialH ? 'initial_h' : 'zero state'}${c.bias ? '' : ', no bias'}: Y and Y_h match onnxruntime's GRU`, async () => {
    const orig = gruNet(c);
    const m = rewrite(gruNet(c));
    assert.deepEqual(verify(m), []);
    assert.equal(m.graph.nodes.filter((n) => n.opType === 'GRU').length, 0);
    assert.equal(m.graph.nodes.filter((n) => n.opType === 'Scan').length, c.direction === 'bidirectional' ? 2 : 1);
    assert.deepEqual(m.graph.outputs.map((v) => v.name), ['y', 'y_h'], 'graph outputs keep their names');
    const errs = await compareOutputs(encodeModel(orig), encodeModel(m), samples(orig, 3));
    for (const e of errs) assert.ok(e.maxAbs <= SCAN_FORM_MAX_ABS, `${e.name}: max abs ${e.maxAbs}`);
  });
}

test('GRU forms the Scan rewrite refuses, with the reason: sequence_lens, clip, small hidden size', () => {
  const withSeq = gruNet({ direction: 'forward', lbr: 1, initialH: false, bias: true, H: 512 });
  const gru = withSeq.graph.nodes.find((n) => n.opType === 'GRU')!;
  assert.equal(gruProblem(gru), null);
  withSeq.graph.setInput(gru, 4, withSeq.graph.addConstant('lens', Tensor.from(DataType.INT32, [3], [5, 4, 2])));
  assert.match(gruProblem(gru)!, /sequence_lens/);
  const clipped = gruNet({ direction: 'forward', lbr: 1, initialH: false, bias: true, H: 512 });
  clipped.graph.nodes.find((n) => n.opType === 'GRU')!.attributes.set('clip', { type: 'float', value: 3 });
  assert.match(gruProblem(clipped.graph.nodes.find((n) => n.opType === 'GRU')!)!, /clips/);
  const small = gruNet({ direction: 'forward', lbr: 1, initialH: false, bias: true, H: GRU_MIN_HIDDEN - 1 });
  assert.match(gruProblem(small.graph.nodes.find((n) => n.opType === 'GRU')!)!, /no integer GRU kernel.*slower/);
});

test(`dynamic INT8 on a GRU with hidden size ${GRU_MIN_HIDDEN}: rewritten as MatMul + Scan, its MatMuls fused to integer kernels, outputs keep their names`, async () => {
  const c: GruCase = { direction: 'bidirectional', lbr: 0, initialH: false, bias: true, T: 8, B: 1, I: 64, H: GRU_MIN_HIDDEN };
  const { model, report } = await quantizeModel(gruNet(c), { mode: 'int8-dynamic', speedRuns: 0 });
  assert.deepEqual(verify(model), []);
  assert.equal(model.graph.nodes.filter((n) => n.opType === 'GRU').length, 0);
  assert.deepEqual(model.graph.outputs.map((v) => v.name), ['y', 'y_h']);
  // per direction: the input projection and two recurrence MatMuls (linear_before_reset = 0)
  assert.equal(report.quantizedNodes.length, 6, JSON.stringify(report.quantizedNodes));
  const ints = report.ort.integerOps;
  assert.equal((ints.DynamicQuantizeMatMul ?? 0) + (ints.MatMulIntegerToFloat ?? 0) + (ints.MatMulInteger ?? 0), 6, JSON.stringify(ints));
  assert.ok(report.notes.some((n) => /GRU 'gru' rewritten as MatMul \+ Scan/.test(n)), JSON.stringify(report.notes));
  for (const o of report.outputs) assert.ok(o.sqnr > INT8_DYNAMIC_SQNR_MIN_DB, `${o.name}: SQNR ${o.sqnr}`);
  console.log(`# GRU H=${GRU_MIN_HIDDEN} INT8 SQNR: ${report.outputs.map((o) => `${o.name} ${o.sqnr.toFixed(1)} dB`).join(', ')}`);
});
