// fold-constants, fold-shapes, fold-transpose-into-constant, convert-constant-to-initializer.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { tensorType } from '../../src/ir/graph.js';
import { apply, assertEquivalent, assertUnchanged, build, count, ops, rand } from './helpers.js';

const F = DataType.FLOAT;

describe('fold-constants', () => {
  test('fold_constant_arithmetic_chain', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      const c = b.op('Sqrt', [b.op('Add', [b.floats('a', [3], [1, 2, 3]), b.floats('b', [1], [0.5])])]);
      b.output(b.op('Mul', [x, c]), F);
    });
    const r = apply(m, ['fold-constants']);
    assert.deepEqual(ops(m), ['Mul']);
    const folded = m.graph.nodes[0].input(1)!.initializer!;
    assert.deepEqual([...folded.toFloat32()], [Math.fround(Math.sqrt(1.5)), Math.fround(Math.sqrt(2.5)), Math.fround(Math.sqrt(3.5))]);
    await assertEquivalent(r);
  });
  test('fold_shape_ops_on_constants', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [6, 4]);
      const s = b.op('Concat', [b.op('Unsqueeze', [b.op('Gather', [b.ints('dims', [2, 12]), b.ints('i', [1], [])], { axis: 0 }), b.ints('ax', [0])]), b.ints('m1', [-1])], { axis: 0 });
      b.output(b.op('Reshape', [x, s]), F);
    });
    const r = apply(m, ['fold-constants']);
    assert.deepEqual(ops(m), ['Reshape']);
    assert.deepEqual(m.graph.nodes[0].input(1)!.initializer!.toNumbers(), [12, -1]);
    await assertEquivalent(r);
  });
  test('keep_nonconstant_input', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      b.output(b.op('Add', [x, b.floats('a', [3], [1, 2, 3])]), F);
    });
    assertUnchanged(apply(m, 'fold-constants'));
  });
  test('keep_unknown_domain_op_with_note', () => {
    const m = build((b) => {
      const x = b.input('x', F, [3]);
      const c = b.op('Mystery', [b.floats('a', [3], [1, 2, 3])], {}, { domain: 'com.example' });
      b.output(b.op('Add', [x, c]), F, [3]);
    }, 17, { 'com.example': 1 });
    const r = apply(m, 'fold-constants');
    assertUnchanged(r);
    assert.match(r.notes.map((n) => n.reason).join('\n'), /not folded because domain 'com.example' has no evaluator/);
  });
  test('keep_op_of_newer_opset_than_evaluator_with_note', () => {
    const m = build((b) => {
      const x = b.input('x', F, [3]);
      b.output(b.op('Add', [x, b.op('Neg', [b.floats('a', [3], [1, 2, 3])])]), F);
    }, 17);
    m.opsetImports.set('', 99);
    const r = apply(m, 'fold-constants');
    assertUnchanged(r);
    assert.match(r.notes[0].reason, /evaluator knows opsets 6–21, the model uses 99/);
  });
  test('keep_result_above_fold_limit', () => {
    const m = build((b) => {
      const x = b.input('x', F, [1000, 2000]);
      const big = b.op('ConstantOfShape', [b.ints('s', [1000, 2000])], { value: Tensor.from(F, [1], [1]) });
      b.output(b.op('Add', [x, big]), F);
    });
    const r = apply(m, 'fold-constants');
    assertUnchanged(r);
    assert.match(r.notes[0].reason, /more than the fold limit/);
  });
  test('keep_folded_value_that_is_a_graph_output', () => {
    const m = build((b) => {
      b.input('x', F, [3]);
      b.output(b.op('Neg', [b.floats('a', [3], [1, 2, 3])]), F);
    });
    assertUnchanged(apply(m, 'fold-constants'));
  });
});

