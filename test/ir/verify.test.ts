import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelBuilder } from '../../src/ir/builder.js';
import { DataType } from '../../src/ir/dtype.js';
import type { Model } from '../../src/ir/graph.js';
import { verify } from '../../src/ir/verify.js';

function chain(): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', DataType.FLOAT, [2]);
  b.output(b.op('Neg', [b.op('Relu', [x], {}, { name: 'first' })], {}, { name: 'second', output: 'y' }));
  return b.build();
}

test('verify: a valid model has no problems', () => {
  assert.deepEqual(verify(chain()), []);
});

test('verify: two nodes sharing a name are reported (onnxruntime refuses such a graph); empty names are fine', () => {
  const m = chain();
  m.graph.nodes[1].name = 'first';
  assert.deepEqual(verify(m), ["Neg 'first' has the same name as Relu 'first' (node names must be unique in a graph)"]);
  m.graph.nodes[0].name = '';
  m.graph.nodes[1].name = '';
  assert.deepEqual(verify(m), []);
});

test('verify: nodes out of topological order, and a domain without an opset import', () => {
  const m = chain();
  m.graph.nodes.reverse();
  assert.ok(verify(m).some((p) => /before its producer/.test(p)), JSON.stringify(verify(m)));
  const c = chain();
  c.graph.nodes[0].domain = 'com.example';
  assert.ok(verify(c).some((p) => /imports no opset for domain 'com.example'/.test(p)), JSON.stringify(verify(c)));
});
