import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFrames } from '../../src/video/decode.js';
import { FramePool } from '../../src/video/frames.js';
import { badInputs } from '../fixtures/vfi/bad.js';

test('decoding through a 2-buffer pool with a slow consumer delivers every frame in order and allocates 2 buffers', async () => {
  const file = badInputs.odd();
  const pool = new FramePool(333 * 277 * 3, 2);
  const seen: number[] = [];
  for await (const f of decodeFrames(file, 333, 277, pool)) {
    seen.push(f.index);
    await new Promise((r) => setTimeout(r, 20));
    f.release();
  }
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.ok(pool.allocated <= 2, 'memory is bounded by the pool, not by the video length');
});

test('stopping early kills ffmpeg and releases the buffer being filled', async () => {
  const pool = new FramePool(333 * 277 * 3, 2);
  for await (const f of decodeFrames(badInputs.odd(), 333, 277, pool)) {
    f.release();
    break;
  }
  // Both buffers are free again: two acquires resolve at once.
  const a = await pool.acquire();
  const b = await pool.acquire();
  a.release();
  b.release();
});

test('a decode error names the file', async () => {
  const pool = new FramePool(64 * 48 * 3, 2);
  await assert.rejects(async () => {
    for await (const f of decodeFrames(badInputs.notVideo(), 64, 48, pool)) f.release();
  }, /not-a-video\.mp4: ffmpeg could not decode it/);
});

test('memory stays flat while decoding: 300 frames through a 3-buffer pool retain no per-frame memory', async () => {
  const file = badInputs.long320();
  const pool = new FramePool(320 * 240 * 3, 3);
  let at50 = 0;
  let n = 0;
  for await (const f of decodeFrames(file, 320, 240, pool)) {
    n++;
    if (n === 50) at50 = process.memoryUsage().arrayBuffers;
    f.release();
  }
  const growth = (process.memoryUsage().arrayBuffers - at50) / 1048576;
  assert.equal(n, 300);
  // 250 more frames are 57 MB of pixels; retaining them (as a Promise.race against ffmpeg's exit
  // once did with every stdout chunk) shows here.
  assert.ok(growth < 25, `array buffers grew by ${growth.toFixed(1)} MB over 250 frames`);
});
