// The eliminate-* passes: structural, differential (onnxruntime) and negative tests per pass.
// Fixture names say what must happen.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { attr } from '../../src/ir/builder.js';
import { apply, assertEquivalent, assertUnchanged, build, count, ops, rand } from './helpers.js';

const F = DataType.FLOAT;
const INT64_MAX = 9223372036854775807n;
const i64 = (values: (number | bigint)[]): Tensor => Tensor.from(DataType.INT64, [values.length], values);

describe('eliminate-identity', () => {
  test('remove_identity_chain', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      const y = b.op('Identity', [b.op('Identity', [b.op('Relu', [x])])]);
      b.output(b.op('Sigmoid', [y]), F);
    });
    const r = apply(m, 'eliminate-identity');
    assert.equal(count(m, 'Identity'), 0);
    assert.deepEqual(ops(m), ['Relu', 'Sigmoid']);
    assert.equal(r.stats[0].changes, 2);
    await assertEquivalent(r);
  });
  test('keep_identity_graph_output', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      b.output(b.op('Identity', [b.op('Relu', [x])], {}, { output: 'y' }), F);
    });
    const r = apply(m, 'eliminate-identity');
    assertUnchanged(r);
    assert.match(r.notes[0].reason, /graph output/);
  });
});

describe('eliminate-dropout', () => {
  test('remove_dropout_inference', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      b.output(b.op('Relu', [b.op('Dropout', [x, b.constant('ratio', Tensor.scalar(F, 0.5))])]), F);
    });
    const r = apply(m, 'eliminate-dropout');
    assert.deepEqual(ops(m), ['Relu']);
    await assertEquivalent(r);
  });
  test('keep_dropout_mask_read', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      const [y, mask] = b.node('Dropout', [x], {}, { outputs: 2 });
      b.output(b.op('Relu', [y]), F);
      b.output(mask);
    });
    assertUnchanged(apply(m, 'eliminate-dropout'));
  });
  test('keep_dropout_training_mode_input', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      const train = b.input('train', DataType.BOOL, []);
      b.output(b.op('Relu', [b.op('Dropout', [x, null, train])]), F);
    });
    const r = apply(m, 'eliminate-dropout');
    assertUnchanged(r);
    assert.match(r.notes[0].reason, /training_mode is not a constant/);
  });
});

describe('eliminate-nop-transpose', () => {
  test('remove_identity_perm_transpose', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 2, 3, 4]);
      b.output(b.op('Relu', [b.op('Transpose', [x], { perm: [0, 1, 2, 3] })]), F);
    });
    const r = apply(m, 'eliminate-nop-transpose');
    assert.deepEqual(ops(m), ['Relu']);
    await assertEquivalent(r);
  });
  test('keep_real_transpose', () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 2, 3, 4]);
      b.output(b.op('Relu', [b.op('Transpose', [x], { perm: [0, 2, 1, 3] })]), F);
    });
    assertUnchanged(apply(m, 'eliminate-nop-transpose'));
  });
});

describe('eliminate-nop-cast', () => {
  test('remove_cast_to_same_type', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      b.output(b.op('Relu', [b.op('Cast', [x], { to: DataType.FLOAT })]), F);
    });
    const r = apply(m, 'eliminate-nop-cast');
    assert.deepEqual(ops(m), ['Relu']);
    await assertEquivalent(r);
  });
  test('keep_cast_to_other_type', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      b.output(b.op('Relu', [b.op('Cast', [x], { to: DataType.DOUBLE })]), DataType.DOUBLE);
    });
    assertUnchanged(apply(m, 'eliminate-nop-cast'));
  });
});

describe('eliminate-nop-reshape', () => {
  test('remove_reshape_to_same_shape', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 4, 4]);
      const a = b.op('Reshape', [x, b.ints('s1', [1, 3, -1, 4])]);
      b.output(b.op('Relu', [b.op('Reshape', [a, b.ints('s2', [0, 0, 4, 4])])]), F);
    });
    const r = apply(m, 'eliminate-nop-reshape');
    assert.deepEqual(ops(m), ['Relu']);
    await assertEquivalent(r);
  });
  test('remove_reshape_copying_symbolic_dims', async () => {
    const m = build((b) => {
      const x = b.input('x', F, ['N', 3, 4]);
      b.output(b.op('Relu', [b.op('Reshape', [x, b.ints('s', [0, 3, -1])])]), F);
    });
    const r = apply(m, 'eliminate-nop-reshape');
    assert.deepEqual(ops(m), ['Relu']);
    await assertEquivalent(r);
  });
  test('keep_reshape_changing_shape', () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 4, 4]);
      b.output(b.op('Relu', [b.op('Reshape', [x, b.ints('s', [1, 3, 16])])]), F);
    });
    assertUnchanged(apply(m, 'eliminate-nop-reshape'));
  });
});

