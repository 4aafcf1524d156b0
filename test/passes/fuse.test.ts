// The fuse-* passes: structural, differential (onnxruntime) and negative tests per pass.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import type { ModelBuilder } from '../../src/ir/builder.js';
import type { Value } from '../../src/ir/graph.js';
import { apply, assertEquivalent, assertUnchanged, build, count, ops, rand } from './helpers.js';

const F = DataType.FLOAT;

/** BatchNormalization with random parameters (variance positive) over `c` channels. */
function bn(b: ModelBuilder, x: Value, c: number, seed = 5): Value {
  const pos = rand(c, seed + 3).map((v) => v + 1.5);
  return b.op('BatchNormalization', [x, b.floats('gamma', [c], rand(c, seed)), b.floats('beta', [c], rand(c, seed + 1)), b.floats('mean', [c], rand(c, seed + 2)), b.floats('var', [c], pos)], { epsilon: 1e-3 });
}

describe('fuse-conv-bn', () => {
  test('fuse_conv_bn', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 4, 6, 6]);
      const y = b.op('Conv', [x, b.floats('w', [8, 2, 3, 3], rand(144)), b.floats('b', [8], rand(8, 2))], { pads: [1, 1, 1, 1], group: 2 });
      b.output(b.op('Relu', [bn(b, y, 8)]), F);
    });
    const r = apply(m, ['fuse-conv-bn']);
    assert.equal(count(m, 'BatchNormalization'), 0);
    assert.deepEqual(ops(m), ['Conv', 'Relu']);
    assert.equal(m.graph.nodes[0].getInt('group'), 2, 'the Conv attributes carry over');
    await assertEquivalent(r);
  });
  test('fuse_conv_without_bias_bn_as_graph_output', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 5, 5]);
      const y = b.op('Conv', [x, b.floats('w', [4, 3, 1, 1], rand(12))]);
      b.output(bn(b, y, 4), F);
    });
    const out = m.graph.outputs[0].name;
    const r = apply(m, ['fuse-conv-bn']);
    assert.deepEqual(ops(m), ['Conv']);
    assert.equal(m.graph.outputs[0].name, out, 'the graph output keeps its name');
    await assertEquivalent(r);
  });
  test('keep_bn_when_conv_output_read_twice', () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 5, 5]);
      const y = b.op('Conv', [x, b.floats('w', [4, 3, 1, 1], rand(12))]);
      b.output(bn(b, y, 4), F);
      b.output(b.op('Relu', [y]), F);
    });
    const r = apply(m, 'fuse-conv-bn');
    assertUnchanged(r);
    assert.match(r.notes[0].reason, /other readers/);
  });
  test('keep_bn_when_weights_not_constant', () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 5, 5]);
      const w = b.input('w', F, [4, 3, 1, 1]);
      b.output(bn(b, b.op('Conv', [x, w]), 4), F);
    });
    assertUnchanged(apply(m, 'fuse-conv-bn'));
  });
});

describe('fuse-convtranspose-bn', () => {
  test('fuse_grouped_convtranspose_bn', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 4, 5, 5]);
      // W [C_in=4, C_out/group=3, 2, 2], group 2 → 6 output channels.
      const y = b.op('ConvTranspose', [x, b.floats('w', [4, 3, 2, 2], rand(48)), b.floats('b', [6], rand(6, 4))], { strides: [2, 2], group: 2 });
      b.output(b.op('Relu', [bn(b, y, 6)]), F);
    });
    const r = apply(m, ['fuse-convtranspose-bn']);
    assert.deepEqual(ops(m), ['ConvTranspose', 'Relu']);
    await assertEquivalent(r);
  });
  test('keep_bn_when_convtranspose_output_is_graph_output', () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 4, 5, 5]);
      const y = b.op('ConvTranspose', [x, b.floats('w', [4, 3, 2, 2], rand(48))]);
      b.output(y, F);
      b.output(bn(b, y, 3), F);
    });
    assertUnchanged(apply(m, 'fuse-convtranspose-bn'));
  });
});

