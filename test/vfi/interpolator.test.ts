// The interpolator on real picture crops, with each fixture model convention: results are
// checked against values computed here from the inputs (blend models) or against the true
// middle frame of a camera pan (flow model).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autoScale, Interpolator, scaledMultiple } from '../../src/vfi/interpolator.js';
import { readPicture } from '../../src/vfi/images.js';
import { photosMissing, renderPicturePair } from '../fixtures/vfi/clips.js';
import { average, psnr } from '../fixtures/vfi/measure.js';
import { fixtureModels, model, whyNoModels } from '../fixtures/vfi/models.js';

function blend(a: Uint8Array, b: Uint8Array, t: number): Uint8Array {
  const o = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) o[i] = Math.round(a[i] * (1 - t) + b[i] * t);
  return o;
}

/** Largest |x − y| over two uint8 images. */
function maxDiff(x: Uint8Array, y: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

async function run(name: string, a: Uint8Array, b: Uint8Array, w: number, h: number, t: number, opts = {}): Promise<{ out: Uint8Array; interp: Interpolator }> {
  const interp = await Interpolator.create(model(name), w, h, opts);
  const pa = interp.newPlanar();
  const pb = interp.newPlanar();
  interp.prepare(a, pa);
  interp.prepare(b, pb);
  const out = new Uint8Array(a.length);
  await interp.interpolate(pa, pb, t, out);
  await interp.release();
  return { out, interp };
}

const skipReason = () => (fixtureModels() ? photosMissing() : whyNoModels());

test('every adapter feeds its model correctly: blends at t match (1−t)·A + t·B on an odd-sized 333x277 frame', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const files = renderPicturePair('odd', 333, 277, 12, 6);
  const A = await readPicture(files.a);
  const B = await readPicture(files.b);
  assert.equal(A.width, 333);
  for (const [name, tt] of [['kiln_blend', 0.3], ['rife_t', 0.7], ['rife', 0.5], ['pair', 0.5]] as const) {
    const { out } = await run(name, A.rgb, B.rgb, 333, 277, tt);
    assert.ok(maxDiff(out, blend(A.rgb, B.rgb, tt)) <= 1, `${name} at t=${tt}`);
  }
});

test('a t=0.5-only model reaches t=1/4 and 3/4 by recursion, and rounds other t to eighths', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const files = renderPicturePair('odd', 333, 277, 12, 6);
  const A = await readPicture(files.a);
  const B = await readPicture(files.b);
  for (const tt of [0.25, 0.75, 0.125]) {
    const { out, interp } = await run('pair', A.rgb, B.rgb, 333, 277, tt);
    assert.ok(maxDiff(out, blend(A.rgb, B.rgb, tt)) <= 2, `t=${tt}`);
    assert.equal(interp.approximated, 0);
  }
  const { out, interp } = await run('pair', A.rgb, B.rgb, 333, 277, 0.3);
  assert.equal(interp.approximated, 1);
  assert.ok(maxDiff(out, blend(A.rgb, B.rgb, 0.25)) <= 2, '0.3 is made as 2/8');
});

test('tiled inference (--tile, or a model with fixed 64x64 inputs) equals whole-frame inference', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const files = renderPicturePair('odd', 333, 277, 12, 6);
  const A = await readPicture(files.a);
  const B = await readPicture(files.b);
  const whole = (await run('kiln_blend', A.rgb, B.rgb, 333, 277, 0.4)).out;
  const tiled = await run('kiln_blend', A.rgb, B.rgb, 333, 277, 0.4, { tile: 128, tileOverlap: 24 });
  assert.ok(tiled.interp.tiled && tiled.interp.tileCount > 4, `tiles: ${tiled.interp.tileCount}`);
  assert.ok(maxDiff(tiled.out, whole) <= 1);
  const fixed = await run('kiln_static64', A.rgb, B.rgb, 333, 277, 0.4);
  assert.equal(fixed.interp.tw, 64);
  assert.ok(maxDiff(fixed.out, whole) <= 1);
});

test('the flow fixture recovers a camera pan: PSNR against the true middle beats frame averaging', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const files = renderPicturePair('pan', 320, 240, 8, 4);
  const [A, M, B] = await Promise.all([readPicture(files.a), readPicture(files.m), readPicture(files.b)]);
  const { out } = await run('kiln_flow', A.rgb, B.rgb, 320, 240, 0.5);
  const model = psnr(out, M.rgb);
  const avg = psnr(average(A.rgb, B.rgb), M.rgb);
  assert.ok(model > avg + 5, `flow ${model.toFixed(2)} dB vs averaging ${avg.toFixed(2)} dB`);
});

