import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType } from '../../src/ir/dtype.js';
import { ModelBuilder } from '../../src/ir/builder.js';
import { Tensor } from '../../src/ir/tensor.js';
import type { Model } from '../../src/ir/graph.js';
import { verify } from '../../src/ir/verify.js';
import { encodeModel } from '../../src/onnx/write.js';
import { collectRanges, loadSamples, rng } from '../../src/quantize/calibrate.js';
import { compareOutputs, integerOps, optimizedOps } from '../../src/quantize/evaluate.js';
import { optimizeModel } from '../../src/passes/index.js';
import { cloneModel, probeTypes } from '../../src/quantize/graph-util.js';
import { activationParams, applyQdq, planQdq, quantizeBias, quantizeWeight } from '../../src/quantize/qdq.js';
import { quantizeModel } from '../../src/quantize/index.js';
import { branchyNet, resnetTiny, warpNet, mlpAttention } from './models.js';
import { INT8_SQNR_MIN_DB } from './tolerances.js';

test('activation parameters: uint8 asymmetric holds 0 exactly, int8 symmetric has zero point 0', () => {
  const u = activationParams({ min: -1, max: 3 }, 'uint8');
  assert.ok(Math.abs(u.scale - 4 / 255) < 1e-12);
  assert.equal(u.zeroPoint, 64);
  assert.equal(activationParams({ min: 0.5, max: 2 }, 'uint8').zeroPoint, 0, 'a positive range is widened to hold 0');
  const s = activationParams({ min: -1, max: 3 }, 'int8');
  assert.deepEqual(s, { scale: 3 / 127, zeroPoint: 0 });
  assert.deepEqual(activationParams({ min: 0, max: 0 }, 'uint8'), { scale: 1, zeroPoint: 0 });
});

test('weights: symmetric int8 per output channel; bias int32 at s_x·s_w', () => {
  const w = Tensor.from(DataType.FLOAT, [2, 1, 1, 2], [0.5, -1, 10, 2.5]);
  const q = quantizeWeight(w, 0);
  assert.deepEqual([...q.scales.toFloat32()].map((x) => +x.toFixed(6)), [+(1 / 127).toFixed(6), +(10 / 127).toFixed(6)]);
  assert.deepEqual(q.data.toNumbers(), [64, -127, 127, 32]);
  assert.deepEqual(q.zeroPoints.toNumbers(), [0, 0]);
  const warnings: string[] = [];
  const b = quantizeBias(Tensor.from(DataType.FLOAT, [2], [0.1, -1]), 0.02, q.scales.toFloat32(), 'conv', warnings);
  assert.deepEqual(b.data.toNumbers(), [Math.round(0.1 / (0.02 / 127)), Math.round(-1 / (0.02 * 10 / 127))]);
  assert.equal(warnings.length, 0);
});

test('quantizeModel runs kiln\'s optimizer first: BatchNormalization is folded before weights are quantized', async () => {
  const { model, report } = await quantizeModel(resnetTiny(), { mode: 'int8', calib: { kind: 'random', count: 8 }, speedRuns: 0 });
  assert.equal(report.foldedBatchNorm, 6);
  assert.equal(model.graph.nodes.filter((n) => n.opType === 'BatchNormalization').length, 0);
  assert.ok(report.notes.some((n) => /fuse-conv-bn ×6/.test(n)), report.notes.join('\n'));
});

