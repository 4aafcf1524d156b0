// DAIN's replaced CUDA layers, exported alone, run in onnxruntime-node against the plain-loop
// references of the kernels' semantics (training/dain/tests/reference.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadModel } from '../../src/onnx/read.js';
import { createSession, run } from '../../src/runtime/session.js';
import { dainCases, maxAbsDiff, readTensor } from './cases.js';

const FP32_ABS = 1e-4; // float32 graph vs float64 loops, values of order 1–10

const built = dainCases('ops');

for (const name of ['correlation', 'backward_warp', 'depth_flow_projection', 'filter_interpolation']) {
  test(`${name}: onnxruntime-node matches the plain-loop reference`, async (t) => {
    if (typeof built === 'string') return t.skip(built);
    const c = built.cases[name];
    assert.ok(c, `case ${name} was not generated`);
    const file = built.dir + c.model;
    const model = await loadModel(file);
    assert.ok((model.opset('') ?? 0) >= 16, `opset ${model.opset('')}`);
    const domains = new Set([...model.graph.allNodes()].map((n) => n.domain));
    assert.deepEqual([...domains], [''], 'only the default domain');
    const feeds = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, readTensor(built.dir, v)]));
    const s = await createSession(file, { threads: 1 });
    const out = await run(s, feeds, name);
    const want = readTensor(built.dir, c.outputs.out);
    const got = out[s.outputNames[0]];
    assert.deepEqual(got.dims, want.dims);
    const { err, at } = maxAbsDiff(got.data as Float32Array, want.data as Float32Array);
    assert.ok(err <= FP32_ABS, `max |diff| ${err} at ${at}: got ${(got.data as Float32Array)[at]}, want ${(want.data as Float32Array)[at]}`);
  });
}

test('depth_flow_projection is a ScatterElements(reduction=add) splat', async (t) => {
  if (typeof built === 'string') return t.skip(built);
  const model = await loadModel(built.dir + built.cases.depth_flow_projection.model);
  const scatters = [...model.graph.allNodes()].filter((n) => n.opType === 'ScatterElements');
  assert.equal(scatters.length, 1);
  assert.equal(scatters[0].getString('reduction'), 'add');
});

test('filter_interpolation gathers 16 taps without per-channel index copies', async (t) => {
  if (typeof built === 'string') return t.skip(built);
  const model = await loadModel(built.dir + built.cases.filter_interpolation.model);
  const ops = [...model.graph.allNodes()].map((n) => n.opType);
  assert.equal(ops.filter((o) => o === 'Gather').length >= 16, true);
  assert.equal(ops.includes('GatherElements'), false);
});
