import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FramePool } from '../../src/video/frames.js';
import { BoundedQueue } from '../../src/video/queue.js';

const tick = () => new Promise((r) => setImmediate(r));

test('push waits while the queue is full: a fast producer cannot run ahead of a slow consumer', async () => {
  const q = new BoundedQueue<number>(3, 'q');
  let produced = 0;
  const producer = (async () => {
    for (let i = 0; i < 100; i++) {
      await q.push(i);
      produced++;
    }
    q.close();
  })();
  await tick();
  assert.equal(produced, 3, 'stops at capacity until someone pulls');
  const got: number[] = [];
  for (;;) {
    const v = await q.pull();
    if (v === undefined) break;
    got.push(v);
    if (got.length % 10 === 0) await tick();
  }
  await producer;
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i));
  assert.equal(q.peak, 3);
});

test('fail wakes a blocked producer and a blocked consumer with the error and drops queued items', async () => {
  const full = new BoundedQueue<string>(1);
  await full.push('a');
  const blockedPush = full.push('b');
  const dropped: string[] = [];
  full.fail(new Error('boom'), (x) => dropped.push(x));
  await assert.rejects(blockedPush, /boom/);
  assert.deepEqual(dropped, ['a']);
  const empty = new BoundedQueue<string>(1);
  const blockedPull = empty.pull();
  empty.fail(new Error('stop'));
  await assert.rejects(blockedPull, /stop/);
});

test('a frame pool never allocates past its capacity; acquire waits for a release', async () => {
  const pool = new FramePool(16, 2);
  const a = await pool.acquire();
  const b = await pool.acquire();
  let third: unknown = null;
  const pending = pool.acquire().then((f) => (third = f));
  await tick();
  assert.equal(third, null);
  b.retain();
  b.release();
  await tick();
  assert.equal(third, null, 'still one reference on b');
  b.release();
  await pending;
  assert.equal(third, b, 'the released buffer is reused');
  assert.equal(pool.allocated, 2);
  a.release();
  assert.throws(() => a.release(), /released more often/);
});