describe('fold-shapes', () => {
  // The shape computation torch.onnx emits for x.view(x.size(0), -1) on a dynamic batch.
  const flattenByShape = () =>
    build((b) => {
      const x = b.input('x', F, ['N', 3, 'H', 'W']);
      const n = b.op('Unsqueeze', [b.op('Gather', [b.op('Shape', [x]), b.ints('zero', [0], [])], { axis: 0 }), b.ints('ax', [0])]);
      const shape = b.op('Concat', [n, b.ints('m1', [-1])], { axis: 0 });
      b.output(b.op('Relu', [b.op('Reshape', [x, shape])]), F);
    });

  test('fold_shape_chain_with_input_shape', async () => {
    const m = flattenByShape();
    const inputShapes = { x: [2, 3, 4, 5] };
    const r = apply(m, ['fold-shapes', 'fold-constants', 'eliminate-dead-nodes'], { inputShapes });
    assert.deepEqual(ops(m), ['Reshape', 'Relu'], 'Shape → Gather → Unsqueeze → Concat folded away');
    assert.deepEqual(m.graph.nodes[0].input(1)!.initializer!.toNumbers(), [2, -1]);
    assert.deepEqual(m.graph.inputs[0].shape, [2, 3, 4, 5], 'the input is specialised to the given shape');
    await assertEquivalent(r, { inputShapes });
  });
  test('fold_shape_whose_exporter_value_info_keeps_symbolic_dims', async () => {
    // torch.onnx writes value_info with the dynamic dims it exported; --input-shape fixes them
    // for kiln's own inference, which must win over the stale declaration.
    const m = build((b) => {
      const x = b.input('x', F, ['N', 3, 4, 5]);
      const r = b.op('Relu', [x]);
      r.type = tensorType(F, ['N', 3, 4, 5]);
      b.output(b.op('Reshape', [r, b.op('Shape', [r])]), F);
    });
    const run = apply(m, ['fold-shapes'], { inputShapes: { x: [2, 3, 4, 5] } });
    assert.equal(count(m, 'Shape'), 0);
    await assertEquivalent(run, { inputShapes: { x: [2, 3, 4, 5] } });
  });
  test('keep_shape_when_declared_and_inferred_shapes_contradict', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      const r = b.op('Relu', [x]);
      b.output(b.op('Reshape', [r, b.op('Shape', [r])]), F);
    });
    m.graph.nodes[0].output(0).type = tensorType(F, [3, 2]); // a wrong value_info
    assertUnchanged(apply(m, ['fold-shapes']));
  });
  test('keep_shape_with_symbolic_dims', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3, 'H', 'W']);
      const n = b.op('Unsqueeze', [b.op('Gather', [b.op('Shape', [x]), b.ints('zero', [0], [])], { axis: 0 }), b.ints('ax', [0])]);
      b.output(b.op('Relu', [b.op('Reshape', [x, b.op('Concat', [n, b.ints('m1', [-1])], { axis: 0 })])]), F);
    });
    const r = apply(m, ['fold-shapes', 'fold-constants']);
    // Shape(x) is not fully static, so it stays (only a sliced Shape of the static dims folds).
    assertUnchanged(r);
  });
  test('keep_shape_of_dynamic_input', () => {
    assertUnchanged(apply(flattenByShape(), ['fold-shapes']));
  });
  test('fold_size_and_sliced_shape', async () => {
    const m = build((b) => {
      const x = b.input('x', F, ['N', 3, 4]);
      const s = b.op('Shape', [x], { start: 2 }); // [4]: static although dim 0 is not
      const n = b.op('Size', [b.op('Relu', [b.floats('k', [2, 2], rand(4))])]);
      const k = b.op('Add', [b.op('Cast', [s], { to: DataType.FLOAT }), b.op('Cast', [n], { to: DataType.FLOAT })]);
      b.output(b.op('Mul', [b.op('Relu', [x]), k]), F);
    });
    const r = apply(m, ['fold-shapes', 'fold-constants', 'eliminate-dead-nodes']);
    assert.deepEqual(ops(m), ['Relu', 'Mul'], 'all of the shape arithmetic folds');
    assert.deepEqual(m.graph.nodes[1].input(1)!.initializer!.toNumbers(), [8]);
    await assertEquivalent(r, { inputShapes: { x: [2, 3, 4] } });
  });
});

describe('fold-transpose-into-constant', () => {
  test('fold_transposed_weight', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 4]);
      b.output(b.op('MatMul', [x, b.op('Transpose', [b.floats('w', [5, 4], rand(20))], { perm: [1, 0] })]), F);
    });
    const r = apply(m, ['fold-transpose-into-constant', 'eliminate-unused-initializers']);
    assert.deepEqual(ops(m), ['MatMul']);
    assert.deepEqual(m.graph.initializers.map((v) => v.initializer!.dims), [[4, 5]]);
    await assertEquivalent(r);
  });
  test('keep_transpose_of_activation', () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 4]);
      b.output(b.op('Relu', [b.op('Transpose', [x], { perm: [1, 0] })]), F);
    });
    assertUnchanged(apply(m, 'fold-transpose-into-constant'));
  });
});

describe('convert-constant-to-initializer', () => {
  test('convert_constant_nodes', async () => {
    const m = build((b) => {
      const x = b.input('x', F, [2, 3]);
      const c = b.op('Constant', [], { value: Tensor.from(F, [3], [1, 2, 3]) });
      const s = b.op('Constant', [], { value_float: 2.5 });
      b.output(b.op('Mul', [b.op('Add', [x, c]), s]), F);
    });
    const r = apply(m, 'convert-constant-to-initializer');
    assert.equal(count(m, 'Constant'), 0);
    assert.equal(m.graph.initializers.length, 2);
    await assertEquivalent(r);
  });
  test('keep_constant_graph_output', () => {
    const m = build((b) => {
      b.input('x', F, [2, 3]);
      b.output(b.op('Constant', [], { value: Tensor.from(F, [3], [1, 2, 3]) }), F);
    });
    assertUnchanged(apply(m, 'convert-constant-to-initializer'));
  });
});
