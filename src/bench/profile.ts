// `kiln profile`: where a model's time goes, from onnxruntime's own profiler. onnxruntime-node
// writes a Chrome-trace JSON file named `<profileFilePrefix>_<date>.json` when the session ends
// profiling (relative prefixes land in the working directory), and endProfiling() returns no
// path. So the prefix points into a fresh temp directory, the one file found there is read and
// summarised, and the directory is removed whatever happens.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { KilnError } from '../errors.js';
import { createSession, type SessionOptions } from '../runtime/session.js';
import { REPORT_SCHEMA, type Report } from '../report/types.js';
import { environment } from './env.js';
import { describeShape, randomFeeds, resolveInputs, type ShapeOptions } from './inputs.js';

/** One event of onnxruntime's trace (Chrome trace format, times in µs). */
export interface TraceEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string; provider?: string; [k: string]: unknown };
}

export interface OpTime {
  name: string;
  opType: string;
  provider: string;
  /** Total µs over the measured runs. */
  totalUs: number;
  /** Kernel executions over the measured runs. */
  calls: number;
  share: number;
}

export interface TraceSummary {
  runs: number;
  /** Mean wall time of one measured run as onnxruntime saw it (model_run), µs. */
  runUs: number;
  /** Sum of kernel times per run, µs; runUs − kernelUs is onnxruntime's own overhead. */
  kernelUs: number;
  byOpType: OpTime[];
  byNode: OpTime[];
}

/**
 * Summarises node kernel times of the runs after the first `skipRuns` model_run events (the
 * first run and warm-ups pay for allocation and must not dilute the steady state).
 */
export function summarizeTrace(events: readonly TraceEvent[], skipRuns: number): TraceSummary {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const kept = runs.slice(skipRuns);
  if (kept.length === 0) throw new KilnError(`profile trace has ${runs.length} runs, none left after skipping ${skipRuns}`);
  const inKept = (ts: number): boolean => kept.some((r) => ts >= r.ts && ts <= r.ts + r.dur);
  const nodes = new Map<string, OpTime>();
  const ops = new Map<string, OpTime>();
  let kernel = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !inKept(e.ts)) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    const opType = e.args?.op_name ?? '?';
    const provider = String(e.args?.provider ?? '?').replace(/ExecutionProvider$/, '');
    kernel += e.dur;
    const n = nodes.get(name) ?? { name, opType, provider, totalUs: 0, calls: 0, share: 0 };
    n.totalUs += e.dur;
    n.calls++;
    nodes.set(name, n);
    const o = ops.get(opType) ?? { name: opType, opType, provider, totalUs: 0, calls: 0, share: 0 };
    o.totalUs += e.dur;
    o.calls++;
    if (o.provider !== provider) o.provider = 'mixed';
    ops.set(opType, o);
  }
  const finish = (m: Map<string, OpTime>): OpTime[] =>
    [...m.values()].map((x) => ({ ...x, share: kernel > 0 ? x.totalUs / kernel : 0 })).sort((a, b) => b.totalUs - a.totalUs || a.name.localeCompare(b.name));
  const runUs = kept.reduce((s, r) => s + r.dur, 0) / kept.length;
  return { runs: kept.length, runUs, kernelUs: kernel / kept.length, byOpType: finish(ops), byNode: finish(nodes) };
}

export interface ProfileOptions {
  session?: SessionOptions;
  shapes?: ShapeOptions;
  warmup?: number;
  iterations?: number;
  top?: number;
  seed?: number;
}

