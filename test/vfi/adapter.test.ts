import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectAdapter, DEFAULT_MULTIPLE, type Signature } from '../../src/vfi/adapter.js';
import { readMetadataProps } from '../../src/onnx/metadata.js';
import { createSession } from '../../src/runtime/session.js';
import { fixtureModels, model, whyNoModels } from '../fixtures/vfi/models.js';

async function signature(name: string): Promise<Signature> {
  const s = await createSession(model(name));
  const sig = { inputs: s.inputMetadata, outputs: s.outputMetadata, metadata: readMetadataProps(model(name)) };
  await s.release();
  return sig;
}

test('each input convention is recognised from the model signature', async (t) => {
  if (!fixtureModels()) return t.skip(whyNoModels());
  const cases: [string, string, boolean, number][] = [
    ['kiln_blend', 'kiln', false, 16],
    ['kiln_flow', 'kiln', false, 32],
    ['rife_t', 'rife', false, DEFAULT_MULTIPLE],
    ['rife', 'rife', true, DEFAULT_MULTIPLE],
    ['pair', 'pair', true, DEFAULT_MULTIPLE],
  ];
  for (const [name, kind, fixedT, multiple] of cases) {
    const a = detectAdapter(await signature(name), name);
    assert.equal(a.kind, kind, name);
    assert.equal(a.fixedT, fixedT, name);
    assert.equal(a.multiple, multiple, `${name}: multiple from metadata_props kiln.size_multiple, else the default`);
    assert.equal(a.fixed, undefined);
  }
  assert.equal(detectAdapter(await signature('kiln_flow'), 'f').supportsScale, true);
  assert.equal(detectAdapter(await signature('kiln_blend'), 'f').supportsScale, false);
  assert.deepEqual(detectAdapter(await signature('kiln_static64'), 'f').fixed, { h: 64, w: 64 });
});

test('unknown signatures and forced mismatches say what was found and what is supported', async (t) => {
  if (!fixtureModels()) return t.skip(whyNoModels());
  assert.throws(() => detectAdapter(SIG_WRONG, 'wrong.onnx'), (e: Error) => /wrong\.onnx/.test(e.message) && /image float32\[1,3,H,W\]/.test(e.message) && /supported: kiln/.test(e.message) && /rife/.test(e.message) && /pair/.test(e.message));
  const pair = await signature('pair');
  assert.throws(() => detectAdapter(pair, 'pair.onnx', 'rife'), /does not fit the 'rife' adapter: inputs are a float32\[1,3,H,W\], b float32\[1,3,H,W\]/);
  assert.equal(detectAdapter(pair, 'pair.onnx', 'pair').kind, 'pair');
});

const SIG_WRONG: Signature = {
  inputs: [{ name: 'image', isTensor: true, type: 'float32', shape: [1, 3, 'H', 'W'] }],
  outputs: [{ name: 'out', isTensor: true, type: 'float32', shape: [1, 3, 'H', 'W'] }],
  metadata: {},
};

test('float16 inputs and a fixed batch other than 1 are refused with the input named', () => {
  const half: Signature = {
    inputs: [
      { name: 'img0', isTensor: true, type: 'float16', shape: ['N', 3, 'H', 'W'] },
      { name: 'img1', isTensor: true, type: 'float16', shape: ['N', 3, 'H', 'W'] },
      { name: 'timestep', isTensor: true, type: 'float16', shape: ['N', 1, 1, 1] },
    ],
    outputs: [{ name: 'output', isTensor: true, type: 'float16', shape: ['N', 3, 'H', 'W'] }],
    metadata: {},
  };
  assert.throws(() => detectAdapter(half, 'h.onnx'), /input img0 is float16/);
  const batch4: Signature = { ...SIG_WRONG, inputs: [{ name: 'x', isTensor: true, type: 'float32', shape: [4, 6, 'H', 'W'] }] };
  assert.throws(() => detectAdapter(batch4, 'b.onnx'), /fixed batch of 4/);
  const badMeta: Signature = { ...batch4, inputs: [{ name: 'x', isTensor: true, type: 'float32', shape: [1, 6, 'H', 'W'] }], metadata: { 'kiln.pad_multiple': 'seven' } };
  assert.throws(() => detectAdapter(badMeta, 'm.onnx'), /kiln.pad_multiple='seven'/);
});

test('readMetadataProps reads metadata_props and refuses a file that is not protobuf', async (t) => {
  if (!fixtureModels()) return t.skip(whyNoModels());
  assert.deepEqual(readMetadataProps(model('kiln_blend')), { 'kiln.size_multiple': '16' });
  assert.deepEqual(readMetadataProps(model('pair')), {});
  assert.throws(() => readMetadataProps(new TextEncoder().encode('\xff\xff\xff this is not a model')), /not a readable ONNX protobuf/);
});
