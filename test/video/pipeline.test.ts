// The whole pipeline on generated footage: frame counts and timestamps checked with ffprobe,
// audio and subtitles copied, metadata preserved, scene cuts, dedup, PSNR against the frames
// that were dropped, and what is left on disk after failures.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultWorkers, interpolateVideo } from '../../src/video/pipeline.js';
import os from 'node:os';
import { parseRate } from '../../src/video/rational.js';
import { badInputs } from '../fixtures/vfi/bad.js';
import { photosMissing, renderClip } from '../fixtures/vfi/clips.js';
import { average, decodeAll, mean, psnr, streams, videoPts } from '../fixtures/vfi/measure.js';
import { fixtureModels, model, whyNoModels } from '../fixtures/vfi/models.js';

const outDir = () => mkdtempSync(join(tmpdir(), 'kiln-vfi-'));
const skipReason = () => (fixtureModels() ? photosMissing() : whyNoModels());

const cutClip = () => renderClip({ name: 'cut', width: 320, height: 240, rate: '30', frames: 20, cutAt: 10, audio: true, codec: 'x264' });

test('2x: twice the frames at exact 1/60 s steps, audio copied with its duration unchanged, no cut interpolated', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const input = cutClip();
  const output = join(outDir(), 'out.mp4');
  const s = await interpolateVideo({ input, output, model: model('kiln_blend') });
  assert.equal(s.framesIn, 20);
  assert.equal(s.framesOut, 40);
  assert.deepEqual(s.sceneCuts, [10]);
  assert.equal(s.interpolated, 18, '19 gaps, one of them the cut');
  const pts = videoPts(output);
  assert.equal(pts.length, 40);
  pts.forEach((p, j) => assert.ok(Math.abs(p - j / 60) < 1e-3, `frame ${j} at ${p}`));
  const [vin, ain] = streams(input);
  const [vout, aout] = streams(output);
  assert.equal(vout.r_frame_rate, '60/1');
  assert.equal(aout.codec_type, 'audio');
  assert.equal(aout.codec_name, ain.codec_name);
  assert.equal(aout.duration, ain.duration, 'audio stream copied unchanged');
  assert.ok(Math.abs(Number(vout.duration) - Number(vin.duration)) < 1e-3, 'video lasts as long as before');
  // Across the cut (input 9 → 10) output 19 repeats input 9 instead of mixing two scenes.
  const { frames } = await decodeAll(output);
  assert.ok(psnr(frames[19], frames[18]) > 40, 'the gap repeats the last frame before the cut');
  assert.ok(psnr(frames[19], average(frames[18], frames[20])) < 25);
});

test('interpolating a pan back to the double rate beats frame averaging against the dropped frames (flow fixture)', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const spec = { name: 'pan', width: 320, height: 240, rate: '60', frames: 24, dx: 2, dy: 1, zoom: 0.001 };
  const truth = (await decodeAll(renderClip({ ...spec, name: 'pan-truth24' }))).frames;
  const input = renderClip({ ...spec, name: 'pan-input24', evenOnly: true });
  const output = join(outDir(), 'pan.mkv');
  const s = await interpolateVideo({ input, output, model: model('kiln_flow'), encode: { codec: 'ffv1' } });
  assert.equal(s.framesOut, 24);
  const out = (await decodeAll(output)).frames;
  const inFrames = (await decodeAll(input)).frames;
  const model_: number[] = [];
  const avg: number[] = [];
  for (let j = 1; j < 23; j += 2) {
    model_.push(psnr(out[j], truth[j]));
    avg.push(psnr(average(inFrames[(j - 1) / 2], inFrames[(j + 1) / 2]), truth[j]));
  }
  for (let j = 0; j < 24; j += 2) assert.equal(psnr(out[j], truth[j]), Infinity, `kept frame ${j} is bit-exact`);
  assert.ok(mean(model_) > mean(avg) + 3, `model ${mean(model_).toFixed(2)} dB vs averaging ${mean(avg).toFixed(2)} dB`);
});

