import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { checkMeasureOptions, measure, NoopRunner, OrtRunner, sharedCpuNote, SPIN_KEY, type Runner } from '../../src/bench/harness.js';
import { benchModels } from './models.js';

/** A real runner that also records the order in which the harness calls it. */
class Recording implements Runner {
  constructor(readonly inner: Runner, readonly log: string[]) {}
  get label() { return this.inner.label; }
  get items() { return this.inner.items; }
  get inputs() { return this.inner.inputs; }
  get createMs() { return this.inner.createMs; }
  open() {
    this.log.push(`open ${this.inner.label}`);
    return this.inner.open();
  }
  close() {
    this.log.push(`close ${this.inner.label}`);
    return this.inner.close();
  }
  runOnce() {
    this.log.push(this.inner.label);
    return this.inner.runOnce();
  }
}

/** Runners A (tiny CNN) and B (add one) that log their calls into one shared order. */
function recordingPair(m: Exclude<ReturnType<typeof benchModels>, string>): { order: string[]; runners: Recording[] } {
  const order: string[] = [];
  const runners = [new Recording(new OrtRunner({ label: 'A', model: m.tinyCnn }), order), new Recording(new OrtRunner({ label: 'B', model: m.addOne }), order)];
  return { order, runners };
}

test('measure: first run apart, warm-up, then rounds of one run each, alternating A B / B A', async (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const { order, runners } = recordingPair(m);
  const res = await measure(runners, { warmup: 3, iterations: 7 });
  assert.deepEqual([order.slice(0, 2), order.slice(-2)], [['open A', 'open B'], ['close A', 'close B']]);
  order.splice(0, 2);
  order.splice(-2);
  assert.equal(order.length, 2 * (1 + 3 + 7));
  // open order, first runs and warm-ups: A B each time
  for (let i = 0; i < 8; i++) assert.equal(order[i], i % 2 === 0 ? 'A' : 'B', `call ${i}`);
  const rounds = order.slice(8);
  for (let r = 0; r < 7; r++) assert.deepEqual(rounds.slice(2 * r, 2 * r + 2), r % 2 === 0 ? ['A', 'B'] : ['B', 'A'], `round ${r}`);
  for (const r of res) {
    assert.equal(r.samplesMs.length, 7);
    assert.ok(r.samplesMs.every((v) => v > 0 && Number.isFinite(v)));
    assert.ok(r.createMs > 0 && r.firstRunMs > 0);
  }
  assert.equal(res[0].inputs, 'x=1x3x32x32');
  assert.equal(res[1].inputs, 'x=1x1');
  // the sessions are released afterwards
  assert.equal((runners[0].inner as OrtRunner).session, null);
});

test('sessions measured in turn do not spin-wait; a session measured alone keeps its settings', async (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const a = new OrtRunner({ label: 'A', model: m.tinyCnn, session: { threads: 2 } });
  const b = new OrtRunner({ label: 'B', model: m.addOne, session: { threads: 2, config: { [SPIN_KEY]: '1', 'session.x': 'y' } } });
  const both = await measure([a, b], { warmup: 0, iterations: 2 });
  assert.deepEqual(a.opened?.config, { [SPIN_KEY]: '0' });
  assert.deepEqual(b.opened?.config, { [SPIN_KEY]: '0', 'session.x': 'y' });
  assert.deepEqual(both[0].shared, { setting: `${SPIN_KEY}=0` });
  assert.deepEqual(both[1].shared, { setting: `${SPIN_KEY}=0`, replaced: `${SPIN_KEY}=1` });
  const note = sharedCpuNote(both) ?? '';
  assert.match(note, /no session spin-waited/);
  assert.match(note, /Overridden for this measurement: B \(configured session\.intra_op\.allow_spinning=1\)/);

  const alone = new OrtRunner({ label: 'B', model: m.addOne, session: { threads: 2, config: { [SPIN_KEY]: '1' } } });
  const one = await measure([alone], { warmup: 0, iterations: 2 });
  assert.deepEqual(alone.opened?.config, { [SPIN_KEY]: '1' });
  assert.equal(one[0].shared, undefined);
  assert.equal(sharedCpuNote(one), null);
});

test('measure oneAtATime: each runner opened alone, measured to the end and closed before the next opens', async (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const { order, runners } = recordingPair(m);
  const res = await measure(runners, { warmup: 2, iterations: 4, oneAtATime: true });
  const one = (l: string): string[] => [`open ${l}`, ...Array<string>(1 + 2 + 4).fill(l), `close ${l}`];
  assert.deepEqual(order, [...one('A'), ...one('B')]);
  assert.deepEqual(res.map((r) => [r.label, r.samplesMs.length]), [['A', 4], ['B', 4]]);
  assert.ok(res.every((r) => r.firstRunMs > 0 && r.samplesMs.every((v) => v > 0)));
});

test('measure --duration stops by time, and options are validated', async () => {
  const t0 = Date.now();
  const res = await measure([new NoopRunner()], { warmup: 0, durationS: 0.2 });
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 200 && elapsed < 2000, `took ${elapsed} ms`);
  assert.ok(res[0].samplesMs.length > 100);
  assert.throws(() => checkMeasureOptions({ warmup: 0, iterations: 0 }), UsageError);
  assert.throws(() => checkMeasureOptions({ warmup: -1 }), UsageError);
  assert.throws(() => checkMeasureOptions({ warmup: 0, iterations: 5, durationS: 1 }), /either --iterations or --duration/);
  assert.throws(() => checkMeasureOptions({ warmup: 0, durationS: 0 }), UsageError);
});

test('preallocated outputs are written by onnxruntime and match a plain run', async (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const plain = new OrtRunner({ label: 'plain', model: m.tinyCnn });
  const pre = new OrtRunner({ label: 'pre', model: m.tinyCnn, preallocateOutputs: true });
  await plain.open();
  await pre.open();
  try {
    await pre.runOnce();
    await pre.runOnce(); // this one writes into the preallocated tensor
    const fetched = (pre as unknown as { fetches: Record<string, { data: Float32Array }> }).fetches;
    const want = (await plain.outputs()).y.data as Float32Array;
    assert.ok(fetched?.y, 'output tensors were allocated after the first run');
    assert.deepEqual(fetched.y.data, want);
  } finally {
    await plain.close();
    await pre.close();
  }
});
