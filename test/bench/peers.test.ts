import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { OrtRunner } from '../../src/bench/harness.js';
import { parseTorchDef, torchUnavailable, TorchRunner } from '../../src/bench/peers/torch.js';
import { randomFeeds } from '../../src/bench/inputs.js';
import { KilnError, UsageError } from '../../src/errors.js';
import { benchModels } from './models.js';

const FP32_ABS = 1e-5;

test('PyTorch eager and TorchScript peers compute what the exported ONNX model computes', async (t) => {
  const why = torchUnavailable();
  if (why) return t.skip(why);
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const ort = new OrtRunner({ label: 'ort', model: m.tinyCnn });
  await ort.open();
  const feeds = [ort.feeds, randomFeeds(ort.specs, 99)];
  try {
    for (const mode of ['eager', 'torchscript'] as const) {
      const peer: TorchRunner = new TorchRunner({ label: mode, def: parseTorchDef(m.torchDef), mode, specs: ort.specs, feeds });
      await peer.open();
      try {
        assert.ok((await peer.runOnce()) > 0);
        assert.ok(peer.createMs >= 0);
        for (const [k, f] of feeds.entries()) {
          const want = (await ort.session!.run(f)).y.data as Float32Array;
          const [got]: { shape: number[]; data: Float32Array }[] = await peer.outputs(k);
          assert.deepEqual(got.shape, [1, 3, 32, 32]);
          for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got.data[i] - want[i]) <= FP32_ABS, `${mode} set ${k} index ${i}: ${got.data[i]} vs ${want[i]}`);
        }
      } finally {
        await peer.close();
      }
    }
  } finally {
    await ort.close();
  }
});

test('torch definitions: parse errors are usage errors, a missing factory names the file', async (t) => {
  assert.throws(() => parseTorchDef('model.onnx'), UsageError);
  assert.throws(() => parseTorchDef('does/not/exist.py'), /does not exist/);
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  assert.equal(parseTorchDef(`${m.torchDef}:build_model`).factory, 'build_model');
  const why = torchUnavailable();
  if (why) return t.skip(why);
  const ort = new OrtRunner({ label: 'ort', model: m.tinyCnn });
  await ort.open();
  await ort.close();
  const peer = new TorchRunner({ label: 'bad', def: parseTorchDef(`${m.torchDef}:no_such_factory`), mode: 'eager', specs: ort.specs, feeds: [ort.feeds] });
  await assert.rejects(peer.open(), (e: Error) => e instanceof KilnError && e.message.includes('no_such_factory') && e.message.includes(path.basename(m.torchDef)));
  await peer.close();
});