test('resnet_tiny: every conv, the residual adds, pooling and the FC run as integer kernels in onnxruntime', async () => {
  const fp32 = encodeModel(resnetTiny());
  const m = (await optimizeModel(resnetTiny(), { verify: false })).model;
  const { samples } = await loadSamples(m, { kind: 'random', count: 8 });
  const info = await probeTypes(m, samples[0]);
  const plan = planQdq(m, info, { activations: 'uint8' });
  assert.deepEqual(plan.quantized.map((n) => n.opType).sort(), ['Add', 'Add', 'Conv', 'Conv', 'Conv', 'Conv', 'Conv', 'Conv', 'Gemm', 'GlobalAveragePool']);
  assert.equal(plan.absorbed.length, 5, 'every Relu after a quantized op is left to ReluQuantFusion');
  assert.equal(plan.tensors.get('pool_out'), plan.tensors.get(m.graph.ownValue('pool_out')!.producer!.input(0)!.name), 'MaxPool shares its input scale');
  assert.deepEqual(plan.kept, []);
  const ranges = await collectRanges(m, samples.slice(0, 6), [...new Set(plan.tensors.values())], { calibrator: 'minmax' });
  const q = applyQdq(m, plan, ranges, 'uint8');
  assert.deepEqual(verify(q), []);
  assert.equal(q.graph.inputs[0].name, 'image');
  assert.equal(q.graph.outputs[0].name, 'logits');
  const ops = await optimizedOps(encodeModel(q));
  const ints = integerOps(ops);
  assert.equal(ints.QLinearConv, 6);
  assert.equal(ints.QGemm, 1);
  assert.equal(ints.QLinearAdd, 2);
  assert.ok(![...ops.keys()].some((k) => /(^|\.)(Conv|FusedConv|Gemm)$/.test(k)), `float conv left: ${[...ops.keys()].join(' ')}`);
  assert.equal(ops.get('QuantizeLinear'), 1, 'only the input is quantized at run time');
  const [e] = await compareOutputs(fp32, encodeModel(q), samples.slice(6));
  assert.ok(e.sqnr > INT8_SQNR_MIN_DB, `SQNR ${e.sqnr.toFixed(1)} dB < ${INT8_SQNR_MIN_DB}`);
});

test('warp_net: GridSample, PRelu and the blend stay float with reasons; convs fuse; no Q/DQ on the float tail', async () => {
  const m = warpNet();
  const { samples } = await loadSamples(m, { kind: 'random', count: 4 });
  const info = await probeTypes(m, samples[0]);
  const plan = planQdq(m, info, { activations: 'uint8' });
  assert.deepEqual(plan.quantized.map((n) => n.name), ['enc1', 'enc2', 'head']);
  const why = new Map(plan.kept.map((k) => [k.node, k.reason]));
  assert.match(why.get('warp')!, /GridSample has no integer kernel/);
  assert.match(why.get('cat')!, /is a float graph input/);
  assert.match(why.get('blend')!, /runs in float/);
  for (const name of ['frame0', 'frame1', 'middle', 'warp_out', 'grid_out']) assert.ok(!plan.tensors.has(name), `${name} must not get Q/DQ`);
  const excluded = planQdq(m, info, { activations: 'uint8', excludeNodes: new Set(['enc2']) });
  assert.deepEqual(excluded.quantized.map((n) => n.name), ['enc1', 'head']);
  assert.match(excluded.kept.find((k) => k.node === 'enc2')!.reason, /excluded/);
});

test('negative: a Conv whose weights are computed, not constant, is not quantized and the reason says so', async () => {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', DataType.FLOAT, [1, 2, 8, 8]);
  const w = b.op('Mul', [b.floats('w', [2, 2, 1, 1], [1, 0, 0, 1]), b.floats('k', [], [2])]);
  b.output(b.op('Conv', [x, w], {}, { name: 'dynconv', output: 'y' }));
  const m = b.build();
  const { samples } = await loadSamples(m, { kind: 'random', count: 1 });
  const plan = planQdq(m, await probeTypes(m, samples[0]), { activations: 'uint8' });
  assert.equal(plan.quantized.length, 0);
  assert.equal(plan.tensors.size, 0);
  assert.match(plan.kept.find((k) => k.node === 'dynconv')!.reason, /not a float32 constant/);
});

