// Round-trip corner cases the backend-test corpus does not (or not clearly) cover: each builds a
// model straight through the codec, loads and re-encodes it, and checks that the detail survives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onnx, toNum } from '../../src/onnx/codec.js';
import { decodeModel } from '../../src/onnx/read.js';
import { encodeModel } from '../../src/onnx/write.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { verify } from '../../src/ir/verify.js';
import { floatTensor, long, longs, modelBytes, node, valueInfo } from './proto-helpers.js';

const G = onnx.AttributeProto.AttributeType.GRAPH;
const roundTrip = (bytes: Uint8Array): onnx.ModelProto => {
  const m = decodeModel(bytes, { file: 'edge.onnx' });
  assert.deepEqual(verify(m), []);
  return onnx.ModelProto.decode(encodeModel(m));
};
// Decoded messages always carry their repeated fields; the generated interfaces just do not say so.
const graph = (g: onnx.IGraphProto | null | undefined): onnx.GraphProto => g as onnx.GraphProto;
const dims = (v: onnx.IValueInfoProto): (string | number)[] => (v.type!.tensorType!.shape!.dim ?? []).map((d) => d.dimParam || toNum(d.dimValue));

test('a subgraph output typed only through value_info keeps its type', () => {
  // Loop/If bodies often declare outputs by name only and give the type in value_info
  // (libonnx-testdata's *_expanded Range models do); the type must not be lost.
  const branch = (op: string, out: string): onnx.IGraphProto => ({ name: op, node: [node(op, ['x'], [out])], output: [{ name: out }], valueInfo: [valueInfo(out, DataType.FLOAT, [2])] });
  const bytes = modelBytes({
    node: [node('If', ['c'], ['y'], 'if', { attribute: [{ name: 'then_branch', type: G, g: branch('Relu', 't') }, { name: 'else_branch', type: G, g: branch('Neg', 'e') }] })],
    input: [valueInfo('c', DataType.BOOL, []), valueInfo('x', DataType.FLOAT, [2])],
    output: [valueInfo('y', DataType.FLOAT, [2])],
  });
  const p = roundTrip(bytes);
  for (const a of graph(p.graph).node[0].attribute ?? []) {
    const g = graph(a.g);
    const declared = [...g.output, ...g.valueInfo].find((v) => v.name === g.output[0].name && v.type);
    assert.ok(declared, `${a.name}: output '${g.output[0].name}' still has a type (in output or value_info)`);
    assert.equal(declared!.type!.tensorType!.elemType, DataType.FLOAT);
    assert.deepEqual(dims(declared!), [2]);
  }
});

test('IR 3 initializers listed as graph inputs stay graph inputs, with their data', () => {
  const bytes = modelBytes(
    { node: [node('Add', ['x', 'W'], ['y'])], initializer: [floatTensor('W', [2], [1, 2])], input: [valueInfo('x', 1, [2]), valueInfo('W', 1, [2])], output: [valueInfo('y', 1, [2])] },
    { irVersion: 3, opsets: { '': 8 } },
  );
  const p = roundTrip(bytes);
  const g = graph(p.graph);
  assert.deepEqual(g.input.map((v) => v.name), ['x', 'W']);
  assert.deepEqual(g.initializer.map((t) => t.name), ['W']);
  assert.deepEqual([...new Float32Array(new Uint8Array(g.initializer[0].rawData!).buffer)], [1, 2]);
});

test('int64 extremes (Slice "to the end" = INT64_MAX) survive in attributes and initializers', () => {
  const ends = Tensor.from(DataType.INT64, [2], [2n ** 63n - 1n, -(2n ** 63n)]);
  const bytes = modelBytes({
    node: [node('Slice', ['x', 'starts', 'ends'], ['y'], 's'), node('Constant', [], ['k'], 'k', { attribute: [{ name: 'value_ints', type: onnx.AttributeProto.AttributeType.INTS, ints: longs(['9223372036854775807', '-9223372036854775808']) }] })],
    initializer: [
      { name: 'starts', dims: longs([2]), dataType: DataType.INT64, int64Data: longs([0, 0]) },
      { name: 'ends', dims: longs([2]), dataType: DataType.INT64, rawData: ends.bytes() },
    ],
    input: [valueInfo('x', 1, [4, 4])],
    output: [valueInfo('y', 1), valueInfo('k', DataType.INT64, [2])],
  });
  const m = decodeModel(bytes, { file: 'slice.onnx' });
  const m2 = decodeModel(encodeModel(m), { file: 'slice-rt.onnx' });
  assert.deepEqual([...(m2.graph.ownValue('ends')!.initializer!.view() as BigInt64Array)], [2n ** 63n - 1n, -(2n ** 63n)]);
  const p = onnx.ModelProto.decode(encodeModel(m2));
  const ints = (graph(p.graph).node[1].attribute![0].ints ?? []).map((x) => String(x));
  assert.deepEqual(ints, ['9223372036854775807', '-9223372036854775808']);
});