describe('fuse-conv-add', () => {
  test('fuse_per_channel_add_into_bias', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 5, 5]);
      const y = b.op('Conv', [x, b.floats('w', [4, 3, 3, 3], rand(108))]);
      b.output(b.op('Relu', [b.op('Add', [b.floats('c', [1, 4, 1, 1], rand(4, 9)), y])]), F);
    });
    const r = apply(m, ['fuse-conv-add']);
    assert.deepEqual(ops(m), ['Conv', 'Relu']);
    assert.equal(m.graph.nodes[0].inputs.length, 3, 'the Conv gained a bias');
    await assertEquivalent(r);
  });
  test('fuse_scalar_add_into_existing_bias', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 5, 5]);
      const y = b.op('Conv', [x, b.floats('w', [4, 3, 3, 3], rand(108)), b.floats('b', [4], rand(4, 3))]);
      b.output(b.op('Add', [y, b.floats('c', [], [0.25])]), F);
    });
    const r = apply(m, ['fuse-conv-add']);
    assert.deepEqual(ops(m), ['Conv']);
    await assertEquivalent(r);
  });
  test('keep_add_varying_over_pixels', () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 5, 5]);
      const y = b.op('Conv', [x, b.floats('w', [4, 3, 1, 1], rand(12))]);
      b.output(b.op('Add', [y, b.floats('c', [1, 4, 5, 5], rand(100))]), F);
    });
    const r = apply(m, 'fuse-conv-add');
    assertUnchanged(r);
    assert.match(r.notes[0].reason, /not one value per output channel/);
  });
});

describe('fuse-conv-mul', () => {
  test('fuse_per_channel_scale', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 5, 5]);
      const y = b.op('Conv', [x, b.floats('w', [4, 3, 3, 3], rand(108)), b.floats('b', [4], rand(4, 3))], { pads: [1, 1, 1, 1] });
      b.output(b.op('Mul', [y, b.floats('s', [4, 1, 1], rand(4, 11))]), F);
    });
    const r = apply(m, ['fuse-conv-mul']);
    assert.deepEqual(ops(m), ['Conv']);
    await assertEquivalent(r);
  });
  test('keep_mul_by_activation', () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 5, 5]);
      const s = b.input('s', F, [1, 4, 1, 1]);
      b.output(b.op('Mul', [b.op('Conv', [x, b.floats('w', [4, 3, 1, 1], rand(12))]), s]), F);
    });
    assertUnchanged(apply(m, 'fuse-conv-mul'));
  });
});

describe('fuse-pad-into-conv', () => {
  test('merge_pad_into_conv', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 6, 6]);
      const p = b.op('Pad', [x, b.ints('p', [0, 0, 1, 2, 0, 0, 2, 1])]);
      b.output(b.op('Conv', [p, b.floats('w', [2, 3, 3, 3], rand(54))], { pads: [1, 1, 1, 1] }), F);
    });
    const r = apply(m, ['fuse-pad-into-conv']);
    assert.deepEqual(ops(m), ['Conv']);
    assert.deepEqual(m.graph.nodes[0].getInts('pads'), [2, 3, 3, 2]);
    await assertEquivalent(r);
  });
  test('merge_pad_into_average_pool_counting_pads', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 6, 6]);
      const p = b.op('Pad', [x, b.ints('p', [0, 0, 1, 1, 0, 0, 1, 1])]);
      b.output(b.op('AveragePool', [p], { kernel_shape: [3, 3] }), F);
    });
    const r = apply(m, ['fuse-pad-into-conv']);
    assert.deepEqual(ops(m), ['AveragePool']);
    assert.equal(m.graph.nodes[0].getInt('count_include_pad'), 1);
    await assertEquivalent(r);
  });
  test('merge_minus_infinity_pad_into_max_pool', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 2, 5, 5]);
      const p = b.op('Pad', [x, b.ints('p', [0, 0, 1, 1, 0, 0, 1, 1]), b.constant('v', Tensor.scalar(F, -Infinity))]);
      b.output(b.op('MaxPool', [p], { kernel_shape: [3, 3] }), F);
    });
    const r = apply(m, ['fuse-pad-into-conv']);
    assert.deepEqual(ops(m), ['MaxPool']);
    await assertEquivalent(r);
  });
  test('keep_reflect_pad', () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 6, 6]);
      const p = b.op('Pad', [x, b.ints('p', [0, 0, 1, 1, 0, 0, 1, 1])], { mode: 'reflect' });
      b.output(b.op('Conv', [p, b.floats('w', [2, 3, 3, 3], rand(54))]), F);
    });
    assertUnchanged(apply(m, 'fuse-pad-into-conv'));
  });
  test('keep_nonzero_pad_value_before_conv', () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 6, 6]);
      const p = b.op('Pad', [x, b.ints('p', [0, 0, 1, 1, 0, 0, 1, 1]), b.constant('v', Tensor.scalar(F, 1))]);
      b.output(b.op('Conv', [p, b.floats('w', [2, 3, 3, 3], rand(54))]), F);
    });
    assertUnchanged(apply(m, 'fuse-pad-into-conv'));
  });
  test('keep_zero_pad_before_max_pool', () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 2, 5, 5]);
      b.output(b.op('MaxPool', [b.op('Pad', [x, b.ints('p', [0, 0, 1, 1, 0, 0, 1, 1])])], { kernel_shape: [3, 3] }), F);
    });
    assertUnchanged(apply(m, 'fuse-pad-into-conv'));
  });
});