describe('eliminate-nop-expand', () => {
  test('remove_expand_to_ones', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 4, 4]);
      b.output(b.op('Relu', [b.op('Expand', [x, b.ints('s', [1, 1, 1])])]), F);
    });
    const r = apply(m, 'eliminate-nop-expand');
    assert.deepEqual(ops(m), ['Relu']);
    await assertEquivalent(r);
  });
  test('keep_expand_that_broadcasts', () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 1, 4]);
      b.output(b.op('Relu', [b.op('Expand', [x, b.ints('s', [1, 3, 4, 4])])]), F);
    });
    assertUnchanged(apply(m, 'eliminate-nop-expand'));
  });
});

describe('eliminate-nop-pad', () => {
  test('remove_zero_pad', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 4, 4]);
      b.output(b.op('Relu', [b.op('Pad', [x, b.ints('p', [0, 0, 0, 0, 0, 0, 0, 0])])]), F);
    });
    const r = apply(m, 'eliminate-nop-pad');
    assert.deepEqual(ops(m), ['Relu']);
    await assertEquivalent(r);
  });
  test('keep_nonzero_pad', () => {
    const m = build((b) => {
      const x = b.input('x', F, [1, 3, 4, 4]);
      b.output(b.op('Relu', [b.op('Pad', [x, b.ints('p', [0, 0, 1, 0, 0, 0, 0, 1])])]), F);
    });
    assertUnchanged(apply(m, 'eliminate-nop-pad'));
  });
});

describe('eliminate-nop-slice', () => {
  test('remove_full_slice', async () => {
    const m = build((b) => {
      const x = b.input('x', F, ['N', 3, 4]);
      const y = b.op('Slice', [x, b.ints('st', [0, 0]), b.constant('en', i64([INT64_MAX, 4])), b.ints('ax', [0, 2])]);
      b.output(b.op('Relu', [y]), F);
    });
    const r = apply(m, 'eliminate-nop-slice');
    assert.deepEqual(ops(m), ['Relu']);
    await assertEquivalent(r);
  });
  test('keep_partial_slice', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3, 4]);
      b.output(b.op('Relu', [b.op('Slice', [x, b.ints('st', [0]), b.ints('en', [2]), b.ints('ax', [2])])]), F);
    });
    assertUnchanged(apply(m, 'eliminate-nop-slice'));
  });
  test('keep_strided_slice', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3, 4]);
      b.output(b.op('Relu', [b.op('Slice', [x, b.ints('st', [0]), b.constant('en', i64([INT64_MAX])), b.ints('ax', [2]), b.ints('sp', [2])])]), F);
    });
    assertUnchanged(apply(m, 'eliminate-nop-slice'));
  });
});

describe('eliminate-nop-concat / eliminate-nop-split', () => {
  test('remove_single_input_concat', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      b.output(b.op('Relu', [b.op('Concat', [x], { axis: 1 })]), F);
    });
    const r = apply(m, 'eliminate-nop-concat');
    assert.deepEqual(ops(m), ['Relu']);
    await assertEquivalent(r);
  });
  test('keep_two_input_concat', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      b.output(b.op('Relu', [b.op('Concat', [x, x], { axis: 1 })]), F);
    });
    assertUnchanged(apply(m, 'eliminate-nop-concat'));
  });
  test('remove_single_output_split', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      b.output(b.op('Relu', [b.op('Split', [x], { axis: 1 })]), F);
    });
    const r = apply(m, 'eliminate-nop-split');
    assert.deepEqual(ops(m), ['Relu']);
    await assertEquivalent(r);
  });
  test('keep_two_output_split', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 4]);
      const [p, q] = b.node('Split', [x], { axis: 1 }, { outputs: 2 });
      b.output(b.op('Add', [p, q]), F);
    });
    assertUnchanged(apply(m, 'eliminate-nop-split'));
  });
});

describe('eliminate-dead-nodes', () => {
  test('remove_dead_branch', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      b.op('Tanh', [b.op('Sigmoid', [x])]); // read by nothing
      b.output(b.op('Relu', [x]), F);
    });
    const r = apply(m, 'eliminate-dead-nodes');
    assert.deepEqual(ops(m), ['Relu']);
    assert.equal(r.stats[0].walks, 2, 'one walk removes the whole chain; the second finds nothing');
    await assertEquivalent(r);
  });
  test('keep_live_nodes', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      b.output(b.op('Relu', [b.op('Sigmoid', [x])]), F);
    });
    assertUnchanged(apply(m, 'eliminate-dead-nodes'));
  });
});

