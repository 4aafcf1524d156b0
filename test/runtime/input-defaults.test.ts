// Inputs a model declares a value for (metadata `kiln.input_defaults`) are fed that value by the
// benchmarks, the optimizer's differential check and calibration, never random data.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { OrtRunner } from '../../src/bench/harness.js';
import { describeShape, randomFeeds, resolveInputs } from '../../src/bench/inputs.js';
import { ModelError } from '../../src/errors.js';
import { DataType } from '../../src/ir/dtype.js';
import { encodeModel } from '../../src/onnx/write.js';
import { makeFeeds } from '../../src/passes/check.js';
import { inputsOf, loadSamples } from '../../src/quantize/calibrate.js';
import { INPUT_DEFAULTS_KEY, inputDefaults } from '../../src/runtime/input-defaults.js';
import { createSession } from '../../src/runtime/session.js';
import { build } from '../passes/helpers.js';

const F = DataType.FLOAT;

/** y = x * scale, with scale declared as 1 and a timestep left random. */
function model() {
  const m = build((b) => {
    const x = b.input('x', F, [1, 3, 8, 8]);
    const s = b.input('scale', F, [1]);
    const t = b.input('t', F, [1]);
    b.output(b.op('Mul', [b.op('Mul', [x, s]), t], {}, { output: 'y' }), F);
  });
  m.metadataProps.push({ key: INPUT_DEFAULTS_KEY, value: '{"scale": 1}' });
  return m;
}

test('declared input values are parsed, and bad declarations name the key and the input', () => {
  assert.deepEqual([...inputDefaults({ [INPUT_DEFAULTS_KEY]: '{"scale": 0.5, "n": 2}' })], [['scale', 0.5], ['n', 2]]);
  assert.equal(inputDefaults({}).size, 0);
  assert.equal(inputDefaults([{ key: INPUT_DEFAULTS_KEY, value: '{"scale": 1}' }]).get('scale'), 1);
  assert.throws(() => inputDefaults({ [INPUT_DEFAULTS_KEY]: 'scale=1' }, 'm.onnx'), (e: Error) => e instanceof ModelError && /m\.onnx: metadata kiln\.input_defaults='scale=1' is not JSON/.test(e.message));
  assert.throws(() => inputDefaults({ [INPUT_DEFAULTS_KEY]: '[1]' }), /must be a JSON object/);
  assert.throws(() => inputDefaults({ [INPUT_DEFAULTS_KEY]: '{"scale": "1"}' }), /input 'scale' has value "1", not a finite number/);
});

test('benchmark feeds, optimizer-check feeds and calibration samples use the declared value', async () => {
  const m = model();
  const bytes = encodeModel(m);
  const file = join(mkdtempSync(join(tmpdir(), 'kiln-defaults-')), 'm.onnx');
  writeFileSync(file, bytes);
  const s = await createSession(file);
  try {
    for (const source of [file, bytes]) {
      const specs = resolveInputs(s.inputMetadata, {}, 'm', source);
      assert.deepEqual(specs.map((x) => x.fill), [undefined, 1, undefined]);
      const feeds = randomFeeds(specs, 3);
      assert.deepEqual([...(feeds.scale.data as Float32Array)], [1]);
      assert.notEqual((feeds.t.data as Float32Array)[0], 1);
    }
    // without the model source, every input is random (the old behaviour, for sessions alone)
    assert.equal(resolveInputs(s.inputMetadata, {}, 'm')[1].fill, undefined);
  } finally {
    await s.release();
  }
  // a benchmark can set the value itself (the VFI bench times scale 0.5)
  const r = new OrtRunner({ label: 'm', model: file, values: { scale: 0.5 } });
  await r.open();
  try {
    assert.deepEqual([...(r.feeds.scale.data as Float32Array)], [0.5]);
    assert.match(describeShape(r.specs), /scale=1 \(value 0\.5\)/);
  } finally {
    await r.close();
  }
  await assert.rejects(async () => {
    const bad = new OrtRunner({ label: 'm', model: file, values: { scael: 0.5 } });
    await bad.open();
  }, /no input 'scael' to set \(inputs: x, scale, t\)/);
  const check = makeFeeds(m, { seed: 2 });
  assert.deepEqual([...(check.feeds.scale.data as Float32Array)], [1]);
  assert.match(check.info.find((i) => i.name === 'scale')!.source, /declared by the model/);
  assert.deepEqual(inputsOf(m).map((i) => i.fill), [undefined, 1, undefined]);
  const set = await loadSamples(m, { kind: 'random', count: 3, seed: 4 });
  for (const sample of set.samples) assert.deepEqual([...(sample.scale.data as Float32Array)], [1]);
  assert.notDeepEqual([...(set.samples[0].t.data as Float32Array)], [...(set.samples[1].t.data as Float32Array)]);
  // given samples need not carry the declared input; the other inputs are still required
  const x = set.samples[0].x;
  const given = await loadSamples(m, { kind: 'given', samples: [{ x, t: set.samples[0].t }] });
  assert.deepEqual([...(given.samples[0].scale.data as Float32Array)], [1]);
  await assert.rejects(loadSamples(m, { kind: 'given', samples: [{ x }] }), /sample 0: no tensor for input 't'/);
});
