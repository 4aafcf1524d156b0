import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { rng } from '../../src/bench/inputs.js';
import { pairedRatio, quantileSorted, summarize } from '../../src/bench/stats.js';

test('summarize: percentiles interpolate between ranks, sample stddev', () => {
  const s = summarize([10, 1, 9, 2, 8, 3, 7, 4, 6, 5]);
  assert.equal(s.count, 10);
  assert.equal(s.min, 1);
  assert.equal(s.max, 10);
  assert.equal(s.mean, 5.5);
  assert.equal(s.median, 5.5);
  assert.ok(Math.abs(s.p90 - 9.1) < 1e-12, `p90 ${s.p90}`);
  assert.ok(Math.abs(s.p99 - 9.91) < 1e-12, `p99 ${s.p99}`);
  // sample stddev of 1..10 = sqrt(82.5 / 9)
  assert.ok(Math.abs(s.stddev - Math.sqrt(82.5 / 9)) < 1e-12);
  assert.equal(summarize([3]).stddev, 0);
  assert.equal(summarize([3]).p99, 3);
});

test('summarize and quantile reject empty input and bad q', () => {
  assert.throws(() => summarize([]), RangeError);
  assert.throws(() => quantileSorted([1, 2], 1.5), RangeError);
});

test('percentiles agree with numpy.percentile on a random sample', (t) => {
  const r = rng(42);
  const xs = Array.from({ length: 137 }, () => r() * 100);
  const py = spawnSync('/usr/bin/python3', ['-c', 'import json,sys,numpy as np; x=np.array(json.load(sys.stdin)); print(json.dumps([float(np.percentile(x,q)) for q in (50,90,95,99)]+[float(np.std(x, ddof=1))]))'], { input: JSON.stringify(xs), encoding: 'utf8' });
  if (py.status !== 0) return t.skip(`/usr/bin/python3 with numpy unavailable: ${py.stderr}`);
  const [p50, p90, p95, p99, sd] = JSON.parse(py.stdout) as number[];
  const s = summarize(xs);
  for (const [ours, theirs, name] of [[s.median, p50, 'p50'], [s.p90, p90, 'p90'], [s.p95, p95, 'p95'], [s.p99, p99, 'p99'], [s.stddev, sd, 'stddev']] as const) {
    assert.ok(Math.abs(ours - theirs) < 1e-9, `${name}: ours ${ours}, numpy ${theirs}`);
  }
});

test('pairedRatio cancels a drift that both series share', () => {
  // B gets 3× slower over the run; A is always 1.25× B in the same round.
  const b = Array.from({ length: 50 }, (_, i) => 1 + (2 * i) / 49);
  const a = b.map((x) => x * 1.25);
  assert.ok(Math.abs(pairedRatio(a, b) - 1.25) < 1e-12);
  assert.throws(() => pairedRatio([], []), RangeError);
});
