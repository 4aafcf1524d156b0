import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelBuilder, attr } from '../../src/ir/builder.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { inspectModel } from '../../src/ir/inspect.js';

/** conv 3→8 k3 s1 p1, then Gemm over the flattened map: MACs are easy to count by hand. */
function convGemm(): ReturnType<ModelBuilder['build']> {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', DataType.FLOAT, ['N', 3, 'H', 'W']);
  const w = b.floats('w', [8, 3, 3, 3], new Float32Array(216));
  const bias = b.floats('b', [8], new Float32Array(8));
  const y = b.op('Conv', [x, w, bias], { pads: [1, 1, 1, 1] });
  const p = b.op('GlobalAveragePool', [y]);
  const f = b.op('Flatten', [p]);
  const gw = b.floats('gw', [10, 8], new Float32Array(80));
  b.output(b.op('Gemm', [f, gw], { transB: 1, alpha: attr.f(1) }));
  b.constant('half', Tensor.from(DataType.FLOAT16, [4], [1, 2, 3, 4]));
  return b.build();
}

test('inspect counts parameters per element type and MACs at a fixed input shape', () => {
  const r = inspectModel(convGemm(), { inputShapes: { x: [1, 3, 32, 32] } });
  assert.deepEqual(r.inputs, [{ name: 'x', elemType: 'float32', shape: ['N', 3, 'H', 'W'] }]);
  assert.equal(r.parameters.byType.float32.count, 216 + 8 + 80);
  assert.equal(r.parameters.byType.float16.bytes, 8);
  // Conv: 1·8·32·32 outputs × 3·3·3 taps; Gemm: 1×10 outputs × 8.
  assert.equal(r.cost.byOp.Conv.macs, 8 * 32 * 32 * 27);
  assert.equal(r.cost.byOp.Gemm.macs, 80);
  assert.equal(r.cost.flops, 2 * r.cost.macs);
  assert.deepEqual(r.cost.unresolved, []);
  assert.deepEqual(r.ops, { Conv: 1, Flatten: 1, Gemm: 1, GlobalAveragePool: 1 });
});

test('without --input-shape, MACs that need symbolic dims are listed as unresolved', () => {
  const r = inspectModel(convGemm());
  assert.equal(r.cost.byOp.Conv, undefined);
  assert.match(r.cost.unresolved.join(), /Conv/);
});

test('ops from other domains are listed, not rejected', () => {
  const b = new ModelBuilder({ opset: 17, opsets: { 'com.microsoft': 1 } });
  const x = b.input('x', DataType.FLOAT, [1, 4]);
  const y = b.op('FusedGelu', [x], {}, { domain: 'com.microsoft' });
  b.output(y, DataType.FLOAT, [1, 4]);
  const r = inspectModel(b.build());
  assert.deepEqual(r.unknownOps, ['com.microsoft.FusedGelu']);
  assert.equal(r.opsets['com.microsoft'], 1);
});
