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