describe('fuse-matmul-add', () => {
  test('fuse_matmul_add_into_gemm', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [4, 8]);
      const y = b.op('MatMul', [x, b.floats('w', [8, 5], rand(40))]);
      b.output(b.op('Add', [y, b.floats('c', [5], rand(5, 7))]), F);
    });
    const r = apply(m, ['fuse-matmul-add']);
    assert.deepEqual(ops(m), ['Gemm']);
    await assertEquivalent(r);
  });
  test('keep_batched_matmul_add', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 4, 8]);
      const y = b.op('MatMul', [x, b.floats('w', [8, 5], rand(40))]);
      b.output(b.op('Add', [y, b.floats('c', [5], rand(5, 7))]), F);
    });
    assertUnchanged(apply(m, 'fuse-matmul-add'));
  });
  test('keep_add_that_grows_the_product', () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 8]);
      const y = b.op('MatMul', [x, b.floats('w', [8, 5], rand(40))]);
      b.output(b.op('Add', [y, b.floats('c', [3, 5], rand(15, 7))]), F);
    });
    assertUnchanged(apply(m, 'fuse-matmul-add'));
  });
});

describe('fuse-transposes', () => {
  test('compose_transposes_to_identity_then_eliminate', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 4, 5]);
      const t = b.op('Transpose', [b.op('Transpose', [x], { perm: [0, 2, 3, 1] })], { perm: [0, 3, 1, 2] });
      b.output(b.op('Relu', [t]), F);
    });
    const r = apply(m, ['fuse-transposes', 'eliminate-nop-transpose', 'eliminate-dead-nodes']);
    assert.deepEqual(ops(m), ['Relu']);
    await assertEquivalent(r);
  });
  test('compose_transposes_keeping_shared_inner', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3, 4]);
      const inner = b.op('Transpose', [x], { perm: [1, 0, 2] });
      b.output(b.op('Transpose', [inner], { perm: [2, 0, 1] }), F);
      b.output(b.op('Relu', [inner]), F);
    });
    const r = apply(m, ['fuse-transposes']);
    assert.equal(count(m, 'Transpose'), 2);
    assert.deepEqual(m.graph.nodes.find((n) => n.opType === 'Transpose' && n.input(0)!.name === 'x' && n.outputs[0]!.isGraphOutput)?.getInts('perm'), [2, 1, 0]);
    await assertEquivalent(r);
  });
  test('keep_single_transposes', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3, 4]);
      b.output(b.op('Relu', [b.op('Transpose', [b.op('Relu', [b.op('Transpose', [x], { perm: [1, 0, 2] })])], { perm: [1, 0, 2] })]), F);
    });
    assertUnchanged(apply(m, 'fuse-transposes'));
  });
});

