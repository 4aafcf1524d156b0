import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { verify } from '../../src/ir/verify.js';
import { attr } from '../../src/ir/builder.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { rng } from '../../src/quantize/calibrate.js';
import { quantizeLstmWeight } from '../../src/quantize/dynamic.js';
import { quantizeModel } from '../../src/quantize/index.js';
import { x86WithoutVnni } from '../../src/quantize/qdq.js';
import type { Model } from '../../src/ir/graph.js';
import { branchyNet, branchySamples, mlpAttention, recurrentNet, resnetTiny, warpNet } from './models.js';
import { INT8_DYNAMIC_SQNR_MIN_DB } from './tolerances.js';

test('dynamic INT8: constant-weight MatMuls become DynamicQuantizeMatMul / MatMulIntegerToFloat in onnxruntime', async () => {
  const { model, report } = await quantizeModel(mlpAttention(), { mode: 'int8-dynamic', speedRuns: 0 });
  assert.deepEqual(verify(model), []);
  assert.deepEqual(report.quantizedNodes, ['q_proj', 'k_proj', 'v_proj', 'ff1', 'ff2']);
  const ints = report.ort.integerOps;
  assert.equal((ints.DynamicQuantizeMatMul ?? 0) + (ints.MatMulIntegerToFloat ?? 0), 5, JSON.stringify(ints));
  assert.ok(report.keptFloat.some((k) => k.node === 'scores' && /both inputs are activations/.test(k.reason)));
  assert.equal(model.graph.outputs[0].name, 'features', 'the graph output keeps its name');
  assert.ok(report.outputs[0].sqnr > INT8_DYNAMIC_SQNR_MIN_DB, `SQNR ${report.outputs[0].sqnr}`);
});

test('dynamic INT8 on a conv net says ConvInteger is slow and points to static mode', async () => {
  await assert.rejects(quantizeModel(warpNet(), { mode: 'int8-dynamic', speedRuns: 0 }), (e: Error) => e instanceof UsageError && /ConvInteger/.test(e.message) && /--mode int8/.test(e.message));
});

test('dynamic INT8 on a conv net with an FC head quantizes the head and warns about the convs', async () => {
  const { report } = await quantizeModel(resnetTiny(), { mode: 'int8-dynamic', speedRuns: 0 });
  assert.deepEqual(report.quantizedNodes, ['fc']);
  assert.ok(report.warnings.some((w) => /Conv node\(s\) stay float/.test(w)));
  assert.ok(report.keptFloat.filter((k) => k.op === 'Conv').every((k) => /ConvInteger/.test(k.reason)));
});

test('dynamic INT8: LSTM becomes DynamicQuantizeLSTM (bidirectional, peepholes, initial state); GRU stays float with the reason', async () => {
  const { model, report } = await quantizeModel(recurrentNet(), { mode: 'int8-dynamic', speedRuns: 0 });
  assert.deepEqual(verify(model), []);
  assert.deepEqual([...report.quantizedNodes].sort(), ['encoder', 'head']);
  const lstm = model.graph.nodes.find((n) => n.name === 'encoder')!;
  assert.equal(`${lstm.domain}.${lstm.opType}`, 'com.microsoft.DynamicQuantizeLSTM');
  assert.equal(lstm.inputs.length, 12);
  assert.deepEqual(lstm.input(1)!.initializer!.dims, [2, 24, 128], 'W stored [D, input, 4H]');
  assert.deepEqual(lstm.input(10)!.initializer!.dims, [2, 128], 'R scale per direction and gate column');
  assert.equal(lstm.attributes.get('direction')?.type, 'string');
  assert.equal(model.opset('com.microsoft'), 1);
  assert.equal(report.ort.integerOps.DynamicQuantizeLSTM, 1, JSON.stringify(report.ort.integerOps));
  const gru = report.keptFloat.find((k) => k.node === 'decoder');
  assert.ok(gru && /no integer GRU kernel/.test(gru.reason), JSON.stringify(report.keptFloat));
  assert.ok(!model.graph.initializers.some((v) => v.initializer!.dataType === DataType.FLOAT && v.initializer!.dims.join() === '2,128,24'), 'the float W is gone');
  assert.ok(report.outputs[0].sqnr > INT8_DYNAMIC_SQNR_MIN_DB, `SQNR ${report.outputs[0].sqnr}`);
});

