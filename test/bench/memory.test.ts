import assert from 'node:assert/strict';
import { test } from 'node:test';
import { measureMemory } from '../../src/bench/memory.js';
import { benchModels } from './models.js';

const MiB = 2 ** 20;

test('peak RSS per model: the child does not inherit the parent peak, and bigger inputs cost more', async (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  // Make this (the parent) process big: getrusage's maxrss would carry this into the child.
  const ballast = Buffer.alloc(600 * MiB, 1);
  assert.ok(process.memoryUsage().rss > 600 * MiB);
  const small = await measureMemory(m.tinyCnnDyn, {}, { shapes: { x: [1, 3, 32, 32] } });
  assert.ok(small.peakBytes < 400 * MiB, `peak ${small.peakBytes / MiB} MiB includes the parent's 600 MiB`);
  assert.ok(small.baselineBytes > 20 * MiB && small.peakBytes >= small.baselineBytes);
  // 8x3x256x256 input (6 MiB) and 8x8x256x256 activations (16 MiB) on top of the same session
  const big = await measureMemory(m.tinyCnnDyn, {}, { shapes: { x: [8, 3, 256, 256] } });
  assert.ok(big.modelBytes > small.modelBytes + 20 * MiB, `model RSS ${small.modelBytes / MiB} → ${big.modelBytes / MiB} MiB`);
  assert.equal(ballast[ballast.length - 1], 1);
});
