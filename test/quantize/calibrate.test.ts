import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImage, entropyRange, listImages, loadSamples, percentileRange, collectRanges, rng } from '../../src/quantize/calibrate.js';
import { encodeNpy } from '../../src/onnx/tensor-file.js';
import { Tensor } from '../../src/ir/tensor.js';
import { DataType } from '../../src/ir/dtype.js';
import { UsageError } from '../../src/errors.js';
import { computedValues, probeTypes, withExtraOutputs } from '../../src/quantize/graph-util.js';
import { createSession, run } from '../../src/runtime/session.js';
import { mlpAttention, recurrentNet, resnetTiny, warpNet } from './models.js';

const PHOTOS = '/usr/share/backgrounds/mate/nature';

/** Histogram of 100 000 N(0,1) values plus 10 outliers at ±50, over its own min/max. */
function gaussianWithOutliers(bins: number, abs: boolean): { h: Float64Array; min: number; max: number } {
  const r = rng(3);
  const xs: number[] = [];
  for (let i = 0; i < 100_000; i++) xs.push(Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r()));
  for (let i = 0; i < 10; i++) xs.push(i % 2 ? 50 : -50);
  const min = Math.min(...xs), max = Math.max(...xs);
  const h = new Float64Array(bins);
  const top = abs ? Math.max(-min, max) : max - min;
  for (const x of xs) h[Math.min(bins - 1, Math.floor(((abs ? Math.abs(x) : x - min) / top) * bins))]++;
  return { h, min, max };
}

test('percentile calibration cuts rare outliers that MinMax keeps', () => {
  const { h, min, max } = gaussianWithOutliers(2048, false);
  const r = percentileRange(h, { min, max }, 99.99);
  assert.ok(r.max < 6 && r.max > 3, `upper bound ${r.max}`);
  assert.ok(r.min > -6 && r.min < -3, `lower bound ${r.min}`);
  const all = percentileRange(h, { min, max }, 100);
  assert.ok(Math.abs(all.max - max) < 1e-9 && Math.abs(all.min - min) < 0.1, `100 % keeps the range: ${all.min}..${all.max}`);
  assert.throws(() => percentileRange(h, { min, max }, 0), UsageError);
});

test('entropy (KL) calibration picks a threshold well inside the outliers but past the bulk', () => {
  const { h, min, max } = gaussianWithOutliers(2048, true);
  const r = entropyRange(h, { min, max });
  assert.ok(r.max > 2.5 && r.max < 20, `threshold ${r.max}`);
  assert.equal(r.min, -r.max);
});

test('MinMax over real activations matches a JS recomputation from the exposed tensor', async () => {
  const m = warpNet();
  const { samples } = await loadSamples(m, { kind: 'random', count: 3 });
  const ranges = await collectRanges(m, samples, ['enc1_out', 'middle'], { calibrator: 'minmax' });
  const r = ranges.get('middle')!;
  assert.ok(r.min < r.max && r.min > -2 && r.max < 3, `${r.min}..${r.max}`);
  const pr = await collectRanges(m, samples, ['enc1_out'], { calibrator: 'percentile', percentile: 99 });
  const mm = ranges.get('enc1_out')!;
  assert.ok(pr.get('enc1_out')!.max < mm.max && pr.get('enc1_out')!.min > mm.min, 'percentile 99 narrows the MinMax range on both sides');
  const en = (await collectRanges(m, samples, ['enc1_out'], { calibrator: 'entropy' })).get('enc1_out')!;
  assert.ok(en.max <= mm.max && en.min >= mm.min && en.max > 0, `entropy range ${en.min}..${en.max} inside MinMax ${mm.min}..${mm.max}`);
});

test('chunked calibration (a budget of one tensor per run) gives the same ranges, and checks dims against the probed info', async () => {
  const m = warpNet();
  const { samples } = await loadSamples(m, { kind: 'random', count: 3 });
  const info = await probeTypes(m, samples[0]);
  const names = computedValues(m).filter((v) => info.get(v.name)?.dtype === 'float32').map((v) => v.name);
  assert.ok(names.length > 3);
  for (const calibrator of ['minmax', 'entropy'] as const) {
    const whole = await collectRanges(m, samples, names, { calibrator });
    const chunked = await collectRanges(m, samples, names, { calibrator, info, budgetBytes: 1 });
    assert.deepEqual([...chunked.entries()].sort(), [...whole.entries()].sort(), calibrator);
  }
  const wrong = new Map(info);
  wrong.set(names[1], { dtype: 'float32', dims: [1, 2, 3] });
  await assert.rejects(collectRanges(m, samples, names, { calibrator: 'minmax', info: wrong, budgetBytes: 1 }), new RegExp(`value '${names[1]}' is float32 .* in onnxruntime but float32 1×2×3 by kiln's shape inference`));
});

