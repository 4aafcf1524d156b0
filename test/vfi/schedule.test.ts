import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRate, rational } from '../../src/video/rational.js';
import { Schedule } from '../../src/vfi/schedule.js';

const ts = (s: Schedule, a: number, b: number) => [...s.between(a, b)].map((x) => [x.j, x.tNum / x.tDen]);

test('factor 2, 4, 8: factor outputs per input frame, evenly spaced t', () => {
  for (const f of [2, 4, 8]) {
    const s = Schedule.forFactor(rational(30), f);
    assert.equal(s.outputCount(10), 10 * f);
    assert.deepEqual(ts(s, 3, 4), Array.from({ length: f }, (_, k) => [3 * f + k, k / f]));
    assert.ok(s.dyadic);
  }
  assert.throws(() => Schedule.forFactor(rational(30), 3), /2, 4 or 8/);
});

test('24000/1001 → 60000/1001 is 2.5x with exact timesteps that repeat every two input frames', () => {
  const s = new Schedule(parseRate('24000/1001'), parseRate('60000/1001'));
  assert.equal(s.outputCount(4), 10);
  assert.equal(s.outputCount(1000), 2500);
  const all = [0, 1, 2, 3].flatMap((i) => ts(s, i, i + 1));
  assert.deepEqual(all.map(([j]) => j), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(all.map(([, t]) => Number(t.toFixed(6))), [0, 0.4, 0.8, 0.2, 0.6, 0, 0.4, 0.8, 0.2, 0.6]);
  assert.equal(s.dyadic, false);
  // No drift: after a million input frames the pattern is the same.
  assert.deepEqual(ts(s, 1_000_000, 1_000_001).map(([j, t]) => [j, Number(t.toFixed(6))]), [[2_500_000, 0], [2_500_001, 0.4], [2_500_002, 0.8]]);
});

test('30 → 60000/1001 (not a multiple): every output frame lies in exactly one interval', () => {
  const s = new Schedule(rational(30), parseRate('60000/1001'));
  const n = 300;
  const js = Array.from({ length: n }, (_, i) => ts(s, i, i + 1).map(([j]) => j)).flat();
  assert.deepEqual(js, Array.from({ length: s.outputCount(n) }, (_, j) => j));
  for (let i = 0; i < n; i++) for (const [, t] of ts(s, i, i + 1)) assert.ok(t >= 0 && t < 1);
});

test('an anchor span longer than one frame (dedup) spreads t over the whole span', () => {
  const s = Schedule.forFactor(rational(24), 2);
  // Frames 0 and 1 identical, next distinct frame at 2: four outputs move evenly from 0 to 2.
  assert.deepEqual(ts(s, 0, 2), [[0, 0], [1, 0.25], [2, 0.5], [3, 0.75]]);
});
