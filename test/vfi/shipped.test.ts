// The shipped model (models/kiln-vfi.onnx, see models/MODEL_CARD.md) through the whole video
// pipeline: a camera pan over a real photo, rendered at 60 fps, every other frame dropped and
// interpolated back; and the real dev triplets. The model must beat frame averaging on both.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { interpolateVideo } from '../../src/video/pipeline.js';
import { readPicture } from '../../src/vfi/images.js';
import { Interpolator } from '../../src/vfi/interpolator.js';
import { SHIPPED_MODEL } from '../../src/vfi/models.js';
import { photosMissing, renderClip } from '../fixtures/vfi/clips.js';
import { average, decodeAll, mean, psnr } from '../fixtures/vfi/measure.js';

for (const scale of [1, 0.5]) {
  test(`the shipped model beats frame averaging on the dropped frames of a pan/zoom clip (motion at scale ${scale})`, async (t) => {
    if (!existsSync(SHIPPED_MODEL)) return t.skip('models/kiln-vfi.onnx is not exported yet (see models/MODEL_CARD.md)');
    const why = photosMissing();
    if (why) return t.skip(why);
    const spec = { width: 320, height: 240, rate: '60', frames: 24, dx: 2, dy: 1, zoom: 0.002 };
    const truth = (await decodeAll(renderClip({ ...spec, name: 'shipped-truth' }))).frames;
    const input = renderClip({ ...spec, name: 'shipped-input', evenOnly: true });
    const output = join(mkdtempSync(join(tmpdir(), 'kiln-shipped-')), 'out.mkv');
    const s = await interpolateVideo({ input, output, model: SHIPPED_MODEL, scale, encode: { codec: 'ffv1' } });
    assert.equal(s.adapter, 'kiln');
    assert.equal(s.framesOut, 24);
    const out = (await decodeAll(output)).frames;
    const inFrames = (await decodeAll(input)).frames;
    const got: number[] = [];
    const avg: number[] = [];
    for (let j = 1; j < 23; j += 2) {
      got.push(psnr(out[j], truth[j]));
      avg.push(psnr(average(inFrames[(j - 1) / 2], inFrames[(j + 1) / 2]), truth[j]));
    }
    t.diagnostic(`shipped model (scale ${scale}) ${mean(got).toFixed(2)} dB, averaging ${mean(avg).toFixed(2)} dB`);
    assert.ok(mean(got) > mean(avg), `model ${mean(got).toFixed(2)} dB vs averaging ${mean(avg).toFixed(2)} dB`);
  });
}

/** The vfi-dev README's reference: ffmpeg minterpolate (mci, aobmc, bidir) on the 21 triplets. */
const MINTERPOLATE_DEV_PSNR = 33.05;

test('on the real dev triplets (vfi-dev, UCF101) the shipped model through kiln\'s own pre/post-processing beats averaging at scale 1 and minterpolate at --scale auto', async (t) => {
  if (!existsSync(SHIPPED_MODEL)) return t.skip('models/kiln-vfi.onnx is not exported yet (see models/MODEL_CARD.md)');
  const dir = fileURLToPath(new URL('../../../shared/data/vfi-dev/ucf101/', import.meta.url));
  if (!existsSync(dir)) return t.skip(`${dir} not present (the shared validation triplets)`);
  const ids = readdirSync(dir).filter((d) => existsSync(join(dir, d, 'frame1.png')));
  const triplets = await Promise.all(ids.map((id) => Promise.all(['frame0', 'frame1', 'frame2'].map((f) => readPicture(join(dir, id, `${f}.png`))))));
  const avg = triplets.map(([a, m, b]) => psnr(average(a.rgb, b.rgb), m.rgb));
  const scores: Record<string, number> = {};
  for (const scale of [1, 'auto'] as const) {
    const got: number[] = [];
    let interp: Interpolator | null = null;
    for (const [a, m, b] of triplets) {
      interp ??= await Interpolator.create(SHIPPED_MODEL, a.width, a.height, { scale });
      const pa = interp.newPlanar();
      const pb = interp.newPlanar();
      interp.prepare(a.rgb, pa);
      interp.prepare(b.rgb, pb);
      const out = new Uint8Array(a.rgb.length);
      await interp.interpolate(pa, pb, 0.5, out);
      got.push(psnr(out, m.rgb));
    }
    t.diagnostic(`${ids.length} triplets, scale ${scale} (${interp?.scale}): shipped model ${mean(got).toFixed(2)} dB, averaging ${mean(avg).toFixed(2)} dB`);
    if (scale === 'auto') assert.equal(interp?.scale, 2, '320x240 triplets run at motion scale 2');
    await interp?.release();
    scores[scale] = mean(got);
  }
  assert.ok(ids.length >= 10);
  assert.ok(scores[1] > mean(avg), `model ${scores[1].toFixed(2)} dB vs averaging ${mean(avg).toFixed(2)} dB`);
  assert.ok(scores.auto > MINTERPOLATE_DEV_PSNR, `model at --scale auto ${scores.auto.toFixed(2)} dB vs minterpolate ${MINTERPOLATE_DEV_PSNR} dB`);
});