test("probeTypes: kiln's shape inference gives every value the type and dims onnxruntime computes", async () => {
  for (const [name, m] of [['warpNet', warpNet()], ['resnetTiny', resnetTiny()], ['mlpAttention', mlpAttention()], ['recurrentNet gru', recurrentNet({ gru: true })]] as const) {
    const { samples } = await loadSamples(m, { kind: 'random', count: 1 });
    const info = await probeTypes(m, samples[0]);
    const names = computedValues(m).map((v) => v.name);
    const s = await createSession(withExtraOutputs(m, names), { optLevel: 'disabled' }, name);
    try {
      const res = await run(s, samples[0], name);
      for (const n of names) assert.deepEqual(info.get(n), { dtype: res[n].type, dims: [...res[n].dims] }, `${name}: ${n}`);
    } finally {
      await s.release();
    }
  }
});

test('image folder: non-image file, empty folder and missing folder are clear errors', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-calib-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => listImages(join(dir, 'nope')), /no such folder/);
  assert.throws(() => listImages(dir), /holds no images \(count 0\)/);
  writeFileSync(join(dir, 'a.jpg'), 'x');
  writeFileSync(join(dir, 'notes.txt'), 'not an image');
  assert.throws(() => listImages(dir), (e: Error) => e instanceof UsageError && /notes\.txt is not an image/.test(e.message));
});

test('a file named .jpg that is not an image fails in decoding with the file named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-calib-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'broken.jpg'), 'definitely not a jpeg');
  await assert.rejects(decodeImage(join(dir, 'broken.jpg'), 8, 8), (e: Error) => e instanceof UsageError && /broken\.jpg: ffmpeg could not decode/.test(e.message));
});

test('real photos decode through ffmpeg to normalized NCHW samples of the model size', async (t) => {
  if (!existsSync(PHOTOS)) return t.skip(`${PHOTOS} absent (Debian mate-backgrounds)`);
  const m = resnetTiny({ size: 32 });
  const set = await loadSamples(m, { kind: 'images', dir: PHOTOS, count: 2, preprocess: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] } });
  assert.equal(set.samples.length, 2);
  const x = set.samples[0].image;
  assert.deepEqual(x.dims, [1, 3, 32, 32]);
  const d = x.data as Float32Array;
  const lo = Math.min(...d), hi = Math.max(...d);
  assert.ok(lo >= -2 - 1e-6 && hi <= 2 + 1e-6 && hi - lo > 0.5, `normalized range ${lo}..${hi}`);
  // Raw pixels agree with the normalization: x = (p/255 − 0.5)/0.25.
  const rgb = await decodeImage(set.samples.length ? listImages(PHOTOS)[0] : '', 32, 32);
  assert.ok(Math.abs(d[0] - (rgb[0] / 255 - 0.5) / 0.25) < 1e-6);
  assert.ok(Math.abs(d[32 * 32] - (rgb[1] / 255 - 0.5) / 0.25) < 1e-6, 'channel 1 of pixel 0 is plane 1');
});

test('image size must match a fixed model size; symbolic sizes need --calib-size', async (t) => {
  if (!existsSync(PHOTOS)) return t.skip(`${PHOTOS} absent`);
  const m = resnetTiny({ size: 32 });
  await assert.rejects(loadSamples(m, { kind: 'images', dir: PHOTOS, count: 1, preprocess: { size: [64, 64], mean: [0, 0, 0], std: [1, 1, 1] } }), /does not match input 'image'/);
});

test('tensor files: .npy batches split into samples; wrong shape and zero count are errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-calib-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const m = resnetTiny({ size: 16 });
  const n = 3 * 3 * 16 * 16;
  writeFileSync(join(dir, 'batch.npy'), encodeNpy(Tensor.from(DataType.FLOAT, [3, 3, 16, 16], Float32Array.from({ length: n }, (_, i) => i / n))));
  const set = await loadSamples(m, { kind: 'tensors', path: join(dir, 'batch.npy') });
  assert.equal(set.samples.length, 3);
  assert.deepEqual(set.samples[1].image.dims, [1, 3, 16, 16]);
  assert.ok(Math.abs((set.samples[1].image.data as Float32Array)[0] - 768 / n) < 1e-7);
  writeFileSync(join(dir, 'wrong.npy'), encodeNpy(Tensor.from(DataType.FLOAT, [1, 3, 8, 8], new Float32Array(192))));
  await assert.rejects(loadSamples(m, { kind: 'tensors', path: join(dir, 'wrong.npy') }), /has shape \[1,3,8,8\].*wants \[batch,3,16,16\]/);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  await assert.rejects(loadSamples(m, { kind: 'tensors', path: empty }), /no samples \(count 0\)/);
  await assert.rejects(loadSamples(m, { kind: 'given', samples: [] }), /count 0/);
  await assert.rejects(loadSamples(m, { kind: 'random', count: 0 }), /at least 1/);
});
