import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType } from '../../src/ir/dtype.js';
import { ModelBuilder } from '../../src/ir/builder.js';
import { Tensor } from '../../src/ir/tensor.js';
import { verify } from '../../src/ir/verify.js';
import { encodeModel } from '../../src/onnx/write.js';
import { loadSamples } from '../../src/quantize/calibrate.js';
import { compareOutputs } from '../../src/quantize/evaluate.js';
import { convertFp16 } from '../../src/quantize/fp16.js';
import { probeTypes } from '../../src/quantize/graph-util.js';
import { quantizeModel } from '../../src/quantize/index.js';
import { createSession, run } from '../../src/runtime/session.js';
import { branchyNet, branchySamples, warpNet, resnetTiny } from './models.js';
import { FP16_SQNR_MIN_DB } from './tolerances.js';

test('fp16 with keep-io-types: float32 I/O, float16 weights and activations inside, error within FP16 tolerance', async () => {
  const m = warpNet();
  const fp32 = encodeModel(m);
  const { samples } = await loadSamples(m, { kind: 'random', count: 3 });
  const info = await probeTypes(m, samples[0]);
  const r = convertFp16(m, info, { keepIoTypes: true });
  assert.deepEqual(verify(r.model), []);
  const g = r.model.graph;
  assert.deepEqual(g.inputs.map((v) => [v.name, v.elemType]), [['frame0', DataType.FLOAT], ['frame1', DataType.FLOAT]]);
  assert.deepEqual(g.outputs.map((v) => [v.name, v.elemType]), [['middle', DataType.FLOAT]]);
  assert.equal(g.outputs[0].producer!.opType, 'Cast', 'the graph output keeps its name behind a Cast to float32');
  const floatInits = g.initializers.filter((v) => v.initializer!.dataType === DataType.FLOAT);
  assert.deepEqual(floatInits.map((v) => v.name), [], 'no float32 weight is left');
  assert.ok(g.initializers.some((v) => v.initializer!.dataType === DataType.FLOAT16));
  for (const n of g.nodes) if (n.opType === 'Cast') assert.ok([DataType.FLOAT, DataType.FLOAT16].includes(n.getInt('to')!), `${n} casts to ${n.getInt('to')}`);
  const [e] = await compareOutputs(fp32, encodeModel(r.model), samples);
  assert.ok(e.sqnr > FP16_SQNR_MIN_DB, `SQNR ${e.sqnr.toFixed(1)} dB`);
});

test('fp16 without keep-io-types: inputs and outputs become float16 and onnxruntime runs it', async () => {
  const m = resnetTiny();
  const { samples } = await loadSamples(m, { kind: 'random', count: 1 });
  const r = convertFp16(m, await probeTypes(m, samples[0]), {});
  assert.equal(r.model.graph.inputs[0].elemType, DataType.FLOAT16);
  assert.equal(r.model.graph.outputs[0].elemType, DataType.FLOAT16);
  const s = await createSession(encodeModel(r.model));
  const x = samples[0].image.data as Float32Array;
  const { ort } = await import('../../src/runtime/session.js');
  const h = Tensor.from(DataType.FLOAT16, [...samples[0].image.dims], x);
  const out = await run(s, { image: new ort.Tensor('float16', h.view() as Uint16Array, [...samples[0].image.dims]) });
  assert.equal(out.logits.type, 'float16');
  await s.release();
});

test('values beyond the float16 range are reported and kept float32, never clamped', async () => {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', DataType.FLOAT, [1, 4]);
  const big = b.op('Mul', [x, b.floats('huge', [4], [1e5, 1, 1, 1])], {}, { name: 'scale_up' });
  const small = b.op('Mul', [big, b.floats('tiny', [4], [1e-5, 1, 1, 1])], {}, { name: 'scale_down', output: 'y' });
  b.output(small);
  const m = b.build();
  const fp32 = encodeModel(m);
  const { report, model } = await quantizeModel(m, { mode: 'fp16', keepIoTypes: true, speedRuns: 0 });
  assert.ok(report.fp16!.outOfRange.some((o) => o.tensor === 'huge' && o.where === 'constant'), JSON.stringify(report.fp16));
  assert.ok(report.fp16!.outOfRange.some((o) => o.tensor === 'scale_up_out' && o.where === 'activation'), JSON.stringify(report.fp16));
  assert.ok(report.keptFloat.some((k) => k.node === 'scale_up'));
  assert.ok(report.warnings.some((w) => /beyond float16/.test(w)));
  assert.equal(model.graph.initializers.find((v) => v.name === 'huge')!.initializer!.dataType, DataType.FLOAT);
  const { samples } = await loadSamples(m, { kind: 'random', count: 2 });
  const [e] = await compareOutputs(fp32, encodeModel(model), samples);
  assert.equal(e.nonFinite, 0);
  assert.ok(e.sqnr > FP16_SQNR_MIN_DB, `SQNR ${e.sqnr}`);
});

test('Resize scales stay float32 in fp16 mode (the spec fixes their type)', async () => {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', DataType.FLOAT, [1, 1, 4, 4]);
  const y = b.op('Resize', [b.op('Relu', [x]), null, b.floats('scales', [4], [1, 1, 2, 2])], { mode: 'linear' }, { output: 'y' });
  b.output(y);
  const m = b.build();
  const { samples } = await loadSamples(m, { kind: 'random', count: 1 });
  const r = convertFp16(m, await probeTypes(m, samples[0]), { keepIoTypes: true });
  const resize = r.model.graph.nodes.find((n) => n.opType === 'Resize')!;
  assert.equal(resize.input(2)!.initializer!.dataType, DataType.FLOAT);
  assert.equal(resize.input(0)!.producer!.opType, 'Relu');
  const s = await createSession(encodeModel(r.model));
  const out = await run(s, samples[0]);
  assert.deepEqual(out.y.dims, [1, 1, 8, 8]);
  await s.release();
});

test('FP16 with control flow: the If and its branches stay float32, the rest is float16, outer float16 values are cast back for the branches', async () => {
  const { model, report } = await quantizeModel(branchyNet(), { mode: 'fp16', keepIoTypes: true, calib: { kind: 'given', samples: branchySamples() }, speedRuns: 0 });
  assert.deepEqual(verify(model), []);
  assert.ok(report.keptFloat.some((k) => k.op === 'If' && /control flow/.test(k.reason)), JSON.stringify(report.keptFloat));
  const stem = model.graph.nodes.find((n) => n.name === 'stem')!;
  assert.equal(stem.input(1)!.initializer!.dataType, DataType.FLOAT16);
  const [thenG] = model.graph.nodes.find((n) => n.opType === 'If')!.subgraphs();
  const read = thenG.nodes.find((n) => n.opType === 'MatMul')!.input(0)!;
  assert.equal(read.producer?.opType, 'Cast', 'the branch reads the float16 activation through a Cast to float32');
  assert.equal(read.producer?.getInt('to'), DataType.FLOAT);
  assert.ok(report.outputs[0].sqnr > FP16_SQNR_MIN_DB, `SQNR ${report.outputs[0].sqnr}`);
});