test('4x with a RIFE-style model, and 24000/1001 → 60000/1001 with exact fractional timestamps', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const input = renderClip({ name: 'ntsc24', width: 160, height: 120, rate: '24000/1001', frames: 12, codec: 'x264' });
  const dir = outDir();
  const four = await interpolateVideo({ input, output: join(dir, 'x4.mp4'), model: model('rife_t'), factor: 4 });
  assert.equal(four.framesOut, 48);
  assert.equal(streams(join(dir, 'x4.mp4'))[0].r_frame_rate, '96000/1001');
  const out = join(dir, 'ntsc60.mp4');
  const s = await interpolateVideo({ input, output: out, model: model('kiln_blend'), fps: parseRate('59.94') });
  assert.equal(s.outputRate, '60000/1001');
  assert.equal(s.framesOut, 30);
  assert.equal(streams(out)[0].r_frame_rate, '60000/1001');
  const pts = videoPts(out);
  assert.equal(pts.length, 30);
  pts.forEach((p, j) => assert.ok(Math.abs(p - (j * 1001) / 60000) < 1e-4, `frame ${j} at ${p}`));
  // A t=0.5-only model cannot make 2.5x.
  await assert.rejects(interpolateVideo({ input, output: join(dir, 'no.mp4'), model: model('pair'), fps: parseRate('60000/1001') }), /t is fixed at 0.5/);
});

test('frame pairs run on several model threads at once come out identical and in order (4x with a cut, the t=0.5-only model, 59.94 fps)', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const input = cutClip();
  const dir = outDir();
  const session = { threads: 1 }; // the same arithmetic in every run
  const runs: [string, object][] = [
    ['flow-x4', { model: model('kiln_flow'), factor: 4 }],
    ['pair-x4', { model: model('pair'), factor: 4 }],
    ['blend-5994', { model: model('kiln_blend'), fps: parseRate('59.94') }],
  ];
  for (const [name, job] of runs) {
    const frames: Uint8Array[][] = [];
    for (const workers of [1, 3]) {
      const output = join(dir, `${name}-${workers}.mkv`);
      const s = await interpolateVideo({ input, output, session, workers, encode: { codec: 'ffv1' }, ...job } as Parameters<typeof interpolateVideo>[0]);
      assert.equal(s.workers, workers);
      assert.deepEqual(s.sceneCuts, [10]);
      frames.push((await decodeAll(output)).frames);
    }
    assert.equal(frames[1].length, frames[0].length, name);
    frames[0].forEach((f, j) => assert.equal(psnr(frames[1][j], f), Infinity, `${name}: frame ${j} differs with 3 model threads`));
  }
});

test('default model threads: two on a multi-core CPU, one on a GPU provider or a single core', () => {
  assert.equal(defaultWorkers('cuda'), 1);
  assert.equal(defaultWorkers('tensorrt'), 1);
  assert.equal(defaultWorkers(), os.availableParallelism() >= 2 ? 2 : 1);
});

test('--dedup: frames drawn on twos become even motion instead of hold-then-jump', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  // Every picture shown twice (12 distinct drawings at 24 fps), lossless.
  const twos = renderClip({ name: 'twos', width: 160, height: 120, rate: '24', frames: 24, dx: 4, dy: 0, twos: true });
  const src = (await decodeAll(twos)).frames;
  assert.equal(psnr(src[0], src[1]), Infinity, 'fixture: frames come in identical pairs');
  const dir = outDir();
  const on = await interpolateVideo({ input: twos, output: join(dir, 'on.mkv'), model: model('kiln_blend'), dedup: true, encode: { codec: 'ffv1' } });
  const off = await interpolateVideo({ input: twos, output: join(dir, 'off.mkv'), model: model('kiln_blend'), encode: { codec: 'ffv1' } });
  assert.ok(on.duplicatesDropped >= 10, `dropped ${on.duplicatesDropped}`);
  assert.equal(off.duplicatesDropped, 0);
  assert.equal(on.framesOut, off.framesOut);
  const a = (await decodeAll(join(dir, 'on.mkv'))).frames;
  const b = (await decodeAll(join(dir, 'off.mkv'))).frames;
  // Output 2 sits at input position 1: a held copy without dedup, halfway to the next drawing with it.
  assert.equal(psnr(b[2], src[0]), Infinity);
  assert.ok(psnr(a[2], average(src[0], src[2])) > 45, 'halfway between drawings 0 and 1');
});

