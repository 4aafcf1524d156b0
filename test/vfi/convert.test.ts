import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chwToHwc, hwcToChw, padTo } from '../../src/vfi/convert.js';

function randomRgb(w: number, h: number, seed = 1): Uint8Array {
  const a = new Uint8Array(w * h * 3);
  let s = seed;
  for (let i = 0; i < a.length; i++) a[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return a;
}

test('hwcToChw → chwToHwc is the identity, also for odd sizes padded to 32', () => {
  for (const [w, h] of [[333, 277], [64, 32], [1, 1]]) {
    const rgb = randomRgb(w, h);
    const pw = padTo(w, 32);
    const ph = padTo(h, 32);
    const planar = new Float32Array(3 * pw * ph);
    hwcToChw(rgb, w, h, planar, pw, ph);
    const back = new Uint8Array(rgb.length);
    chwToHwc(planar, pw, ph, back, w, h);
    assert.deepEqual(back, rgb, `${w}x${h}`);
  }
});

test('hwcToChw writes planes in [0,1] and repeats edge pixels into the padding', () => {
  const w = 3;
  const h = 2;
  const rgb = Uint8Array.from([0, 10, 20, 255, 128, 1, 7, 8, 9, /* row 2 */ 30, 40, 50, 60, 70, 80, 90, 100, 110]);
  const pw = 5;
  const ph = 4;
  const p = new Float32Array(3 * pw * ph);
  hwcToChw(rgb, w, h, p, pw, ph);
  const at = (c: number, y: number, x: number) => Math.round(p[c * pw * ph + y * pw + x] * 255);
  assert.equal(at(0, 0, 1), 255);
  assert.equal(at(1, 0, 1), 128);
  assert.equal(at(2, 1, 0), 50);
  assert.equal(at(0, 0, 4), 7, 'right padding repeats the last column');
  assert.equal(at(2, 3, 4), 110, 'bottom padding repeats the last row (with its right padding)');
  assert.equal(at(1, 3, 0), 40);
});

test('chwToHwc rounds, clamps out-of-range values and maps NaN to 0', () => {
  const p = Float32Array.from([-0.5, 1.7, NaN, 0.5 / 255 + 1e-4, 0.2, 0.2, 0.4, 0.4, 0.4, 1, 0.999, 0]);
  // A 4x1 frame: planes R = p[0..3], G = p[4..7], B = p[8..11].
  const out = new Uint8Array(12);
  chwToHwc(p, 4, 1, out, 4, 1);
  assert.deepEqual([out[0], out[3], out[6], out[9]], [0, 255, 0, 1]);
  assert.deepEqual([out[1], out[4]], [51, 51]);
});