test('dynamic INT8: LSTM weight layout — transposed to [D, K, 4H], one symmetric scale per gate column, error ≤ half a step', () => {
  const r = rng(4);
  const [D, G, K] = [2, 8, 5];
  const w = Float32Array.from({ length: D * G * K }, () => r() * 2 - 1);
  w[3] = 0; // a row with a zero still scales by its max
  for (let k = 0; k < K; k++) w[(1 * G + 2) * K + k] = 0; // an all-zero column gets scale 1, values 0
  const q = quantizeLstmWeight(Tensor.from(DataType.FLOAT, [D, G, K], w));
  assert.deepEqual(q.data.dims, [D, K, G]);
  const data = q.data.toFloat32();
  const s = q.scales.toFloat32();
  assert.equal(s[1 * G + 2], 1);
  for (let d = 0; d < D; d++)
    for (let j = 0; j < G; j++)
      for (let k = 0; k < K; k++) {
        const orig = w[(d * G + j) * K + k];
        const back = data[(d * K + k) * G + j] * s[d * G + j];
        assert.ok(Math.abs(orig - back) <= s[d * G + j] / 2 + 1e-7, `d${d} j${j} k${k}: ${orig} vs ${back}`);
      }
  assert.ok([...q.zeroPoints.toFloat32()].every((z) => z === 0));
});

test('dynamic INT8: an LSTM with non-default activations stays float with the reason', async () => {
  const m = recurrentNet({ gru: false });
  const lstm = m.graph.nodes.find((n) => n.name === 'encoder')!;
  lstm.attributes.set('activations', attr.strings(['Sigmoid', 'Tanh', 'Tanh', 'HardSigmoid', 'Tanh', 'Tanh']));
  const { report } = await quantizeModel(m, { mode: 'int8-dynamic', speedRuns: 0 });
  assert.deepEqual(report.quantizedNodes, ['head']);
  assert.ok(report.keptFloat.some((k) => k.node === 'encoder' && /non-default activations/.test(k.reason)), JSON.stringify(report.keptFloat));
});

test('dynamic INT8 inside subgraphs: MatMuls in both If branches (outer-scope and branch-local weights) are quantized and fused', async () => {
  const { model, report } = await quantizeModel(branchyNet(), { mode: 'int8-dynamic', calib: { kind: 'given', samples: branchySamples() }, speedRuns: 0 });
  assert.deepEqual(verify(model), []);
  assert.deepEqual(report.quantizedNodes, ['stem', 'then_proj', 'else_proj']);
  assert.equal(report.ort.integerOps.DynamicQuantizeMatMul, 3, JSON.stringify(report.ort.integerOps));
  const ifNode = model.graph.nodes.find((n) => n.opType === 'If')!;
  const [thenG, elseG] = ifNode.subgraphs();
  assert.ok(thenG.nodes.some((n) => n.opType === 'MatMulInteger' && n.input(1)!.graph === model.graph), 'the outer weight is quantized in the outer graph');
  assert.ok(elseG.nodes.some((n) => n.opType === 'MatMulInteger' && n.input(1)!.graph === elseG), "the branch's own weight is quantized in the branch");
  assert.ok(!elseG.initializers.some((v) => v.name === 'else_w'), 'the float branch weight is gone');
  assert.ok(report.outputs[0].sqnr > INT8_DYNAMIC_SQNR_MIN_DB, `SQNR ${report.outputs[0].sqnr}`);
});

test('dynamic INT8 weight width: 7 bits by default where this x86 CPU has no VNNI (its u8×s8 kernels saturate), 8 when asked', async () => {
  const auto = await quantizeModel(mlpAttention(), { mode: 'int8-dynamic', speedRuns: 0 });
  const eight = await quantizeModel(mlpAttention(), { mode: 'int8-dynamic', weightBits: 8, speedRuns: 0 });
  const max = (m: Model): number => Math.max(...m.graph.initializers.filter((v) => v.initializer!.dataType === DataType.INT8).flatMap((v) => [...v.initializer!.toFloat32()].map(Math.abs)));
  assert.equal(max(eight.model), 127);
  assert.equal(auto.report.calibration?.weightBits, x86WithoutVnni() ? 7 : 8);
  assert.equal(max(auto.model), x86WithoutVnni() ? 63 : 127);
  if (x86WithoutVnni()) {
    assert.ok(auto.report.notes.some((n) => /7-bit/.test(n) && /VNNI/.test(n)), JSON.stringify(auto.report.notes));
    assert.ok(auto.report.outputs[0].sqnr > eight.report.outputs[0].sqnr + 3, `7-bit ${auto.report.outputs[0].sqnr} vs 8-bit ${eight.report.outputs[0].sqnr}`);
  }
});
