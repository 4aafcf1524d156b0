// Whole DAIN (random weights, scaled so every stage shows in the output) saved as a state dict,
// converted by training/dain/convert.py at a small frame size (128×96, padded inside the graph
// to 192×128 as DAIN pads), then run in onnxruntime-node against PyTorch's output.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadModel } from '../../src/onnx/read.js';
import { detectAdapter } from '../../src/vfi/adapter.js';
import { readMetadataProps } from '../../src/onnx/metadata.js';
import { createSession, run } from '../../src/runtime/session.js';
import { kiln } from '../helpers/cli.js';
import { dainCases, maxAbsDiff, readTensor, type Cases } from './cases.js';

// PyTorch vs onnxruntime through ~100 convolutions, two depth-weighted splats and 32 gathers:
// float32 reassociation differences; measured ≈1e-5, 1e-3 leaves room for other CPUs.
const FP32_ABS = 1e-3;

let built: Cases | string | undefined;
const cases = (): Cases | string => (built ??= dainCases('model', [], 1_800_000));

test('convert.py output: default domain, opset >= 16, frame I/O, DAIN metadata', { timeout: 1_900_000 }, async (t) => {
  const c = cases();
  if (typeof c === 'string') return t.skip(c);
  const model = await loadModel(c.dir + c.cases.dain.model);
  assert.ok((model.opset('') ?? 0) >= 16);
  assert.deepEqual([...model.opsetImports.keys()], ['']);
  assert.deepEqual([...new Set([...model.graph.allNodes()].map((n) => n.domain))], ['']);
  assert.deepEqual(model.graph.inputs.map((v) => [v.name, v.shape]), [['frame0', [1, 3, 96, 128]], ['frame1', [1, 3, 96, 128]]]);
  assert.deepEqual(model.graph.outputs.map((v) => [v.name, v.shape]), [['frame_t', [1, 3, 96, 128]]]);
  const ops = new Set([...model.graph.allNodes()].map((n) => n.opType));
  for (const op of ['ScatterElements', 'GridSample', 'Gather', 'GatherElements', 'Conv', 'ConvTranspose']) assert.ok(ops.has(op), op);
});

test('onnxruntime-node reproduces PyTorch on structured frames', { timeout: 1_900_000 }, async (t) => {
  const c = cases();
  if (typeof c === 'string') return t.skip(c);
  const d = c.cases.dain;
  assert.ok((d as unknown as { unsaturated: number }).unsaturated > 0.5, 'test output mostly clamped: the case would not test the warps');
  const s = await createSession(c.dir + d.model, { threads: 2 });
  const feeds = Object.fromEntries(Object.entries(d.inputs).map(([k, v]) => [k, readTensor(c.dir, v)]));
  const out = await run(s, feeds, 'dain');
  const got = out.frame_t.data as Float32Array;
  const want = readTensor(c.dir, d.outputs.frame_t).data as Float32Array;
  const { err, at } = maxAbsDiff(got, want);
  assert.ok(err <= FP32_ABS, `max |diff| ${err} at ${at}: ort ${got[at]}, torch ${want[at]}`);
  // and the output is not just one of the inputs
  const f0 = feeds.frame0.data as Float32Array;
  assert.ok(maxAbsDiff(got, f0).err > 0.01);
});

test('kiln inspect reports DAIN parameters and MACs', { timeout: 1_900_000 }, async (t) => {
  const c = cases();
  if (typeof c === 'string') return t.skip(c);
  const r = kiln(['inspect', c.dir + c.cases.dain.model, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { parameters: { byType: Record<string, { count: number }> }; cost: { macs: number; unresolved: string[] } };
  const torchParams = c.cases.dain.params ?? 0;
  const floats = j.parameters.byType.float32.count;
  // batch norm folds into the convolutions on export, so a few thousand statistics vanish
  assert.ok(Math.abs(floats - torchParams) / torchParams < 0.001, `${floats} float32 parameters in the graph vs ${torchParams} in PyTorch`);
  assert.deepEqual(j.cost.unresolved, [], 'every Conv has a resolved shape');
  assert.ok(j.cost.macs > 1e9, `${j.cost.macs} MACs`);
});

test('kiln interpolate feeds the export through its pair adapter (fixed size, t = 0.5)', { timeout: 1_900_000 }, async (t) => {
  const c = cases();
  if (typeof c === 'string') return t.skip(c);
  const file = c.dir + c.cases.dain.model;
  const s = await createSession(file, { threads: 1 });
  const sig = { inputs: s.inputMetadata, outputs: s.outputMetadata, metadata: readMetadataProps(file) };
  const a = detectAdapter(sig, file);
  assert.equal(a.kind, 'pair');
  assert.deepEqual(a.fixed, { h: 96, w: 128 });
  assert.equal(a.fixedT, true);
  assert.equal(a.outputName, 'frame_t');
  await s.release();
});