/** Runs the model with profiling on and returns the per-op summary; the trace file is removed. */
export async function profileTrace(model: string | Uint8Array, o: ProfileOptions = {}, label = typeof model === 'string' ? model : 'model'): Promise<{ summary: TraceSummary; inputs: string; meanMs: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-profile-'));
  try {
    const session = await createSession(model, { ...o.session, enableProfiling: true, profilePrefix: path.join(dir, 'ort') }, label);
    const warmup = o.warmup ?? 3;
    const iterations = o.iterations ?? 20;
    let specs;
    let total = 0;
    try {
      specs = resolveInputs(session.inputMetadata, o.shapes ?? {}, label, model);
      const feeds = randomFeeds(specs, o.seed ?? 1);
      for (let i = 0; i < 1 + warmup; i++) await session.run(feeds);
      for (let i = 0; i < iterations; i++) {
        const t0 = performance.now();
        await session.run(feeds);
        total += performance.now() - t0;
      }
    } finally {
      session.endProfiling();
      await session.release();
    }
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    if (files.length !== 1) throw new KilnError(`${label}: expected one onnxruntime profile in ${dir}, found ${files.length}`);
    const events = JSON.parse(await readFile(path.join(dir, files[0]), 'utf8')) as TraceEvent[];
    return { summary: summarizeTrace(events, 1 + warmup), inputs: describeShape(specs), meanMs: total / iterations };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function profile(model: string, o: ProfileOptions = {}): Promise<Report> {
  const env = environment();
  const top = o.top ?? 15;
  const { summary, inputs, meanMs } = await profileTrace(model, o, path.basename(model));
  const perRun = (us: number): number => us / summary.runs / 1000;
  const opTable = {
    columns: [
      { key: 'op', title: 'op type' },
      { key: 'provider', title: 'provider' },
      { key: 'calls', title: 'calls/run' },
      { key: 'ms', title: 'time/run', unit: 'ms' },
      { key: 'share', title: 'share', unit: '%', digits: 3 },
    ],
    rows: summary.byOpType.slice(0, top).map((x) => ({ op: x.opType, provider: x.provider, calls: x.calls / summary.runs, ms: perRun(x.totalUs), share: x.share * 100 })),
  };
  const nodeTable = {
    columns: [
      { key: 'node', title: 'node' },
      { key: 'op', title: 'op type' },
      { key: 'ms', title: 'time/run', unit: 'ms' },
      { key: 'share', title: 'share', unit: '%', digits: 3 },
    ],
    rows: summary.byNode.slice(0, top).map((x) => ({ node: x.name, op: x.opType, ms: perRun(x.totalUs), share: x.share * 100 })),
  };
  const overheadMs = (summary.runUs - summary.kernelUs) / 1000;
  return {
    schema: REPORT_SCHEMA,
    kind: 'profile',
    title: `kiln profile: ${path.basename(model)}`,
    env,
    settings: {
      provider: o.session?.provider ?? 'cpu',
      threads: o.session?.threads ?? 'default',
      inputs,
      warmup: o.warmup ?? 3,
      iterations: o.iterations ?? 20,
      seed: o.seed ?? 1,
    },
    sections: [
      {
        id: 'summary',
        title: 'Per run',
        text: [
          `mean run ${fmt(meanMs)} ms measured by kiln; ${fmt(summary.runUs / 1000)} ms inside onnxruntime (model_run), of which kernels ${fmt(summary.kernelUs / 1000)} ms and onnxruntime's own overhead ${fmt(overheadMs)} ms. Profiling itself adds time; compare shares, not absolute times, with kiln bench.`,
        ],
      },
      {
        id: 'ops',
        title: `Time by op type (top ${Math.min(top, summary.byOpType.length)} of ${summary.byOpType.length})`,
        table: opTable,
        chart: { kind: 'bars', title: 'share of kernel time by op type', xLabel: 'op type', yLabel: '%', labels: opTable.rows.map((r) => r.op), series: [{ label: 'share %', values: opTable.rows.map((r) => r.share) }] },
      },
      { id: 'nodes', title: `Time by node (top ${Math.min(top, summary.byNode.length)} of ${summary.byNode.length})`, table: nodeTable },
    ],
    notes: [
      `Node names and op types are those of the graph onnxruntime ran after its own optimizations (fused nodes such as Conv+Relu appear once).`,
      `Shares are of total kernel time over ${summary.runs} measured runs; the first run and ${o.warmup ?? 3} warm-up runs are excluded.`,
    ],
    raw: { summary },
  };
}

const fmt = (v: number): string => String(Number(v.toPrecision(4)));
