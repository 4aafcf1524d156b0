// Before: X[N,C,H,W], grid[N,H,W,2] → GridSample(bilinear, zeros|border) → Y[N,C,H,W]
// After:  grid → Transpose(0,3,1,2) → Gather [1, 0] on axis 1 ((x, y) → (y, x)) → Add 1 → Mul
//         scale [→ Add −0.5] [→ Max 0 → Min (H−1, W−1)] → Add −row → Add −column = offsets[N,2,H,W];
//         DeformConv(X, ones[C,1,1,1], offsets; 1×1, group = C, offset_group = 1) → Y
// Preconditions: default-domain opset ≥ 19 (DeformConv); mode bilinear (linear at opset 20);
//   padding zeros or border; X float32 with static C, H, W; the grid's spatial size equals X's
//   (a 1×1 DeformConv samples on the input grid) — that is the warp of a flow-based interpolator.
// Formula: GridSample samples X at p = ((g + 1)/2)·(S − 1) (align_corners = 1) or ((g + 1)·S − 1)/2
//   (align_corners = 0) per axis, bilinear, out-of-range neighbours 0. A 1×1 DeformConv with weight 1
//   per channel samples X at (i, j) + offset the same way (bilinear, zeros outside), so
//   offset = p − (i, j). Border padding clamps p into [0, S − 1] first; the sample is then always in
//   range and zeros never show. Why: onnxruntime's CPU GridSample parallelises over the channels of
//   one image only, its DeformConv over all planes (`npm run bench -- warp`: 0.25–0.86× the time).
import { DataType } from '../ir/dtype.js';
import type { Node, Value } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { toAttributes } from '../ir/builder.js';
import { nodePass } from './types.js';
import { isOp, retarget, staticShape } from './util.js';

interface M {
  node: Node;
  x: Value;
  grid: Value;
  c: number;
  h: number;
  w: number;
  alignCorners: boolean;
  border: boolean;
}

export default nodePass<M>({
  name: 'convert-gridsample-to-deformconv',
  kind: 'convert',
  summary: 'run same-size bilinear GridSample warps as 1×1 depthwise DeformConv (opset ≥ 19)',
  oneRun: true,
  needsShapes: true,
  match(ctx, n) {
    if (!isOp(n, 'GridSample')) return null;
    const x = n.input(0), grid = n.input(1);
    const xs = staticShape(x)?.slice(1), gs = staticShape(grid)?.slice(1);
    const mode = n.getString('mode', 'bilinear'), pad = n.getString('padding_mode', 'zeros');
    const why =
      ctx.opset < 19 ? `the model's opset ${ctx.opset} has no DeformConv (it needs 19; re-export at opset ≥ 19)` :
      mode !== 'bilinear' && mode !== 'linear' ? `mode is ${mode} (only bilinear maps onto DeformConv)` :
      pad !== 'zeros' && pad !== 'border' ? `padding_mode is ${pad} (only zeros and border)` :
      x?.elemType !== DataType.FLOAT ? 'the input is not float32' :
      !xs || xs.length !== 3 || !gs || gs.length !== 3 ? 'the input and grid shapes are not static 4-D (give --input-shape)' :
      gs[0] !== xs[1] || gs[1] !== xs[2] || gs[2] !== 2 ? `the grid [${gs.join(',')}] does not sample the input's own ${xs[1]}×${xs[2]} grid` : null;
    if (why) {
      ctx.note(n, `not converted to DeformConv because ${why}`);
      return null;
    }
    return { node: n, x: x!, grid: grid!, c: xs![0], h: xs![1], w: xs![2], alignCorners: n.getInt('align_corners', 0) === 1, border: pad === 'border' };
  },
  rewrite(ctx, m) {
    const g = ctx.graph;
    const name = m.node.name || 'gridsample';
    const before = { before: m.node };
    const add = (op: string, inputs: Value[], attrs = {}): Value =>
      g.addNode({ op, inputs, attrs: toAttributes(attrs) }, before).output(0);
    const f32 = (hint: string, dims: number[], v: ArrayLike<number>): Value => g.addConstant(`${name}_${hint}`, Tensor.from(DataType.FLOAT, dims, v));
    const { h, w } = m;
    // [N,H,W,(x,y)] → [N,(y,x),H,W] first (a Transpose, then a Gather that swaps the planes), so
    // that every constant below broadcasts over whole rows or planes (onnxruntime broadcasts a
    // trailing dim of 2 element by element: 6–7 ms per op at 640×480).
    const t = add('Transpose', [m.grid], { perm: [0, 3, 1, 2] });
    let p = add('Gather', [t, g.addConstant(`${name}_yx`, Tensor.from(DataType.INT64, [2], [1, 0]))], { axis: 1 });
    // Computed in onnxruntime's order so the sample points come out bit for bit: align_corners = 1:
    // p = (g + 1)·(S − 1)/2; 0: p = (g + 1)·S/2 − 0.5 (the same single roundings as
    // ((g + 1)/2)·(S − 1) and ((g + 1)·S − 1)/2).
    p = add('Add', [p, f32('one', [1], [1])]);
    p = add('Mul', [p, f32('scale', [2, 1, 1], m.alignCorners ? [(h - 1) / 2, (w - 1) / 2] : [h / 2, w / 2])]);
    if (!m.alignCorners) p = add('Add', [p, f32('half', [1], [-0.5])]);
    if (m.border) {
      p = add('Max', [p, f32('lo', [1], [0])]);
      p = add('Min', [p, f32('hi', [2, 1, 1], [h - 1, w - 1])]);
    }
    // offset = p − (i, j), and DeformConv adds (i, j) back (measured: the samples match to 1.8e-7)
    const rows = new Float32Array(2 * h), cols = new Float32Array(2 * w);
    for (let i = 0; i < h; i++) rows[i] = -i;
    for (let j = 0; j < w; j++) cols[w + j] = -j;
    p = add('Add', [p, f32('minus_row', [2, h, 1], rows)]);
    const offsets = add('Add', [p, f32('minus_col', [2, 1, w], cols)]);
    const ones = f32('ones', [m.c, 1, 1, 1], new Float32Array(m.c).fill(1));
    retarget(g, m.node, {
      op: 'DeformConv',
      inputs: [m.x, ones, offsets],
      attrs: Object.entries(toAttributes({ group: m.c, offset_group: 1, kernel_shape: [1, 1], pads: [0, 0, 0, 0], strides: [1, 1], dilations: [1, 1] })),
    });
  },
});
