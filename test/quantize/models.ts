// Small models for the quantizer tests, built in TypeScript (no Python start-up): a ResNet-like
// classifier, a two-frame warping net shaped like a VFI model, an MLP with attention-style
// MatMuls, and a net with one deliberately sensitive layer. Weights are seeded and scaled
// (He initialisation) so activations stay in a realistic range.
import { DataType } from '../../src/ir/dtype.js';
import { attr, ModelBuilder } from '../../src/ir/builder.js';
import { Graph, tensorType, type Model, type Value } from '../../src/ir/graph.js';
import { Tensor } from '../../src/ir/tensor.js';
import { rng } from '../../src/quantize/calibrate.js';
import { ort } from '../../src/runtime/session.js';

function gauss(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

class Net {
  readonly b = new ModelBuilder({ opset: 17 });
  private readonly r: () => number;
  private k = 0;
  constructor(seed: number) {
    this.r = rng(seed);
  }
  weights(dims: number[], fanIn: number, gain = 1): Value {
    const n = dims.reduce((a, c) => a * c, 1);
    const s = gain * Math.sqrt(2 / fanIn);
    return this.b.constant(`w${this.k++}`, Tensor.from(DataType.FLOAT, dims, Float32Array.from({ length: n }, () => gauss(this.r) * s)));
  }
  vec(n: number, scale = 0.1, offset = 0): Value {
    return this.b.constant(`b${this.k++}`, Tensor.from(DataType.FLOAT, [n], Float32Array.from({ length: n }, () => offset + gauss(this.r) * scale)));
  }
  conv(x: Value, cin: number, cout: number, k: number, opts: { stride?: number; name?: string; gain?: number; bias?: boolean } = {}): Value {
    const w = this.weights([cout, cin, k, k], cin * k * k, opts.gain);
    const p = (k - 1) >> 1;
    const inputs = opts.bias === false ? [x, w] : [x, w, this.vec(cout)];
    return this.b.op('Conv', inputs, { pads: [p, p, p, p], strides: [opts.stride ?? 1, opts.stride ?? 1], kernel_shape: [k, k] }, { name: opts.name });
  }
  bn(x: Value, c: number, name?: string): Value {
    const pos = (v: Value): Value => v;
    return this.b.op('BatchNormalization', [x, pos(this.vec(c, 0.1, 1)), this.vec(c, 0.1), this.vec(c, 0.1), this.b.constant(`var${this.k++}`, Tensor.from(DataType.FLOAT, [c], Float32Array.from({ length: c }, () => 0.5 + this.r())))], { epsilon: 1e-5 }, { name });
  }
  relu(x: Value): Value {
    return this.b.op('Relu', [x]);
  }
}

/** ResNet-like: conv-bn-relu stem, maxpool, two residual blocks (one strided), GAP, FC. */
export function resnetTiny(opts: { classes?: number; size?: number; seed?: number } = {}): Model {
  const n = new Net(opts.seed ?? 11);
  const s = opts.size ?? 32;
  const x = n.b.input('image', DataType.FLOAT, ['batch', 3, s, s]);
  let h = n.relu(n.bn(n.conv(x, 3, 16, 3, { name: 'stem', bias: false }), 16, 'stem_bn'));
  h = n.b.op('MaxPool', [h], { kernel_shape: [2, 2], strides: [2, 2] }, { name: 'pool' });
  const block = (inp: Value, cin: number, cout: number, stride: number, name: string): Value => {
    let y = n.relu(n.bn(n.conv(inp, cin, cout, 3, { stride, name: `${name}_conv1`, bias: false }), cout));
    y = n.bn(n.conv(y, cout, cout, 3, { name: `${name}_conv2`, bias: false, gain: 0.5 }), cout);
    const skip = stride === 1 && cin === cout ? inp : n.bn(n.conv(inp, cin, cout, 1, { stride, name: `${name}_down`, bias: false }), cout);
    return n.relu(n.b.op('Add', [y, skip], {}, { name: `${name}_add` }));
  };
  h = block(h, 16, 16, 1, 'b1');
  h = block(h, 16, 32, 2, 'b2');
  h = n.b.op('GlobalAveragePool', [h], {}, { name: 'gap' });
  h = n.b.op('Flatten', [h], { axis: 1 });
  const classes = opts.classes ?? 10;
  const fc = n.b.op('Gemm', [h, n.weights([classes, 32], 32), n.vec(classes)], { transB: 1 }, { name: 'fc', output: 'logits' });
  n.b.output(fc);
  const m = n.b.build();
  m.source = 'resnet_tiny';
  return m;
}

/**
 * Two-frame warping net like a small VFI model: concat(frames) → convs with PReLU → flow
 * (2 channels, scaled) → GridSample warps frame0 → sigmoid mask blends warped frame0 and frame1.
 */
export function warpNet(opts: { size?: [number, number]; seed?: number } = {}): Model {
  const n = new Net(opts.seed ?? 5);
  const [w, h] = opts.size ?? [32, 24];
  const b = n.b;
  const f0 = b.input('frame0', DataType.FLOAT, [1, 3, h, w]);
  const f1 = b.input('frame1', DataType.FLOAT, [1, 3, h, w]);
  const cat = b.op('Concat', [f0, f1], { axis: 1 }, { name: 'cat' });
  const prelu = (x: Value, c: number): Value => b.op('PRelu', [x, b.constant(`slope${c}`, Tensor.from(DataType.FLOAT, [c, 1, 1], new Float32Array(c).fill(0.2)))]);
  let y = prelu(n.conv(cat, 6, 16, 3, { name: 'enc1' }), 16);
  y = prelu(n.conv(y, 16, 16, 3, { name: 'enc2' }), 16);
  const head = n.conv(y, 16, 3, 3, { name: 'head', gain: 0.3 });
  const flow = b.op('Slice', [head, b.ints('s0', [0]), b.ints('s1', [2]), b.ints('s2', [1])], {}, { name: 'flow_slice' });
  const mask = b.op('Sigmoid', [b.op('Slice', [head, b.ints('m0', [2]), b.ints('m1', [3]), b.ints('m2', [1])], {}, { name: 'mask_slice' })], {}, { name: 'mask' });
  // base grid + flow*0.1 (normalised coordinates), NHWC for GridSample
  const gx = new Float32Array(h * w * 2);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    gx[(i * w + j) * 2] = (2 * j + 1) / w - 1;
    gx[(i * w + j) * 2 + 1] = (2 * i + 1) / h - 1;
  }
  const base = b.constant('base_grid', Tensor.from(DataType.FLOAT, [1, h, w, 2], gx));
  const ft = b.op('Transpose', [flow], { perm: [0, 2, 3, 1] });
  const grid = b.op('Add', [base, b.op('Mul', [ft, b.constant('flow_scale', Tensor.scalar(DataType.FLOAT, 0.1))])], {}, { name: 'grid' });
  const warped = b.op('GridSample', [f0, grid], { align_corners: 0, mode: 'bilinear', padding_mode: 'border' }, { name: 'warp' });
  const one = b.constant('one', Tensor.scalar(DataType.FLOAT, 1));
  const out = b.op('Add', [b.op('Mul', [warped, mask]), b.op('Mul', [f1, b.op('Sub', [one, mask])])], {}, { name: 'blend', output: 'middle' });
  b.output(out);
  const m = b.build();
  m.source = 'warp_net';
  return m;
}

