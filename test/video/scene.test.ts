import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_DEDUP_THRESHOLD, DEFAULT_SCENE_THRESHOLD, histogram, histogramDistance, maxBlockDifference } from '../../src/video/scene.js';
import { photosMissing, renderClip } from '../fixtures/vfi/clips.js';
import { decodeAll } from '../fixtures/vfi/measure.js';

test('the histogram distance separates a hard cut from camera motion on real footage', async (t) => {
  const why = photosMissing();
  if (why) return t.skip(why);
  const { frames, width, height } = await decodeAll(renderClip({ name: 'cut', width: 320, height: 240, rate: '30', frames: 20, cutAt: 10, audio: true, codec: 'x264' }));
  const d = frames.slice(1).map((f, i) => histogramDistance(histogram(frames[i], width, height), histogram(f, width, height)));
  const cut = d[9]; // between frames 9 and 10
  const motion = Math.max(...d.filter((_, i) => i !== 9));
  assert.ok(cut > DEFAULT_SCENE_THRESHOLD, `cut distance ${cut.toFixed(3)}`);
  assert.ok(motion < DEFAULT_SCENE_THRESHOLD / 3, `largest distance under motion ${motion.toFixed(3)}`);
});

test('the duplicate test sees a small moving patch that a whole-frame mean would average away', () => {
  const w = 320;
  const h = 240;
  const a = new Uint8Array(w * h * 3).fill(90);
  const b = a.slice();
  assert.equal(maxBlockDifference(a, b, w, h), 0);
  // A 12x12 patch (0.19 % of the frame) changes by 120 levels.
  for (let y = 100; y < 112; y++) for (let x = 50; x < 62; x++) b.fill(210, (y * w + x) * 3, (y * w + x) * 3 + 3);
  assert.ok(maxBlockDifference(a, b, w, h) > DEFAULT_DEDUP_THRESHOLD * 2);
  // Compression-like noise of ±1 level everywhere stays a duplicate.
  const noisy = a.map((v, i) => v + ((i * 7919) % 3) - 1);
  assert.ok(maxBlockDifference(a, noisy, w, h) < DEFAULT_DEDUP_THRESHOLD);
});
