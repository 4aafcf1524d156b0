import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { test } from 'node:test';
import { profile, profileTrace, summarizeTrace, type TraceEvent } from '../../src/bench/profile.js';
import { benchModels } from './models.js';

const run = (ts: number, dur: number): TraceEvent => ({ cat: 'Session', name: 'model_run', ts, dur });
const node = (name: string, op: string, ts: number, dur: number): TraceEvent => ({ cat: 'Node', name: `${name}_kernel_time`, ts, dur, args: { op_name: op, provider: 'CPUExecutionProvider' } });

test('summarizeTrace: skips warm-up runs, sums per node and op type, shares of kernel time', () => {
  const events: TraceEvent[] = [
    run(0, 100), node('conv1', 'Conv', 10, 80), // first run: skipped
    run(200, 50), node('conv1', 'Conv', 205, 20), node('conv2', 'Conv', 226, 10), node('warp', 'GridSample', 240, 10),
    run(300, 50), node('conv1', 'Conv', 305, 20), node('conv2', 'Conv', 326, 10), node('warp', 'GridSample', 340, 10),
    { cat: 'Session', name: 'session_initialization', ts: 0, dur: 5 },
  ];
  const s = summarizeTrace(events, 1);
  assert.equal(s.runs, 2);
  assert.equal(s.runUs, 50);
  assert.equal(s.kernelUs, 40);
  assert.deepEqual(s.byOpType.map((o) => [o.opType, o.totalUs, o.calls, o.share]), [['Conv', 60, 4, 0.75], ['GridSample', 20, 2, 0.25]]);
  assert.deepEqual(s.byNode.map((o) => [o.name, o.totalUs, o.share]), [['conv1', 40, 0.5], ['conv2', 20, 0.25], ['warp', 20, 0.25]]);
  assert.equal(s.byNode[0].provider, 'CPU');
  assert.throws(() => summarizeTrace(events, 3), /none left/);
});

test('profileTrace on a real model: Conv dominates, shares sum to 1, no trace file left behind', async (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const tmpBefore = readdirSync(os.tmpdir()).filter((f) => f.startsWith('kiln-profile-')).length;
  const cwdBefore = readdirSync('.').filter((f) => f.endsWith('.json')).sort();
  const { summary, inputs } = await profileTrace(m.tinyCnnDyn, { shapes: { shapes: { x: [1, 3, 64, 64] } }, warmup: 2, iterations: 6 });
  assert.equal(inputs, 'x=1x3x64x64');
  assert.equal(summary.runs, 6);
  assert.equal(summary.byOpType[0].opType, 'Conv');
  assert.equal(summary.byOpType.find((o) => o.opType === 'Conv')?.calls, 12, 'two Conv kernels per run');
  const total = summary.byOpType.reduce((a, o) => a + o.share, 0);
  assert.ok(Math.abs(total - 1) < 1e-9, `shares sum to ${total}`);
  assert.ok(summary.runUs >= summary.kernelUs && summary.kernelUs > 0);
  assert.equal(readdirSync(os.tmpdir()).filter((f) => f.startsWith('kiln-profile-')).length, tmpBefore);
  assert.deepEqual(readdirSync('.').filter((f) => f.endsWith('.json')).sort(), cwdBefore);
});

test('profile report: op-type table with a chart, node table, top-N', async (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const r = await profile(m.tinyCnn, { warmup: 1, iterations: 4, top: 1 });
  assert.equal(r.kind, 'profile');
  const ops = r.sections.find((s) => s.id === 'ops');
  assert.equal(ops?.table?.rows.length, 1);
  assert.equal(ops?.table?.rows[0].op, 'Conv');
  assert.deepEqual(ops?.chart?.labels, ['Conv']);
  assert.equal(r.sections.find((s) => s.id === 'nodes')?.table?.rows.length, 1);
});
