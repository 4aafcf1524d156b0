// Shape inference checked against ground truth: the ONNX backend node tests ship the actual
// outputs of every op, so each inferred output shape and type must equal the reference tensor's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { loadModel } from '../../src/onnx/read.js';
import { onnx, toNum } from '../../src/onnx/codec.js';
import { inferShapes, fixInputShapes, RULES } from '../../src/ir/shape-inference.js';
import { ModelBuilder } from '../../src/ir/builder.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';

const NODE_TESTS = '/usr/share/libonnx-testdata/data/node';

test('inferred shapes equal the backend tests’ reference outputs', async (t) => {
  if (!existsSync(NODE_TESTS)) return t.skip(`${NODE_TESTS} absent (apt-get install libonnx-testdata)`);
  let checked = 0;
  const wrong: string[] = [];
  for (const dir of readdirSync(NODE_TESTS).sort()) {
    const file = `${NODE_TESTS}/${dir}/model.onnx`;
    const data = `${NODE_TESTS}/${dir}/test_data_set_0`;
    if (!existsSync(file) || !existsSync(data)) continue;
    const model = await loadModel(file);
    const g = model.graph;
    if (g.nodes.length !== 1 || g.nodes[0].domain !== '' || !RULES[g.nodes[0].opType]) continue;
    // Inputs get the reference inputs' exact shapes (some tests declare symbolic dims).
    g.inputs.forEach((v, i) => {
      const f = `${data}/input_${i}.pb`;
      const tt = v.tensorType;
      if (!existsSync(f) || !tt) return;
      const ref = onnx.TensorProto.decode(readFileSync(f));
      v.type = { ...tt, shape: ref.dims.map(toNum) };
    });
    // Sequence and optional outputs are not tensors: nothing to compare.
    const tensorOutputs = new Set(g.outputs.filter((v) => v.type?.kind === 'tensor'));
    for (const v of g.outputs) v.type = undefined; // infer, don't read back the declaration
    inferShapes(model);
    g.outputs.forEach((v, i) => {
      const f = `${data}/output_${i}.pb`;
      if (!existsSync(f)) return;
      const ref = onnx.TensorProto.decode(readFileSync(f));
      const inf = v.inferred;
      if (!tensorOutputs.has(v)) return;
      checked++;
      const want = ref.dims.map(toNum);
      if (!inf) return void wrong.push(`${dir} output ${i}: nothing inferred`);
      // The backend tests store bfloat16 references as raw uint16 (type 4).
      const bf16AsUint16 = inf.elemType === DataType.BFLOAT16 && ref.dataType === DataType.UINT16;
      if (inf.elemType !== ref.dataType && !bf16AsUint16) wrong.push(`${dir} output ${i}: type ${inf.elemType}, expected ${ref.dataType}`);
      // An unknown dim (null) is allowed — inference may not know it — but a wrong one is not.
      const shape = inf.shape;
      if (shape && (shape.length !== want.length || shape.some((d, k) => typeof d === 'number' && d !== want[k])))
        wrong.push(`${dir} output ${i}: shape [${shape.join(',')}], expected [${want.join(',')}]`);
    });
  }
  console.log(`shape inference: ${checked} outputs checked against references, ${wrong.length} wrong`);
  assert.ok(checked > 500, `only ${checked} outputs were checked`);
  assert.deepEqual(wrong, []);
});

test('symbolic dims survive elementwise ops and broadcasting', () => {
  const b = new ModelBuilder();
  const x = b.input('x', DataType.FLOAT, ['N', 3, 'H', 'W']);
  const bias = b.floats('bias', [1, 3, 1, 1], [1, 2, 3]);
  const y = b.op('Relu', [b.op('Add', [x, bias])]);
  b.output(y);
  b.build();
  assert.deepEqual(y.inferred?.shape, ['N', 3, 'H', 'W']);
});

test('conv output size follows pads, strides and dilations; unknown width stays unknown', () => {
  const b = new ModelBuilder();
  const x = b.input('x', DataType.FLOAT, [1, 3, 480, 'W']);
  const w = b.floats('w', [8, 3, 3, 3], new Float32Array(8 * 27));
  const y = b.op('Conv', [x, w], { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] });
  b.output(y);
  b.build();
  assert.deepEqual(y.inferred?.shape, [1, 8, 240, null]);
});

test('DeformConv takes its spatial size from the offsets, symbolic dims included', () => {
  const b = new ModelBuilder();
  const x = b.input('x', DataType.FLOAT, ['N', 6, 'H', 'W']);
  const off = b.input('off', DataType.FLOAT, ['N', 4, 'H', 'W']);
  const mask = b.input('mask', DataType.FLOAT, ['N', 2, 'H', 'W']);
  const w = b.floats('w', [3, 6, 1, 1], new Float32Array(18));
  const bias = b.floats('b', [3], new Float32Array(3));
  const y = b.op('DeformConv', [x, w, off, bias, mask], { kernel_shape: [1, 1], offset_group: 2 });
  b.output(y);
  b.build();
  assert.deepEqual(y.inferred?.shape, ['N', 3, 'H', 'W']);
});