describe('fuse-reshapes', () => {
  test('collapse_consecutive_reshapes', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3, 8]);
      const a = b.op('Reshape', [x, b.ints('s1', [6, 8])]);
      b.output(b.op('Reshape', [a, b.ints('s2', [4, -1])]), F);
    });
    const r = apply(m, ['fuse-reshapes']);
    assert.deepEqual(ops(m), ['Reshape']);
    await assertEquivalent(r);
  });
  test('collapse_flatten_then_reshape', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3, 4]);
      b.output(b.op('Reshape', [b.op('Flatten', [x], { axis: 1 }), b.ints('s', [4, 6])]), F);
    });
    const r = apply(m, ['fuse-reshapes']);
    assert.deepEqual(ops(m), ['Reshape']);
    await assertEquivalent(r);
  });
  test('keep_reshape_copying_dims_with_zero', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3, 8]);
      const a = b.op('Reshape', [x, b.ints('s1', [6, 8])]);
      b.output(b.op('Reshape', [a, b.ints('s2', [0, 2, 4])]), F);
    });
    assertUnchanged(apply(m, 'fuse-reshapes'));
  });
});

describe('fuse-squeeze-unsqueeze', () => {
  test('cancel_squeeze_unsqueeze_pair', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 1, 4]);
      const s = b.op('Squeeze', [x, b.ints('a1', [2])]);
      b.output(b.op('Relu', [b.op('Unsqueeze', [s, b.ints('a2', [-2])])]), F);
    });
    const r = apply(m, ['fuse-squeeze-unsqueeze', 'eliminate-dead-nodes']);
    assert.deepEqual(ops(m), ['Relu']);
    await assertEquivalent(r);
  });
  test('cancel_unsqueeze_squeeze_pair', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [3, 4]);
      const u = b.op('Unsqueeze', [x, b.ints('a1', [0, 3])]);
      b.output(b.op('Relu', [b.op('Squeeze', [u, b.ints('a2', [3, 0])])]), F);
    });
    const r = apply(m, ['fuse-squeeze-unsqueeze', 'eliminate-dead-nodes']);
    assert.deepEqual(ops(m), ['Relu']);
    await assertEquivalent(r);
  });
  test('keep_pair_over_different_axes', () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 1, 4]);
      const s = b.op('Squeeze', [x, b.ints('a1', [2])]);
      b.output(b.op('Relu', [b.op('Unsqueeze', [s, b.ints('a2', [0])])]), F);
    });
    assertUnchanged(apply(m, 'fuse-squeeze-unsqueeze'));
  });
});

describe('fuse-transpose-into-gemm', () => {
  test('absorb_transposes_into_trans_flags', async () => {
    const m = build((b) => {
      const a = b.input('a', F, [8, 4]);
      const w = b.input('w', F, [8, 5]);
      const y = b.op('Gemm', [b.op('Transpose', [a], { perm: [1, 0] }), b.op('Transpose', [w], { perm: [1, 0] }), b.floats('c', [5], rand(5))], { transB: 1 });
      b.output(y, F);
    });
    const r = apply(m, ['fuse-transpose-into-gemm']);
    assert.deepEqual(ops(m), ['Gemm']);
    assert.equal(m.graph.nodes[0].getInt('transA'), 1);
    assert.equal(m.graph.nodes[0].getInt('transB'), 0);
    await assertEquivalent(r);
  });
  test('keep_3d_transpose_before_gemm_input', () => {
    const m = build((b) => {
      const a = b.input('a', F, [1, 4, 8]);
      const flat = b.op('Reshape', [b.op('Transpose', [a], { perm: [0, 2, 1] }), b.ints('s', [8, 4])]);
      b.output(b.op('Gemm', [flat, b.floats('w', [4, 5], rand(20))]), F);
    });
    assertUnchanged(apply(m, 'fuse-transpose-into-gemm'));
  });
});
