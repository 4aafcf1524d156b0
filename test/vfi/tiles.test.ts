import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accumulateTile, layoutTiles, normalize, ramp, tileStarts } from '../../src/vfi/tiles.js';

test('tile starts cover the extent, step by size − overlap and end exactly at the border', () => {
  assert.deepEqual(tileStarts(100, 128, 16), [0]);
  assert.deepEqual(tileStarts(256, 128, 32), [0, 96, 128]);
  for (const [extent, size, overlap] of [[1000, 256, 32], [257, 64, 8], [64, 64, 8]]) {
    const s = tileStarts(extent, size, overlap);
    assert.equal(s[0], 0);
    assert.equal(s.at(-1)! + size, extent);
    for (let i = 1; i < s.length; i++) assert.ok(s[i] - s[i - 1] <= size - overlap && s[i] > s[i - 1]);
  }
  assert.throws(() => tileStarts(100, 32, 32), /overlap/);
});

test('ramps are 1 at the frame border and fall across the overlap towards neighbours', () => {
  const r = ramp(96, 128, 256, 32); // a middle tile
  assert.ok(r[0] < 0.05 && r[127] < 0.05 && r[64] === 1);
  const first = ramp(0, 128, 256, 32);
  assert.equal(first[0], 1);
  assert.ok(first[127] < 0.05);
});

test('blending tiles of a smooth image reproduces it (weights sum correctly everywhere)', () => {
  const w = 200;
  const h = 120;
  const T = 64;
  const O = 16;
  const img = new Float32Array(3 * w * h);
  for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img[c * w * h + y * w + x] = (x + 2 * y + 50 * c) / 500;
  const acc = new Float32Array(3 * w * h);
  const wsum = new Float32Array(w * h);
  const tile = new Float32Array(3 * T * T);
  for (const { x, y } of layoutTiles(w, h, T, T, O)) {
    for (let c = 0; c < 3; c++) for (let r = 0; r < T; r++) tile.set(img.subarray(c * w * h + (y + r) * w + x, c * w * h + (y + r) * w + x + T), c * T * T + r * T);
    accumulateTile(acc, wsum, w, h, tile, x, y, T, T, ramp(x, T, w, O), ramp(y, T, h, O));
  }
  normalize(acc, wsum);
  let worst = 0;
  for (let i = 0; i < img.length; i++) worst = Math.max(worst, Math.abs(acc[i] - img[i]));
  assert.ok(worst < 1e-5, `max error ${worst}`);
});
