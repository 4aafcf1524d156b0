import assert from 'node:assert/strict';
import { test } from 'node:test';
import { probe, vfrEvidence } from '../../src/video/probe.js';
import { format } from '../../src/video/rational.js';
import { badInputs } from '../fixtures/vfi/bad.js';
import { photosMissing, renderClip } from '../fixtures/vfi/clips.js';

test('probe reads size, exact rate, frame count, duration and the streams to copy', async (t) => {
  const why = photosMissing();
  if (why) return t.skip(why);
  const cut = renderClip({ name: 'cut', width: 320, height: 240, rate: '30', frames: 20, cutAt: 10, audio: true, codec: 'x264' });
  const info = await probe(cut);
  assert.equal(info.width, 320);
  assert.equal(info.height, 240);
  assert.equal(format(info.rate), '30');
  assert.equal(info.frames, 20);
  assert.ok(Math.abs(info.duration - 20 / 30) < 0.01);
  assert.deepEqual(info.others.map((s) => [s.type, s.codec]), [['audio', 'aac']]);
  assert.equal(info.still, false);
  // Matroska has no frame count in its header: it is counted from the packets.
  const mkv = await probe(renderClip({ name: 'pan-input', width: 320, height: 240, rate: '60', frames: 40, evenOnly: true }));
  assert.equal(mkv.frames, 20);
});

test('probe reads rotation and colour tags', async () => {
  const info = await probe(badInputs.tagged());
  assert.equal(info.rotation, -90);
  assert.deepEqual(info.color, { range: 'tv', space: 'bt709', transfer: 'bt709', primaries: 'bt709' });
  assert.deepEqual(info.others.map((s) => s.type), ['subtitle']);
});

test('probe refuses what kiln cannot process, naming the file and the fix', async () => {
  await assert.rejects(probe('/nonexistent/clip.mp4'), /clip\.mp4: no such file/);
  await assert.rejects(probe(badInputs.notVideo()), /not-a-video\.mp4: not a video or image ffprobe can read/);
  await assert.rejects(probe(badInputs.tenBit()), /more than 8 bits per component \(yuv420p10le\).*-pix_fmt yuv420p/);
  await assert.rejects(probe(badInputs.alpha()), /alpha channel \(yuva420p\)/);
  await assert.rejects(probe(badInputs.vfr()), /variable frame rate .*-fps_mode cfr/);
  await assert.rejects(probe(badInputs.huge()), /16400x16 is larger than kiln's limit of 16384/);
  assert.equal((await probe(badInputs.longBframes())).frames, 300, 'B-frame reordering at the edge of the checked window is not a VFR gap');
  const still = await probe(badInputs.still());
  assert.equal(still.still, true);
  assert.equal((await probe(badInputs.oneFrame())).frames, 1);
});

test('vfrEvidence accepts jitter from container time bases and flags real gaps', () => {
  const r = { num: 30000, den: 1001 };
  const cfr = Array.from({ length: 100 }, (_, i) => Math.round((i * 1001) / 30) / 1000); // ms-rounded (Matroska)
  assert.equal(vfrEvidence(cfr, r), null);
  const shuffled = [...cfr.slice(0, 50)].reverse().concat(cfr.slice(50)); // decode order
  assert.equal(vfrEvidence(shuffled, r), null);
  const gap = cfr.map((x, i) => (i > 40 ? x + 0.1 : x));
  assert.match(vfrEvidence(gap, r)!, /1 of 99 frame steps/);
});
