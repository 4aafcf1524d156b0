// A real torch.onnx export with dynamic batch/height/width whose forward computes with the
// input's shape (test/fixtures/passes/dynamic_export.py). Given --input-shape, the optimizer
// must remove every shape-computation node (issue 3's target) and stay equivalent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/onnx/read.js';
import { optimizeModel } from '../../src/passes/index.js';

const REPO = new URL('../../', import.meta.url).pathname;
const SCRIPT = join(REPO, 'test/fixtures/passes/dynamic_export.py');
const OUT = join(REPO, '.cache/passes/dynamic_cnn.onnx');
const SHAPE_COMPUTATION = ['Shape', 'Size', 'Gather', 'Unsqueeze', 'Concat', 'Slice', 'Cast', 'Div', 'Constant', 'ConstantOfShape', 'Range'];

test('a dynamic-shape torch export given --input-shape loses all shape computation', async (t) => {
  if (!existsSync(OUT)) {
    if (spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) return t.skip('/usr/bin/python3 has no torch (apt-get install python3-torch)');
    mkdirSync(join(REPO, '.cache/passes'), { recursive: true });
    const r = spawnSync('/usr/bin/python3', [SCRIPT, OUT], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  const model = await loadModel(OUT);
  const before = [...model.graph.allNodes()].filter((n) => SHAPE_COMPUTATION.includes(n.opType)).length;
  assert.ok(before >= 20, `the export computes with shapes (${before} nodes)`);
  const { model: opt, report } = await optimizeModel(model, { inputShapes: { image: [2, 3, 32, 48] } });
  const left = [...opt.graph.allNodes()].filter((n) => SHAPE_COMPUTATION.includes(n.opType)).map(String);
  assert.deepEqual(left, []);
  assert.ok(report.verification?.ok);
  assert.deepEqual(opt.graph.inputs[0].shape, [2, 3, 32, 48]);
  // Without --input-shape the height/width stay dynamic: only what does not depend on them folds.
  const dyn = await optimizeModel(await loadModel(OUT), { verify: false });
  assert.ok(dyn.model.graph.nodes.some((n) => n.opType === 'Shape'));
});