test('int8 activations measured against uint8: uint8 fuses more convs and is no less accurate (why uint8 is the default)', async () => {
  const res = {} as Record<string, { sqnr: number; fused: number }>;
  for (const act of ['uint8', 'int8'] as const) {
    const { report } = await quantizeModel(resnetTiny(), { mode: 'int8', activations: act, calib: { kind: 'random', count: 10 }, speedRuns: 0 });
    res[act] = { sqnr: report.outputs[0].sqnr, fused: report.ort.integerOps.QLinearConv ?? 0 };
  }
  assert.ok(res.uint8.fused > res.int8.fused, JSON.stringify(res));
  assert.ok(res.uint8.sqnr > res.int8.sqnr - 1, JSON.stringify(res));
});

test('MatMul nets: constant-weight and activation×activation MatMuls fuse to QLinearMatMul', async () => {
  const { report } = await quantizeModel(mlpAttention(), { mode: 'int8', calib: { kind: 'random', count: 10 }, speedRuns: 0 });
  assert.equal(report.ort.integerOps.QLinearMatMul, 7);
  assert.ok(report.outputs[0].sqnr > INT8_SQNR_MIN_DB, `SQNR ${report.outputs[0].sqnr}`);
});

test('MatMul weight scales: per column (--matmul-scales column) fuses too, one scale per output column, and keeps small columns that one scale wipes out', async () => {
  // y = x·W with one outlier weight (W[0,0] = 30, the rest ±0.15): one scale for W rounds most weights to 0;
  // outputs 'big' (column 0) and 'small' (the other columns).
  const r = rng(8);
  const [K, N] = [64, 32];
  const w = Float32Array.from({ length: K * N }, () => (r() - 0.5) * 0.3);
  w[0] = 30;
  const build = (): Model => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', DataType.FLOAT, [1, 16, K]);
    const y = b.op('MatMul', [x, b.constant('w', Tensor.from(DataType.FLOAT, [K, N], w))], {}, { name: 'proj' });
    const part = (name: string, from: number, to: number) => b.output(b.op('Slice', [y, b.ints(`${name}_s`, [from]), b.ints(`${name}_e`, [to]), b.ints(`${name}_a`, [2])], {}, { output: name }));
    part('big', 0, 1);
    part('small', 1, N);
    return b.build();
  };
  const { samples } = await loadSamples(build(), { kind: 'random', count: 6, seed: 77 } as never);
  const res = {} as Record<string, { small: number; smallFused7: number; fused: number; scales: number }>;
  for (const matmulScales of ['tensor', 'column'] as const) {
    const { model, report } = await quantizeModel(build(), { mode: 'int8', matmulScales, calib: { kind: 'random', count: 10 }, speedRuns: 0 });
    const dq = model.graph.nodes.find((n) => n.opType === 'DequantizeLinear' && n.outputs[0]!.uses.some((u) => u.node.name === 'proj') && n.input(0)!.initializer)!;
    if (matmulScales === 'column') assert.equal(dq.getInt('axis', -99), 1);
    // What the model computes (no fusion), and what the fused kernel computes with 7-bit weights (no u8×s8 saturation on any x86).
    const exact = await compareOutputs(encodeModel(build()), encodeModel(model), samples, { optLevel: 'disabled' });
    const q7 = await quantizeModel(build(), { mode: 'int8', matmulScales, weightBits: 7, calib: { kind: 'random', count: 10 }, speedRuns: 0 });
    const fused7 = await compareOutputs(encodeModel(build()), encodeModel(q7.model), samples);
    const exact7 = await compareOutputs(encodeModel(build()), encodeModel(q7.model), samples, { optLevel: 'disabled' });
    assert.ok(Math.abs(fused7[1].sqnr - exact7[1].sqnr) < 0.5, `${matmulScales}: 7-bit fused ${fused7[1].sqnr} vs exact ${exact7[1].sqnr}`);
    res[matmulScales] = { small: exact[1].sqnr, smallFused7: fused7[1].sqnr, fused: report.ort.integerOps.QLinearMatMul ?? 0, scales: dq.input(1)!.initializer!.size };
  }
  assert.deepEqual([res.tensor.fused, res.column.fused], [1, 1], JSON.stringify(res));
  assert.deepEqual([res.tensor.scales, res.column.scales], [1, N], JSON.stringify(res));
  assert.ok(res.column.small > res.tensor.small + 15, JSON.stringify(res));
  console.log(`# small-column SQNR: per tensor ${res.tensor.small.toFixed(1)} dB, per column ${res.column.small.toFixed(1)} dB`);
});