/** Linear layers and an attention-style MatMul of two activations (for dynamic INT8). */
export function mlpAttention(opts: { tokens?: number; dim?: number; seed?: number } = {}): Model {
  const n = new Net(opts.seed ?? 3);
  const t = opts.tokens ?? 16;
  const d = opts.dim ?? 64;
  const b = n.b;
  const x = b.input('tokens', DataType.FLOAT, [1, t, d]);
  const q = b.op('MatMul', [x, n.weights([d, d], d, 0.7)], {}, { name: 'q_proj' });
  const k = b.op('MatMul', [x, n.weights([d, d], d, 0.7)], {}, { name: 'k_proj' });
  const v = b.op('MatMul', [x, n.weights([d, d], d, 0.7)], {}, { name: 'v_proj' });
  const att = b.op('Softmax', [b.op('Mul', [b.op('MatMul', [q, b.op('Transpose', [k], { perm: [0, 2, 1] })], {}, { name: 'scores' }), b.constant('scale', Tensor.scalar(DataType.FLOAT, 1 / Math.sqrt(d)))])], { axis: -1 });
  const ctx = b.op('MatMul', [att, v], {}, { name: 'context' });
  const h = b.op('Relu', [b.op('Add', [b.op('MatMul', [ctx, n.weights([d, 4 * d], d)], {}, { name: 'ff1' }), n.vec(4 * d)])]);
  const y = b.op('Add', [b.op('MatMul', [h, n.weights([4 * d, d], 4 * d, 0.5)], {}, { name: 'ff2' }), x], {}, { name: 'residual', output: 'features' });
  b.output(y);
  const m = b.build();
  m.source = 'mlp_attention';
  return m;
}

/**
 * A plain conv net in which one layer ('hot') has one output channel whose weights are 500×
 * the rest: its activation range is huge, so a per-tensor uint8 scale for that tensor wipes
 * out the other channels. The next layer reads only the ordinary channels (the hot channel's
 * weights there are tiny), so the FP32 output is ordinary and INT8 error comes from 'hot'.
 */
