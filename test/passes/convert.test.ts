// The convert-* passes: structural, differential (onnxruntime) and negative tests per pass.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType } from '../../src/ir/dtype.js';
import type { ModelBuilder } from '../../src/ir/builder.js';
import type { Dim } from '../../src/ir/graph.js';
import { decodeModel } from '../../src/onnx/read.js';
import { encodeModel } from '../../src/onnx/write.js';
import { compareModels, formatComparison, makeFeeds } from '../../src/passes/check.js';
import { optimizeModel } from '../../src/passes/index.js';
import { apply, assertUnchanged, build, count, type PassRun } from './helpers.js';

const F = DataType.FLOAT;
const PASS = 'convert-gridsample-to-deformconv';
/** The rewrite reproduces onnxruntime's sample points; what is left is the order of the bilinear
 *  weights' arithmetic (measured 1.8e-7 on random images up to 1920×1080). */
const WARP_ABS = 1e-6;

/** X[n,c,h,w] warped by grid = 1.3 · input (so that samples fall outside the frame too). */
function warpModel(opts: { c?: number; h?: Dim; w?: Dim; gh?: number; gw?: number; mode?: string; pad?: string; ac?: number; opset?: number } = {}) {
  const { c = 3, h = 20, w = 28, mode = 'bilinear', pad = 'zeros', ac = 0, opset = 19 } = opts;
  return build((b: ModelBuilder) => {
    const x = b.input('x', F, [1, c, h, w]);
    const g = b.input('g', F, [1, opts.gh ?? h, opts.gw ?? w, 2]);
    const grid = b.op('Mul', [g, b.floats('k', [1], [1.3])]);
    b.output(b.op('GridSample', [x, grid], { mode, padding_mode: pad, align_corners: ac }, { output: 'y' }), F);
  }, opset);
}

async function assertWarpEquivalent(run: PassRun, inputShapes?: Record<string, number[]>): Promise<void> {
  const feeds = makeFeeds(decodeModel(run.before), { seed: 7, inputShapes });
  const r = await compareModels(run.before, run.after, feeds);
  assert.ok(r.ok, r.outputs.map(formatComparison).join('\n'));
  assert.ok(r.outputs[0].maxAbs <= WARP_ABS, `max abs ${r.outputs[0].maxAbs} > ${WARP_ABS}`);
}

describe(PASS, () => {
  for (const pad of ['zeros', 'border']) {
    for (const ac of [0, 1]) {
      test(`${pad}_padding_align_corners_${ac}`, async () => {
        const m = warpModel({ pad, ac });
        const r = apply(m, PASS);
        assert.equal(count(m, 'GridSample'), 0);
        const dc = [...m.graph.allNodes()].filter((n) => n.opType === 'DeformConv');
        assert.equal(dc.length, 1);
        assert.equal(dc[0].getInt('group'), 3, 'depthwise: one group per channel');
        assert.equal(dc[0].getInt('offset_group'), 1, 'all channels share the offsets');
        assert.deepEqual(dc[0].getInts('kernel_shape'), [1, 1]);
        assert.equal(dc[0].output(0).name, 'y', 'the graph output keeps its name');
        assert.equal(count(m, 'Max') + count(m, 'Min'), pad === 'border' ? 2 : 0, 'border padding clamps the sample points');
        await assertWarpEquivalent(r);
      });
    }
  }

  test('linear_mode_at_opset_20_and_one_channel', async () => {
    const m = warpModel({ mode: 'linear', c: 1, opset: 20 });
    const r = apply(m, PASS);
    assert.equal(count(m, 'DeformConv'), 1);
    await assertWarpEquivalent(r);
  });

  test('dynamic_size_converts_once_the_input_shape_is_fixed', async () => {
    const dyn = () => warpModel({ h: 'H', w: 'W', gh: undefined, gw: undefined });
    const r0 = apply(dyn(), PASS);
    assertUnchanged(r0);
    assert.match(r0.notes[0].reason, /not static 4-D \(give --input-shape\)/);
    const shapes = { x: [1, 3, 12, 16], g: [1, 12, 16, 2] };
    const m = dyn();
    const r = apply(m, PASS, { inputShapes: shapes });
    assert.equal(count(m, 'DeformConv'), 1);
    await assertWarpEquivalent(r, shapes);
  });

  const keep: [string, Parameters<typeof warpModel>[0], RegExp][] = [
    ['opset_below_19', { opset: 17 }, /opset 17 has no DeformConv/],
    ['nearest_mode', { mode: 'nearest' }, /mode is nearest/],
    ['reflection_padding', { pad: 'reflection' }, /padding_mode is reflection/],
    ['grid_of_another_size', { gh: 10, gw: 14 }, /does not sample the input's own 20×28 grid/],
  ];
  for (const [name, opts, why] of keep) {
    test(`keep_gridsample_when_${name}`, () => {
      const r = apply(warpModel(opts), PASS);
      assertUnchanged(r);
      assert.match(r.notes[0].reason, why);
    });
  }

  test('rife_style_warp_in_the_default_pipeline', async () => {
    // RIFE's warp: a constant base grid plus the flow scaled to [-1, 1], border padding,
    // align_corners 1; two warps of the two frames by the same flow share one offset chain.
    const [h, w] = [24, 32];
    const m = build((b) => {
      const img0 = b.input('img0', F, [1, 3, h, w]);
      const img1 = b.input('img1', F, [1, 3, h, w]);
      const flow = b.input('flow', F, [1, 2, h, w]);
      const base: number[] = [];
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) base.push((2 * j) / (w - 1) - 1, (2 * i) / (h - 1) - 1);
      const scaled = b.op('Mul', [flow, b.floats('to_unit', [1, 2, 1, 1], [16 / ((w - 1) / 2), 16 / ((h - 1) / 2)])]);
      const grid = b.op('Add', [b.floats('base', [1, h, w, 2], base), b.op('Transpose', [scaled], { perm: [0, 2, 3, 1] })]);
      const attrs = { mode: 'bilinear', padding_mode: 'border', align_corners: 1 };
      b.output(b.op('GridSample', [img0, grid], attrs, { output: 'w0' }), F);
      b.output(b.op('GridSample', [img1, grid], attrs, { output: 'w1' }), F);
    }, 19);
    const { model, report } = await optimizeModel(encodeModel(m));
    assert.ok(report.verification?.ok, 'the optimizer proved the result on onnxruntime');
    const after = decodeModel(model);
    assert.equal(count(after, 'GridSample'), 0);
    assert.equal(count(after, 'DeformConv'), 2);
    assert.equal(count(after, 'Gather'), 1, 'common-subexpression elimination shares the offsets');
  });
});