test('--matmul-scales other than tensor/column is refused', async () => {
  await assert.rejects(quantizeModel(mlpAttention(), { mode: 'int8', matmulScales: 'row' as never, speedRuns: 0 }), /'tensor' or 'column'/);
});

test('Concat of quantized branches fuses to QLinearConcat; ConvTranspose (not fused by onnxruntime) gets no Q/DQ', async () => {
  const { rng } = await import('../../src/quantize/calibrate.js');
  const r = rng(1);
  const W = (d: number[]): Tensor => Tensor.from(DataType.FLOAT, d, Float32Array.from({ length: d.reduce((a, c) => a * c, 1) }, () => (r() - 0.5) * 0.5));
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', DataType.FLOAT, [1, 4, 16, 16]);
  const a1 = b.op('Relu', [b.op('Conv', [x, b.constant('w1', W([8, 4, 3, 3]))], { pads: [1, 1, 1, 1] }, { name: 'c1' })]);
  const a2 = b.op('Relu', [b.op('Conv', [x, b.constant('w2', W([8, 4, 3, 3]))], { pads: [1, 1, 1, 1] }, { name: 'c2' })]);
  const cat = b.op('Concat', [a1, a2], { axis: 1 }, { name: 'cat' });
  const c3 = b.op('Relu', [b.op('Conv', [cat, b.constant('w3', W([8, 16, 3, 3]))], { pads: [1, 1, 1, 1] }, { name: 'c3' })]);
  const up = b.op('ConvTranspose', [c3, b.constant('wt', W([8, 4, 2, 2])), b.constant('bt', W([4]))], { strides: [2, 2] }, { name: 'up', output: 'y' });
  b.output(up);
  const { report, model } = await quantizeModel(b.build(), { mode: 'int8', calib: { kind: 'random', count: 8 }, speedRuns: 0 });
  assert.deepEqual(report.quantizedNodes, ['c1', 'c2', 'cat', 'c3']);
  assert.equal(report.ort.integerOps.QLinearConcat, 1);
  assert.equal(report.ort.integerOps.QLinearConv, 3);
  assert.match(report.keptFloat.find((k) => k.node === 'up')!.reason, /does not fuse QDQ ConvTranspose/);
  const upNode = model.graph.nodes.find((n) => n.opType === 'ConvTranspose')!;
  assert.equal(upNode.input(1)!.initializer?.dataType, DataType.FLOAT, 'its weights stay float');
  assert.deepEqual(report.warnings.filter((w) => /fused/.test(w)), [], 'every quantized layer was fused');
});

