// The harness checked against itself. (1) Two copies of one model, measured interleaved, must
// come out at a time ratio within 5 % of 1.0 — otherwise ratios between different models mean
// nothing on this machine — on one thread and on every core (where onnxruntime's thread pools
// would spin-wait if the harness let them; SPIN_KEY in src/bench/harness.ts). (2) The cost of
// one measured run of a trivial model (y = x + 1 on one float) is the floor under every latency
// kiln reports: onnxruntime-node's binding plus the harness loop; the loop alone is timed with a
// runner that does no inference.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { environment } from '../src/bench/env.js';
import { measure, NoopRunner, OrtRunner, sharedCpuNote, type Measurement } from '../src/bench/harness.js';
import { pairedRatio, summarize } from '../src/bench/stats.js';
import { REPORT_SCHEMA, type Report, type Section } from '../src/report/types.js';
import { fixtureModels, REPO, type BenchContext } from './lib.js';

export const TOLERANCE = 0.05;

export async function run(ctx: BenchContext): Promise<Report> {
  const env = environment();
  const m = fixtureModels();
  const iterations = ctx.quick ? 100 : 1000;
  const shapes = { shapes: { x: [1, 3, 128, 128] } };
  const bytes = new Uint8Array(readFileSync(m.tinyCnnDyn));
  ctx.log(`two copies of tiny_cnn_dyn at 1x3x128x128, ${iterations} interleaved rounds, 1 thread`);
  const copies = await measure(
    [
      new OrtRunner({ label: 'copy A', model: m.tinyCnnDyn, session: { threads: 1 }, shapes }),
      new OrtRunner({ label: 'copy B', model: bytes.slice(), session: { threads: 1 }, shapes }),
    ],
    { warmup: 20, iterations },
  );
  const single = copiesCheck('copies', 'Two copies of the same model (should be 1.0)', copies, ['copy A (file)', 'copy B (bytes)']);

  // All cores, on the shipped VFI model at 320x240 (a few ms of work spread over the threads per op).
  const cores = os.availableParallelism();
  const vfiRounds = ctx.quick ? 10 : 60;
  ctx.log(`two copies of models/kiln-vfi.onnx at 320x240, ${vfiRounds} interleaved rounds, ${cores} threads`);
  const vfiShapes = { shapes: { img0: [1, 3, 240, 320], img1: [1, 3, 240, 320], timestep: [1, 1, 1, 1] } };
  const vfi = `${REPO}models/kiln-vfi.onnx`;
  const multi = await measure(
    [
      new OrtRunner({ label: 'copy A', model: vfi, session: { threads: cores }, shapes: vfiShapes }),
      new OrtRunner({ label: 'copy B', model: vfi, session: { threads: cores }, shapes: vfiShapes }),
    ],
    { warmup: 5, iterations: vfiRounds },
  );
  const all = copiesCheck('copies-all-cores', `Two copies of kiln-vfi at ${cores} threads (should be 1.0)`, multi, ['copy A', 'copy B']);

  ctx.log(`harness overhead: add_one (1 float) and a no-op runner, ${iterations * 5} rounds`);
  const overhead = await measure([new OrtRunner({ label: 'add_one', model: m.addOne, session: { threads: 1 } }), new NoopRunner()], { warmup: 100, iterations: iterations * 5 });
  const trivial = summarize(overhead[0].samplesMs);
  const loop = summarize(overhead[1].samplesMs);

  const us = (ms: number): number => ms * 1000;
  return {
    schema: REPORT_SCHEMA,
    kind: 'custom',
    title: 'harness self-check',
    env,
    settings: { provider: 'cpu', threads: 1, iterations, warmup: 20, tolerance: TOLERANCE },
    sections: [
      single.section,
      all.section,
      {
        id: 'overhead',
        title: 'Per-run overhead',
        text: [`A trivial model costs ${us(trivial.median).toFixed(1)} µs per run (median); the harness loop alone ${us(loop.median).toFixed(2)} µs. Latencies near these are dominated by overhead, not by the model.`],
        table: {
          columns: [
            { key: 'what', title: 'what' },
            { key: 'median', title: 'median', unit: 'µs' },
            { key: 'p90', title: 'p90', unit: 'µs' },
            { key: 'p99', title: 'p99', unit: 'µs' },
            { key: 'min', title: 'min', unit: 'µs' },
          ],
          rows: [
            { what: 'add_one.onnx run (binding + harness)', median: us(trivial.median), p90: us(trivial.p90), p99: us(trivial.p99), min: us(trivial.min) },
            { what: 'harness loop, no inference', median: us(loop.median), p90: us(loop.p90), p99: us(loop.p99), min: us(loop.min) },
          ],
        },
      },
    ],
    notes: ['Copy A is opened from the file and copy B from bytes in memory, so the check also covers both ways of creating a session.'],
    raw: { copies: copies.map((c) => ({ label: c.label, samplesMs: c.samplesMs })), pass: single.pass, paired: single.paired, medianRatio: single.medianRatio, allCores: { threads: cores, pass: all.pass, paired: all.paired, samples: multi.map((c) => ({ label: c.label, samplesMs: c.samplesMs })) } },
  };
}

/** Two copies of one model measured in turn: PASS when both ratios are within TOLERANCE of 1. */
function copiesCheck(id: string, title: string, ms: readonly Measurement[], labels: readonly [string, string]): { section: Section; pass: boolean; paired: number; medianRatio: number } {
  const [a, b] = ms.map((x) => summarize(x.samplesMs));
  const paired = pairedRatio(ms[1].samplesMs, ms[0].samplesMs);
  const medianRatio = b.median / a.median;
  const pass = Math.abs(paired - 1) <= TOLERANCE && Math.abs(medianRatio - 1) <= TOLERANCE;
  const section: Section = {
    id,
    title,
    text: [
      `${pass ? 'PASS' : 'FAIL'}: copy B ÷ copy A = ${paired.toFixed(4)} (median of per-round ratios), ${medianRatio.toFixed(4)} (ratio of medians); tolerance ±${TOLERANCE * 100} %.`,
      ...[sharedCpuNote(ms)].filter((n): n is string => n !== null),
    ],
    table: {
      columns: [
        { key: 'model', title: 'model' },
        { key: 'median', title: 'median', unit: 'ms' },
        { key: 'p90', title: 'p90', unit: 'ms' },
        { key: 'p99', title: 'p99', unit: 'ms' },
        { key: 'stddev', title: 'stddev', unit: 'ms' },
        { key: 'ratio', title: 'time ÷ copy A', unit: '×', digits: 4 },
      ],
      rows: [a, b].map((st, k) => ({ model: labels[k], median: st.median, p90: st.p90, p99: st.p99, stddev: st.stddev, ratio: k === 0 ? 1 : paired })),
    },
  };
  return { section, pass, paired, medianRatio };
}