describe('eliminate-unused-initializers', () => {
  test('remove_unused_initializer', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      b.floats('unused', [3], [1, 2, 3]);
      b.output(b.op('Add', [x, b.floats('used', [3], [1, 2, 3])]), F);
    });
    const r = apply(m, 'eliminate-unused-initializers');
    assert.deepEqual(m.graph.initializers.map((v) => v.name), ['used']);
    await assertEquivalent(r);
  });
  test('keep_used_initializers', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      b.output(b.op('Add', [x, b.floats('used', [3], [1, 2, 3])]), F);
    });
    assertUnchanged(apply(m, 'eliminate-unused-initializers'));
  });
});

describe('eliminate-duplicate-initializers', () => {
  test('share_identical_initializers', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      const a = b.op('Add', [x, b.floats('c1', [3], [1, 2, 3])]);
      b.output(b.op('Mul', [a, b.floats('c2', [3], [1, 2, 3])]), F);
    });
    const r = apply(m, ['eliminate-duplicate-initializers', 'eliminate-unused-initializers']);
    assert.deepEqual(m.graph.initializers.map((v) => v.name), ['c1']);
    await assertEquivalent(r);
  });
  test('keep_initializers_differing_in_dims_or_bytes', () => {
    const m = build((b) => {
      const x = b.input('x', F, [3, 3]);
      const a = b.op('Add', [x, b.floats('c1', [3], [1, 2, 3])]);
      const c = b.op('Add', [a, b.floats('c2', [1, 3], [1, 2, 3])]);
      b.output(b.op('Mul', [c, b.floats('c3', [3], [1, 2, 4])]), F);
    });
    assertUnchanged(apply(m, 'eliminate-duplicate-initializers'));
  });
});

describe('eliminate-common-subexpressions', () => {
  test('merge_identical_nodes', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      const w = b.floats('w', [3], rand(3));
      const a1 = b.op('Relu', [b.op('Mul', [x, w])]);
      const a2 = b.op('Relu', [b.op('Mul', [x, w])]);
      b.output(b.op('Add', [a1, a2]), F);
    });
    const r = apply(m, ['eliminate-common-subexpressions']);
    assert.deepEqual(ops(m), ['Mul', 'Relu', 'Add'], 'the second Mul and then the second Relu merge in one walk');
    await assertEquivalent(r);
  });
  test('keep_nodes_with_different_attributes', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      b.output(b.op('Add', [b.op('LeakyRelu', [x], { alpha: attr.f(0.1) }), b.op('LeakyRelu', [x], { alpha: attr.f(0.2) })]), F);
    });
    assertUnchanged(apply(m, 'eliminate-common-subexpressions'));
  });
  test('keep_random_nodes', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      b.output(b.op('Add', [b.op('RandomNormalLike', [x]), b.op('RandomNormalLike', [x])]), F);
    });
    assertUnchanged(apply(m, 'eliminate-common-subexpressions'));
  });
  test('keep_duplicate_graph_outputs', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      b.output(b.op('Relu', [x]), F);
      b.output(b.op('Relu', [x]), F);
    });
    assertUnchanged(apply(m, 'eliminate-common-subexpressions'));
  });
});

test('simplify (every rule in one walk) equals running the eliminate-nop passes', async () => {
  const make = () =>
    build((b) => {
      const x = b.input('x', F, [1, 3, 4, 4]);
      let y = b.op('Identity', [x]);
      y = b.op('Transpose', [y], { perm: [0, 1, 2, 3] });
      y = b.op('Reshape', [y, b.ints('s', [1, 3, 4, 4])]);
      y = b.op('Pad', [y, b.ints('p', [0, 0, 0, 0, 0, 0, 0, 0])]);
      y = b.op('Cast', [y], { to: DataType.FLOAT });
      b.output(b.op('Relu', [y]), F);
    });
  const a = make(), b2 = make();
  const r = apply(a, ['simplify', 'eliminate-dead-nodes']);
  apply(b2, ['eliminate-identity', 'eliminate-nop-transpose', 'eliminate-nop-reshape', 'eliminate-nop-pad', 'eliminate-nop-cast', 'eliminate-dead-nodes']);
  assert.deepEqual(ops(a), ['Relu']);
  assert.deepEqual(ops(a), ops(b2));
  await assertEquivalent(r);
});