test('7-bit weights run exactly in the fused kernel; on x86 without VNNI 8-bit weights saturate (what the report notes)', async (t) => {
  const { existsSync } = await import('node:fs');
  const photos = '/usr/share/backgrounds/mate/nature';
  if (!existsSync(photos)) return t.skip(`${photos} absent (Debian mate-backgrounds)`);
  const { weightBitsNote } = await import('../../src/quantize/qdq.js');
  const { Evaluator } = await import('../../src/quantize/evaluate.js');
  const m = (await optimizeModel(resnetTiny({ size: 64 }), { verify: false })).model;
  const set = await loadSamples(m, { kind: 'images', dir: photos, count: 8, preprocess: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } });
  const info = await probeTypes(m, set.samples[0]);
  const plan = planQdq(cloneModel(m), info, { activations: 'uint8' });
  const ranges = await collectRanges(m, set.samples.slice(0, 6), [...new Set(plan.tensors.values())], { calibrator: 'minmax' });
  const fused = await Evaluator.create(encodeModel(m), set.samples.slice(6));
  const exact = await Evaluator.create(encodeModel(m), set.samples.slice(6), { optLevel: 'disabled' });
  const sqnr = async (bits: 7 | 8): Promise<[number, number]> => {
    const c = cloneModel(m);
    const b = encodeModel(applyQdq(c, planQdq(c, info, { activations: 'uint8' }), ranges, 'uint8', [], { bits }));
    return [(await fused.score(b))[0].sqnr, (await exact.score(b))[0].sqnr];
  };
  const [f7, e7] = await sqnr(7);
  const [f8, e8] = await sqnr(8);
  t.diagnostic(`7-bit: fused ${f7.toFixed(2)} dB, unfused ${e7.toFixed(2)} dB; 8-bit: fused ${f8.toFixed(2)} dB, unfused ${e8.toFixed(2)} dB`);
  assert.ok(Math.abs(f7 - e7) < 0.5, 'no saturation with 7-bit weights');
  if (weightBitsNote(8, true)) assert.ok(f8 < e8 - 1, `this CPU has no VNNI: 8-bit weights should lose > 1 dB to saturation (fused ${f8.toFixed(2)}, exact ${e8.toFixed(2)})`);
  else assert.ok(Math.abs(f8 - e8) < 0.5, 'with VNNI 8-bit weights run exactly');
});

test('7-bit weights use ±63', () => {
  const q = quantizeWeight(Tensor.from(DataType.FLOAT, [1, 2], [1, -0.25]), null, 63);
  assert.deepEqual(q.data.toNumbers(), [63, -16]);
});

test('layers sharing one weight and bias initializer get their own int32 bias and uniquely named nodes', async () => {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', DataType.FLOAT, [1, 4, 8, 8]);
  const w = b.floats('shared_w', [4, 4, 1, 1], Array.from({ length: 16 }, (_, i) => ((i * 7) % 5) / 5 - 0.4));
  const bias = b.floats('shared_b', [4], [0.1, -0.2, 0.3, 0]);
  const y1 = b.op('Relu', [b.op('Conv', [x, w, bias], {}, { name: 'a' })]);
  const y2 = b.op('Conv', [y1, w, bias], {}, { name: 'b', output: 'y' });
  b.output(y2);
  const m = b.build();
  for (const mode of ['int8', 'fp16'] as const) {
    const { model, report } = await quantizeModel(m, { mode, calib: { kind: 'random', count: 4 }, speedRuns: 0 });
    const names = model.graph.nodes.map((n) => n.name);
    assert.equal(new Set(names).size, names.length, `${mode}: duplicate node names ${names.join(' ')}`);
    if (mode === 'int8') {
      assert.equal(report.ort.integerOps.QLinearConv, 2);
      const biasDq = model.graph.nodes.filter((n) => n.opType === 'DequantizeLinear' && n.input(0)!.initializer?.dataType === DataType.INT32);
      assert.equal(biasDq.length, 2, 'one int32 bias per input scale');
    }
  }
});

test('static INT8 with control flow: the If stays float with the reason (and the pointer to dynamic mode); the rest is quantized and runs', async () => {
  const { model, report } = await quantizeModel(branchyNet(), { mode: 'int8', calib: { kind: 'random', count: 10 }, speedRuns: 0 });
  assert.deepEqual(verify(model), []);
  assert.deepEqual(report.quantizedNodes, ['stem']);
  const kept = report.keptFloat.find((k) => k.op === 'If');
  assert.ok(kept && /control flow/.test(kept.reason) && /2 MatMul\/Gemm\/Conv inside/.test(kept.reason) && /int8-dynamic/.test(kept.reason), JSON.stringify(report.keptFloat));
  assert.equal(report.ort.integerOps.QLinearMatMul, 1);
  assert.ok(report.outputs[0].sqnr > INT8_SQNR_MIN_DB, `SQNR ${report.outputs[0].sqnr}`);
});