export function sensitiveNet(opts: { seed?: number } = {}): Model {
  const n = new Net(opts.seed ?? 9);
  const b = n.b;
  const x = b.input('image', DataType.FLOAT, [1, 3, 16, 16]);
  let h = n.relu(n.conv(x, 3, 8, 3, { name: 'c1' }));
  h = n.relu(n.conv(h, 8, 8, 3, { name: 'c2' }));
  const hotW = n.weights([8, 8, 3, 3], 72);
  const hw = hotW.initializer!.toFloat32();
  for (let i = 0; i < 72; i++) hw[i] *= 500; // output channel 0
  const hot = b.op('Conv', [h, b.constant('hot_w', Tensor.from(DataType.FLOAT, [8, 8, 3, 3], hw)), n.vec(8)], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }, { name: 'hot' });
  h = n.relu(hot);
  const nextW = n.weights([8, 8, 3, 3], 72);
  const nw = nextW.initializer!.toFloat32();
  for (let o = 0; o < 8; o++) for (let j = 0; j < 9; j++) nw[o * 72 + j] *= 1e-4; // input channel 0
  h = n.relu(b.op('Conv', [h, b.constant('next_w', Tensor.from(DataType.FLOAT, [8, 8, 3, 3], nw)), n.vec(8)], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }, { name: 'c4' }));
  const y = b.op('Sigmoid', [n.conv(h, 8, 3, 3, { name: 'c5' })], {}, { output: 'out' });
  b.output(y);
  const m = b.build();
  m.source = 'sensitive_net';
  return m;
}

/**
 * A sequence model: a bidirectional LSTM (with bias, initial state and peepholes), a forward
 * GRU over its output, and a linear head — what dynamic INT8 is for.
 */
export function recurrentNet(opts: { steps?: number; batch?: number; features?: number; hidden?: number; seed?: number; gru?: boolean } = {}): Model {
  const n = new Net(opts.seed ?? 5);
  const b = n.b;
  const [T, B, F, H] = [opts.steps ?? 12, opts.batch ?? 2, opts.features ?? 24, opts.hidden ?? 32];
  const x = b.input('sequence', DataType.FLOAT, [T, B, F]);
  const gain = 0.5;
  const lstmW = n.weights([2, 4 * H, F], F, gain);
  const lstmR = n.weights([2, 4 * H, H], H, gain);
  const h0 = b.constant('h0', Tensor.from(DataType.FLOAT, [2, B, H], Float32Array.from({ length: 2 * B * H }, (_, i) => Math.sin(i) * 0.1)));
  const mat = (rows: number, cols: number): Value => b.op('Reshape', [n.vec(rows * cols), b.ints(`shape${rows}x${cols}`, [rows, cols])]);
  const [y] = b.node('LSTM', [x, lstmW, lstmR, mat(2, 8 * H), null, h0, null, mat(2, 3 * H)], { hidden_size: H, direction: 'bidirectional' }, { outputs: 3, name: 'encoder' });
  // Y [T, 2, B, H] → [T, B, 2H]
  let h = b.op('Reshape', [b.op('Transpose', [y], { perm: [0, 2, 1, 3] }), b.ints('seq_shape', [T, B, 2 * H])]);
  if (opts.gru !== false) {
    const [g] = b.node('GRU', [h, n.weights([1, 3 * H, 2 * H], 2 * H, gain), n.weights([1, 3 * H, H], H, gain), mat(1, 6 * H)], { hidden_size: H, linear_before_reset: 1 }, { outputs: 2, name: 'decoder' });
    h = b.op('Squeeze', [g, b.ints('axis1', [1])]);
  }
  const out = b.op('Add', [b.op('MatMul', [h, n.weights([opts.gru === false ? 2 * H : H, 8], H)], {}, { name: 'head' }), n.vec(8)], {}, { output: 'scores' });
  b.output(out);
  const m = b.build();
  m.source = 'recurrent_net';
  return m;
}

/**
 * Control flow: a linear layer, then an If whose branches each hold a MatMul — one reading an
 * outer-scope weight, one its own initializer — over the outer activation (detection heads
 * and post-processing look like this).
 */
export function branchyNet(opts: { dim?: number; seed?: number } = {}): Model {
  const n = new Net(opts.seed ?? 21);
  const b = n.b;
  const d = opts.dim ?? 32;
  const x = b.input('x', DataType.FLOAT, [4, d]);
  const c = b.input('use_then', DataType.BOOL, []);
  const h = b.op('Relu', [b.op('MatMul', [x, n.weights([d, d], d)], {}, { name: 'stem' })]);
  const outerW = n.weights([d, 8], d);
  const branch = (name: string, inner: boolean): Graph => {
    const g = new Graph(b.graph);
    g.name = name;
    const w = inner ? g.addConstant(`${name}_w`, Tensor.from(DataType.FLOAT, [d, 8], outerW.initializer!.toFloat32().map((v) => -v))) : outerW;
    const y = g.addNode({ op: 'MatMul', inputs: [h, w], name: `${name}_proj` }).output(0);
    y.type = tensorType(DataType.FLOAT, [4, 8]);
    g.addOutput(y);
    return g;
  };
  b.output(b.op('If', [c], { then_branch: attr.g(branch('then', false)), else_branch: attr.g(branch('else', true)) }, { name: 'head_if', output: 'scores' }), DataType.FLOAT, [4, 8]);
  const m = b.build();
  m.source = 'branchy_net';
  return m;
}

/** Four samples for branchy_net that take both branches of its If. */
export function branchySamples(): Record<string, ort.Tensor>[] {
  return [0, 1, 2, 3].map((k) => ({
    x: new ort.Tensor('float32', Float32Array.from({ length: 128 }, (_, i) => Math.sin(i * 0.37 + k)), [4, 32]),
    use_then: new ort.Tensor('bool', new Uint8Array([k % 2]), []),
  }));
}
