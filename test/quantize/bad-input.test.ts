import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType } from '../../src/ir/dtype.js';
import { ModelBuilder } from '../../src/ir/builder.js';
import { ModelError, UsageError } from '../../src/errors.js';
import { quantizeModel } from '../../src/quantize/index.js';
import { ort } from '../../src/runtime/session.js';
import { branchyNet, resnetTiny, warpNet } from './models.js';

const random = { kind: 'random' as const, count: 4 };

test('an already quantized model is refused (its own output quantized again)', async () => {
  const { model } = await quantizeModel(resnetTiny(), { mode: 'int8', calib: random, speedRuns: 0 });
  for (const mode of ['int8', 'fp16', 'int8-dynamic'] as const)
    await assert.rejects(quantizeModel(model, { mode, calib: random, speedRuns: 0 }), (e: Error) => e instanceof ModelError && /already quantized \((QuantizeLinear|DequantizeLinear)/.test(e.message));
});

test('an FP16 model is refused for FP16 (already float16) and for INT8 (quantize from FP32)', async () => {
  const { model } = await quantizeModel(resnetTiny(), { mode: 'fp16', speedRuns: 0 });
  await assert.rejects(quantizeModel(model, { mode: 'fp16', speedRuns: 0 }), /already float16/);
  await assert.rejects(quantizeModel(model, { mode: 'int8', calib: random, speedRuns: 0 }), /float16 weights; quantize from the FP32 model/);
});

test('a model without float weights is refused', async () => {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', DataType.FLOAT, [1, 4]);
  b.output(b.op('Relu', [b.op('Add', [x, x])], {}, { output: 'y' }));
  await assert.rejects(quantizeModel(b.build(), { mode: 'int8', calib: random, speedRuns: 0 }), (e: Error) => e instanceof ModelError && /no float32 weights/.test(e.message));
});

test('unknown op or node names in --exclude are errors naming what exists', async () => {
  await assert.rejects(quantizeModel(warpNet(), { mode: 'int8', calib: random, exclude: ['op:GridSampel'], speedRuns: 0 }), (e: Error) => e instanceof UsageError && /no GridSampel node/.test(e.message) && /GridSample/.test(e.message));
  await assert.rejects(quantizeModel(warpNet(), { mode: 'int8', calib: random, exclude: ['node:enc9'], speedRuns: 0 }), /no node named 'enc9'/);
  await assert.rejects(quantizeModel(warpNet(), { mode: 'int8', calib: random, exclude: ['GridSample'], speedRuns: 0 }), /op:TYPE or node:NAME/);
  const { report } = await quantizeModel(warpNet(), { mode: 'int8', calib: random, exclude: ['op:GridSample,node:enc2'], speedRuns: 0 });
  assert.ok(report.keptFloat.some((k) => k.node === 'enc2' && /excluded/.test(k.reason)));
  // a trailing * keeps every node whose name starts with the prefix float (a sub-network)
  const prefixed = await quantizeModel(warpNet(), { mode: 'int8', calib: random, exclude: ['node:enc*'], speedRuns: 0 });
  for (const n of ['enc1', 'enc2']) assert.ok(prefixed.report.keptFloat.some((k) => k.node === n && /excluded/.test(k.reason)), n);
  assert.ok(prefixed.report.quantizedNodes.includes('head'));
  await assert.rejects(quantizeModel(warpNet(), { mode: 'int8', calib: random, exclude: ['node:dec*'], speedRuns: 0 }), /no node name in .* starts with 'dec'/);
});

test('calibration samples of the wrong shape, or none, are errors', async () => {
  const wrong = [{ image: new ort.Tensor('float32', new Float32Array(3 * 8 * 8), [1, 3, 8, 8]) }];
  await assert.rejects(quantizeModel(resnetTiny(), { mode: 'int8', calib: { kind: 'given', samples: wrong }, speedRuns: 0 }), /sample 0: input 'image' has shape \[1,3,8,8\]/);
  await assert.rejects(quantizeModel(resnetTiny(), { mode: 'int8', calib: { kind: 'given', samples: [] }, speedRuns: 0 }), /count 0/);
  await assert.rejects(quantizeModel(resnetTiny(), { mode: 'int8', calib: { kind: 'given', samples: [{}] }, speedRuns: 0 }), /no tensor for input 'image'/);
});

test('a sample whose tensor has the wrong element type for an input (float for a bool If condition) is an error naming both', async () => {
  const bad = [{ x: new ort.Tensor('float32', new Float32Array(128), [4, 32]), use_then: new ort.Tensor('float32', new Float32Array(1), []) }];
  await assert.rejects(quantizeModel(branchyNet(), { mode: 'int8-dynamic', calib: { kind: 'given', samples: bad }, speedRuns: 0 }), /sample 0: input 'use_then' is float32, the model wants bool/);
});

test('an input of a type kiln cannot feed (string) is refused with the type named', async () => {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', DataType.FLOAT, [1, 4]);
  b.input('label', DataType.STRING, [1]);
  b.output(b.op('MatMul', [x, b.floats('w', [4, 4], new Float32Array(16).fill(0.5))]));
  await assert.rejects(quantizeModel(b.build(), { mode: 'int8-dynamic', speedRuns: 0 }), (e: Error) => e instanceof UsageError && /input 'label' is string/.test(e.message));
});