test('float16, bfloat16, int4, bool and string tensors survive byte for byte', () => {
  const f16 = Tensor.from(DataType.FLOAT16, [3], [1.5, -2, 65504]);
  const bf16 = Tensor.from(DataType.BFLOAT16, [2], [3.140625, -0.5]);
  const int4 = Tensor.fromBytes(DataType.INT4, [3], Uint8Array.from([0x7f, 0x08]));
  const bool = Tensor.from(DataType.BOOL, [3], [1, 0, 1]);
  const tp = (name: string, t: Tensor): onnx.ITensorProto => ({ name, dims: longs(t.dims), dataType: t.dataType, rawData: t.bytes() });
  const bytes = modelBytes({
    node: [node('Identity', ['x'], ['y'])],
    initializer: [
      tp('f16', f16),
      // float16 in int32_data (one value per entry), as older exporters write it
      { name: 'f16_typed', dims: longs([3]), dataType: DataType.FLOAT16, int32Data: [...(f16.view() as Uint16Array)] },
      tp('bf16', bf16),
      tp('int4', int4),
      tp('bool', bool),
      { name: 'str', dims: longs([2]), dataType: DataType.STRING, stringData: [Buffer.from('héllo'), Buffer.from('')] },
    ],
    input: [valueInfo('x', 1, [1])],
    output: [valueInfo('y', 1, [1])],
  });
  const m = decodeModel(encodeModel(decodeModel(bytes, { file: 'types.onnx' })), { file: 'types-rt.onnx' });
  const init = (n: string): Tensor => m.graph.ownValue(n)!.initializer!;
  assert.ok(init('f16').equals(f16));
  assert.ok(init('f16_typed').equals(f16), 'int32_data float16 becomes the same raw bytes');
  assert.ok(init('bf16').equals(bf16));
  assert.ok(init('int4').equals(int4));
  assert.ok(init('bool').equals(bool));
  assert.deepEqual(init('str').stringData().map((s) => Buffer.from(s).toString('utf8')), ['héllo', '']);
  assert.deepEqual(init('f16').toNumbers(), [1.5, -2, 65504]);
});

test('metadata, doc strings, symbolic dims and intermediate value_info survive', () => {
  const bytes = onnx.ModelProto.encode({
    irVersion: long(8),
    opsetImport: [{ domain: '', version: long(17) }],
    producerName: 'edge',
    producerVersion: '1.2',
    docString: 'model doc',
    metadataProps: [{ key: 'author', value: 'kiln' }],
    graph: {
      name: 'g',
      docString: 'graph doc',
      node: [node('Relu', ['x'], ['h'], 'r', { docString: 'node doc' }), node('Neg', ['h'], ['y'], 'n')],
      input: [valueInfo('x', 1, ['batch', 3])],
      output: [valueInfo('y', 1, ['batch', 3])],
      valueInfo: [valueInfo('h', 1, ['batch', 3])],
    },
  }).finish();
  const p = roundTrip(bytes);
  assert.equal(p.producerName, 'edge');
  assert.equal(p.producerVersion, '1.2');
  assert.equal(p.docString, 'model doc');
  assert.deepEqual(p.metadataProps.map((e) => [e.key, e.value]), [['author', 'kiln']]);
  const g = graph(p.graph);
  assert.equal(g.docString, 'graph doc');
  assert.equal(g.node[0].docString, 'node doc');
  assert.deepEqual(g.valueInfo.map((v) => [v.name, dims(v)]), [['h', ['batch', 3]]]);
  assert.deepEqual(dims(g.input[0]), ['batch', 3]);
});
