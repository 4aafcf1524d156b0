import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { verify } from '../../src/ir/verify.js';
import { quantizeModel } from '../../src/quantize/index.js';
import { mlpAttention, resnetTiny, warpNet } from './models.js';
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
