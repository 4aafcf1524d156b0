// optimizeModel can verify a dynamic-shape model at given input shapes without specialising it
// (the pipeline times both forms and keeps the faster).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataType } from '../../src/ir/dtype.js';
import { decodeModel } from '../../src/onnx/read.js';
import { encodeModel } from '../../src/onnx/write.js';
import { optimizeModel } from '../../src/passes/index.js';
import { build, rand } from './helpers.js';

const F = DataType.FLOAT;

function dynamicNet(): Uint8Array {
  return encodeModel(build((b) => {
    const x = b.input('x', F, ['N', 3, 'H', 'W']);
    const y = b.op('Identity', [b.op('Conv', [x, b.floats('w', [4, 3, 3, 3], rand(108))], { pads: [1, 1, 1, 1] })]);
    b.output(b.op('Relu', [y], {}, { output: 'y' }), F);
  }));
}

test('verifyShapes: verified at the given shape, input dims left dynamic; inputShapes: specialised', async () => {
  const shapes = { x: [1, 3, 16, 24] };
  const dyn = await optimizeModel(dynamicNet(), { verifyShapes: shapes });
  assert.equal(dyn.report.verification?.ok, true);
  assert.deepEqual(decodeModel(dyn.model).graph.inputs[0].tensorType?.shape, ['N', 3, 'H', 'W']);
  assert.equal(decodeModel(dyn.model).graph.nodes.some((n) => n.opType === 'Identity'), false);
  const spec = await optimizeModel(dynamicNet(), { inputShapes: shapes });
  assert.equal(spec.report.verification?.ok, true);
  assert.deepEqual(decodeModel(spec.model).graph.inputs[0].tensorType?.shape, [1, 3, 16, 24]);
  // without either, a dynamic model cannot be verified and says which shape to give
  await assert.rejects(optimizeModel(dynamicNet()), /input 'x' dim 0 .*dynamic|give --input-shape x=/);
});

test('a shape given for one input fixes the named dims it shares with the others', async () => {
  const two = encodeModel(build((b) => {
    const a = b.input('a', F, ['N', 3, 'H', 'W']);
    const c = b.input('c', F, ['N', 1, 'H', 'W']);
    b.output(b.op('Add', [b.op('Identity', [a]), c], {}, { output: 'y' }), F);
  }));
  const spec = await optimizeModel(two, { inputShapes: { a: [2, 3, 4, 5] } });
  assert.equal(spec.report.verification?.ok, true);
  assert.deepEqual(decodeModel(spec.model).graph.inputs.map((v) => v.tensorType?.shape), [[2, 3, 4, 5], [2, 1, 4, 5]]);
  await assert.rejects(optimizeModel(two, { inputShapes: { a: [2, 3, 4, 5], c: [2, 1, 4, 6] } }), /dim W two values: 5 \(a\) and 6 \(c\)/);
});