test('odd 333x277 input keeps its size (lossless codec); rotation, colour tags and subtitles carry over', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const dir = outDir();
  const odd = join(dir, 'odd.mkv');
  await interpolateVideo({ input: badInputs.odd(), output: odd, model: model('kiln_blend'), encode: { codec: 'ffv1' } });
  const [v] = streams(odd);
  assert.deepEqual([v.width, v.height], [333, 277]);
  await assert.rejects(interpolateVideo({ input: badInputs.odd(), output: join(dir, 'odd.mp4'), model: model('kiln_blend') }), /333x277 has an odd dimension.*--codec ffv1/);

  const tagged = join(dir, 'tagged.mp4');
  const s = await interpolateVideo({ input: badInputs.tagged(), output: tagged, model: model('kiln_blend') });
  const [vo, so] = streams(tagged);
  assert.equal(vo.side_data_list?.[0]?.rotation, -90);
  assert.deepEqual([vo.width, vo.height], [96, 64], 'stored orientation unchanged');
  assert.deepEqual([vo.color_space, vo.color_primaries, vo.color_transfer, vo.color_range], ['bt709', 'bt709', 'bt709', 'tv']);
  assert.equal(so?.codec_type, 'subtitle');
  assert.deepEqual(s.streamsCopied, ['subtitle #1 (mov_text)']);
});

test('a video that starts after its audio keeps that offset (sound stays in sync)', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const input = badInputs.lateVideo();
  const [vin, ain] = streams(input);
  assert.ok(Math.abs(Number(vin.start_time) - 0.5) < 0.01 && Number(ain.start_time) < 0.01, 'fixture: video 0.5 s late');
  const out = join(outDir(), 'late.mp4');
  const s = await interpolateVideo({ input, output: out, model: model('kiln_blend') });
  assert.equal(s.framesOut, 60);
  const [vo, ao] = streams(out);
  assert.ok(Math.abs(Number(vo.start_time) - Number(vin.start_time)) < 0.002, `video starts at ${vo.start_time}`);
  assert.equal(ao.start_time, ain.start_time);
  assert.equal(vo.r_frame_rate, '60/1');
  const pts = videoPts(out);
  pts.forEach((p, j) => assert.ok(Math.abs(p - (Number(vin.start_time) + j / 60)) < 1e-3, `frame ${j} at ${p}`));
});

test('failures and aborts leave neither the output nor a temporary file behind', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const dir = outDir();
  await assert.rejects(interpolateVideo({ input: cutClip(), output: join(dir, 'nan.mp4'), model: model('kiln_nan') }), /NaN/);
  assert.deepEqual(readdirSync(dir), []);
  const ac = new AbortController();
  const p = interpolateVideo({ input: cutClip(), output: join(dir, 'abort.mp4'), model: model('kiln_flow'), signal: ac.signal, onProgress: (pr) => pr.framesOut === 3 && ac.abort(new Error('stop here')) });
  await assert.rejects(p, /stop here/);
  assert.deepEqual(readdirSync(dir), []);
  await assert.rejects(interpolateVideo({ input: cutClip(), output: cutClip(), model: model('kiln_blend') }), /is the input file/);
  await assert.rejects(interpolateVideo({ input: badInputs.oneFrame(), output: join(dir, 'one.mp4'), model: model('kiln_blend') }), /has 1 frame; interpolation needs at least 2/);
  await assert.rejects(interpolateVideo({ input: badInputs.still(), output: join(dir, 'still.mp4'), model: model('kiln_blend') }), /single image, not a video/);
  await assert.rejects(interpolateVideo({ input: badInputs.huge(), output: join(dir, 'huge.mkv'), model: model('kiln_blend') }), /16384/);
  // the model loads while the input is probed: the input's error comes first, the model's when the input is fine
  await assert.rejects(interpolateVideo({ input: badInputs.oneFrame(), output: join(dir, 'both.mp4'), model: model('wrong_inputs') }), /has 1 frame/);
  await assert.rejects(interpolateVideo({ input: cutClip(), output: join(dir, 'model.mp4'), model: model('wrong_inputs') }), /wrong_inputs\.onnx.*supported: kiln/s);
  await assert.rejects(interpolateVideo({ input: join(dir, 'missing.mp4'), output: join(dir, 'missing-out.mp4'), model: join(dir, 'missing.onnx') }), /missing\.mp4/);
  assert.deepEqual(readdirSync(dir), []);
});