test('--input-shape fixes symbolic dims and rejects a rank mismatch naming the input', () => {
  const b = new ModelBuilder();
  const x = b.input('img', DataType.FLOAT, ['N', 3, 'H', 'W']);
  b.output(b.op('Relu', [x]));
  const m = b.build();
  fixInputShapes(m, { img: [1, 3, 64, 64] });
  inferShapes(m);
  assert.deepEqual(m.graph.outputs[0].inferred?.shape, [1, 3, 64, 64]);
  assert.throws(() => fixInputShapes(m, { img: [1, 3, 64] }), /input 'img' has rank 4/);
  assert.throws(() => fixInputShapes(m, { nope: [1] }), /--input-shape names 'nope'/);
});

test('reshape with -1 and 0 resolves against a known input shape', () => {
  const b = new ModelBuilder();
  const x = b.input('x', DataType.FLOAT, [2, 3, 4, 5]);
  const y = b.op('Reshape', [x, b.ints('shape', [0, -1])]);
  b.output(y);
  b.build();
  assert.deepEqual(y.inferred?.shape, [2, 60]);
});

test('an unknown dim broadcast against 1 stays unknown (it is not 1)', () => {
  const b = new ModelBuilder();
  const x = b.input('x', DataType.FLOAT, [1, 1, 1, 1]);
  const y = b.input('y', DataType.FLOAT, [null, null, 'H', 7]);
  const z = b.op('Mul', [x, y]);
  b.output(z);
  b.build();
  assert.deepEqual(z.inferred?.shape, [null, null, 'H', 7]);
});

test('data propagation: Shape → Gather → Unsqueeze → Concat → Reshape keeps a symbolic batch and resolves the rest', () => {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', DataType.FLOAT, ['N', 3, 'H', 8]);
  const shape = b.op('Shape', [x]);
  const n = b.op('Unsqueeze', [b.op('Gather', [shape, b.constant('zero', Tensor.scalar(DataType.INT64, 0))], { axis: 0 }), b.ints('ax0', [0])]);
  const w = b.op('Unsqueeze', [b.op('Mul', [b.op('Gather', [shape, b.constant('three', Tensor.scalar(DataType.INT64, 3))], { axis: 0 }), b.constant('two', Tensor.scalar(DataType.INT64, 2))]), b.ints('ax0b', [0])]);
  const target = b.op('Concat', [n, b.ints('minus1', [-1]), w], { axis: 0 });
  const y = b.op('Reshape', [x, target]);
  b.output(y);
  b.build();
  assert.deepEqual(y.inferred?.shape, ['N', null, 16], 'N kept, the -1 unknown (H is symbolic), W·2 computed');
  fixInputShapes(b.model, { x: [2, 3, 10, 8] });
  inferShapes(b.model);
  assert.deepEqual(y.inferred?.shape, [2, 15, 16], 'with --input-shape every dim resolves');
});

test("data propagation: torch's F.pad export (Concat → Reshape → Slice step −1 → Transpose → Reshape → Cast) resolves Pad's output", () => {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', DataType.FLOAT, [1, 4, 30, 40]);
  const zeros = b.op('ConstantOfShape', [b.ints('four', [4])], { value: Tensor.from(DataType.INT64, [1], [0]) });
  const pads = b.op('Concat', [b.ints('torch_pads', [1, 2, 3, 4]), zeros], { axis: 0 }); // (left, right, top, bottom) + zeros
  const pairs = b.op('Reshape', [pads, b.ints('pairs', [-1, 2])]);
  const rev = b.op('Slice', [pairs, b.ints('s', [-1]), b.ints('e', [-(2 ** 62)]), b.ints('a', [0]), b.ints('st', [-1])]);
  const onnxPads = b.op('Cast', [b.op('Reshape', [b.op('Transpose', [rev], { perm: [1, 0] }), b.ints('flat', [-1])])], { to: DataType.INT64 });
  const y = b.op('Pad', [x, onnxPads], { mode: 'constant' });
  b.output(y);
  b.build();
  assert.deepEqual(y.inferred?.shape, [1, 4, 37, 43]);
});

test('data propagation stops at what it cannot know: a float Cast and a large tensor give no value', () => {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', DataType.FLOAT, [2, 3]);
  const asFloat = b.op('Cast', [b.op('Shape', [x])], { to: DataType.FLOAT });
  const back = b.op('Cast', [asFloat], { to: DataType.INT64 });
  const y = b.op('Reshape', [x, back]);
  b.output(y);
  b.build();
  assert.deepEqual(y.inferred?.shape, [null, null]);
});