test('--scale reaches a model with a scale input (a 16 px pan is only found at 0.5) and is refused otherwise', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const files = renderPicturePair('pan16', 320, 240, 16, 0);
  const [A, M, B] = await Promise.all([readPicture(files.a), readPicture(files.m), readPicture(files.b)]);
  const full = psnr((await run('kiln_flow', A.rgb, B.rgb, 320, 240, 0.5, { scale: 1 })).out, M.rgb);
  const half = psnr((await run('kiln_flow', A.rgb, B.rgb, 320, 240, 0.5, { scale: 0.5 })).out, M.rgb);
  assert.ok(half > full + 3, `scale 0.5: ${half.toFixed(2)} dB, scale 1: ${full.toFixed(2)} dB`);
  await assert.rejects(Interpolator.create(model('kiln_blend'), 320, 240, { scale: 0.5 }), /--scale needs a model with a 'scale' input/);
  // the frame is padded so that it is still a multiple of the model's stride after scaling
  await assert.rejects(Interpolator.create(model('kiln_flow'), 320, 240, { scale: 0.3 }), /--scale 0\.3: .* must be a whole number/);
});

/** [width, height, scale]: also in training/tests (metrics.auto_scale); keep the two the same. */
const AUTO_SCALE_TABLE = [
  [64, 48, 4], [160, 120, 4], [320, 240, 2], [333, 277, 2], [480, 340, 1], [640, 360, 1], [640, 480, 1], [960, 540, 1],
  [1280, 720, 0.5], [1920, 1080, 0.5], [2560, 1440, 0.25], [3840, 2160, 0.25], [7680, 4320, 0.25], [240, 320, 2],
] as const;

test('--scale auto: the power of two that brings the short side nearest 480 px (1/4 to 4)', () => {
  for (const [w, h, s] of AUTO_SCALE_TABLE) assert.equal(autoScale(w, h), s, `${w}x${h}`);
});

test('--scale auto resolves per frame size on a model with a scale input and to 1 on others; 2 pads to multiple / 2', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const files = renderPicturePair('pan4', 320, 240, 4, 0);
  const [A, M, B] = await Promise.all([readPicture(files.a), readPicture(files.m), readPicture(files.b)]);
  const auto = await run('kiln_flow', A.rgb, B.rgb, 320, 240, 0.5, { scale: 'auto' });
  const two = await run('kiln_flow', A.rgb, B.rgb, 320, 240, 0.5, { scale: 2 });
  assert.equal(auto.interp.scale, 2);
  assert.deepEqual([two.interp.pw, two.interp.ph], [320, 240]); // kiln_flow's 32 at scale 2: 16
  assert.deepEqual(auto.out, two.out);
  assert.ok(psnr(two.out, M.rgb) > psnr(average(A.rgb, B.rgb), M.rgb) + 3, 'scale 2 finds the 4 px pan');
  const blend = await run('kiln_blend', A.rgb, B.rgb, 320, 240, 0.5, { scale: 'auto' });
  assert.equal(blend.interp.scale, 1);
  await assert.rejects(Interpolator.create(model('kiln_flow'), 320, 240, { scale: 5 }), /--scale must be 'auto' or in \[0\.0625, 4\], got 5/);
  await assert.rejects(Interpolator.create(model('kiln_flow'), 320, 240, { scale: 3 }), /--scale 3: .* must be a whole number/);
});

test('at motion scale s the frame is padded to the model multiple / s', () => {
  assert.equal(scaledMultiple(16, 1), 16);
  assert.equal(scaledMultiple(16, 0.5), 32);
  assert.equal(scaledMultiple(16, 0.25), 64);
  assert.equal(scaledMultiple(32, 0.5), 64);
  assert.throws(() => scaledMultiple(16, 0.3), /multiples of 16 after scaling/);
  assert.throws(() => scaledMultiple(16, 0.7), /whole number/);
});

test('a model that outputs NaN is refused instead of encoding black frames', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const files = renderPicturePair('odd', 333, 277, 12, 6);
  const A = await readPicture(files.a);
  await assert.rejects(run('kiln_nan', A.rgb, A.rgb, 333, 277, 0.5), /contains \d+ NaN values/);
});
