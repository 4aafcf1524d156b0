// `kiln bench`: measures one or more models under the same settings, interleaved, and turns the
// measurements into a Report. Sweeps (threads × batch) are measured group by group; within a
// group every model runs once per round (A B, then B A, …), and each row's ratio is the median of per-round ratios to
// the first model of its group.
import path from 'node:path';
import { KilnError, UsageError } from '../errors.js';
import { createSession, providerUnavailable, type Provider, type SessionOptions } from '../runtime/session.js';
import { profileUnavailable, type DeploymentProfile } from '../runtime/profiles.js';
import { REPORT_SCHEMA, type Cell, type Report } from '../report/types.js';
import { environment } from './env.js';
import { measure, OrtRunner, sharedCpuNote, type Measurement, type MeasureOptions } from './harness.js';
import type { ShapeOptions } from './inputs.js';
import { measureMemory, peakRss, type MemoryResult } from './memory.js';
import { parseTorchDef, torchUnavailable, TorchRunner } from './peers/torch.js';
import { pairedRatio, summarize, type Stats } from './stats.js';

export const AUTO_BATCHES = [1, 2, 4, 8, 16, 32, 64];
/** `--batch auto` stops growing a model's batch once throughput gains less than this factor. */
export const AUTO_MIN_GAIN = 1.02;
/** `--batch auto` does not try a batch whose inputs alone would exceed this many bytes. */
export const AUTO_MAX_INPUT_BYTES = 1024 * 2 ** 20;

export interface BenchOptions extends MeasureOptions {
  models: string[];
  shapes?: Record<string, number[]>;
  /** Thread counts to sweep; 0 = onnxruntime's default. Default: [profile threads ?? 0]. */
  threads?: number[];
  batch?: number[] | 'auto';
  latencyBudgetMs?: number;
  provider?: Provider;
  profile?: DeploymentProfile;
  /** `--batch auto` stops before a batch whose inputs exceed this (default AUTO_MAX_INPUT_BYTES). */
  maxInputBytes?: number;
  /** `path/to/model.py[:factory]`: adds PyTorch eager and TorchScript rows fed the first model's inputs. */
  torch?: string;
  /** Measure peak RSS per row in a child process (default true). */
  memory?: boolean;
  seed?: number;
}

export interface BenchRow {
  label: string;
  model: string;
  threads: number;
  batch: number | null;
  inputs: string;
  createMs: number;
  firstRunMs: number;
  stats: Stats;
  inferencesPerS: number;
  itemsPerS: number;
  /** Median per-round time ratio to the first model of the group (1 for the first). */
  ratio: number | null;
  memory: MemoryResult | null;
  samplesMs: number[];
  /** --batch auto: this row's batch was chosen for its model and thread count. */
  chosen?: boolean;
  overBudget?: boolean;
  /** Bytes of one set of inputs (all inputs together). */
  inputBytes: number;
}

const MiB = 2 ** 20;

/** Basenames; the given path where two different files share a basename; #2, #3 for repeats. */
export function modelLabels(models: readonly string[]): string[] {
  const base = models.map((m) => path.basename(m));
  const seen = new Map<string, number>();
  return models.map((m, i) => {
    const clash = models.some((other, j) => j !== i && base[j] === base[i] && other !== m);
    const label = clash ? m : base[i];
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    return n > 1 ? `${label}#${n}` : label;
  });
}

function checkOptions(o: BenchOptions): void {
  if (o.models.length === 0) throw new UsageError('give at least one model');
  for (const t of o.threads ?? []) if (!Number.isInteger(t) || t < 0) throw new UsageError(`--threads values must be non-negative integers, got ${t}`);
  if (Array.isArray(o.batch)) for (const b of o.batch) if (!Number.isInteger(b) || b <= 0) throw new UsageError(`--batch values must be positive integers, got ${b}`);
  if (o.latencyBudgetMs !== undefined && !(o.latencyBudgetMs > 0)) throw new UsageError(`--latency-budget must be a positive number of ms, got ${o.latencyBudgetMs}`);
  if (o.latencyBudgetMs !== undefined && o.batch !== 'auto') throw new UsageError('--latency-budget only applies with --batch auto');
}

export function sessionFor(o: Pick<BenchOptions, 'provider' | 'profile'>, threads: number): SessionOptions {
  const p = o.profile;
  const s: SessionOptions = { provider: o.provider ?? (p?.provider as Provider | undefined) ?? 'cpu' };
  if (threads > 0) s.threads = threads;
  if (p) {
    s.optLevel = p.session.optLevel;
    s.memArena = p.session.memArena;
    s.memPattern = p.session.memPattern;
    if (Object.keys(p.session.config).length > 0) s.config = { ...p.session.config };
  }
  return s;
}

export async function bench(o: BenchOptions): Promise<Report> {
  checkOptions(o);
  if (o.profile) {
    const why = profileUnavailable(o.profile);
    if (why) throw new KilnError(why);
  }
  const provider = o.provider ?? (o.profile?.provider as Provider | undefined) ?? 'cpu';
  const why = providerUnavailable(provider);
  if (why) throw new KilnError(why);
  const env = environment();
  const labels = modelLabels(o.models);
  const threadsList = o.threads && o.threads.length > 0 ? o.threads : [o.profile?.threads ?? 0];
  const seed = o.seed ?? 1;
  const baseShapes = (batch: number | undefined): ShapeOptions => ({
    shapes: o.shapes,
    batch,
    image: o.profile?.input,
    // With several models one --input-shape list serves them all; a name no model has is
    // still an error (checked after the first group has opened every model).
    lenientNames: o.models.length > 1,
  });
  let namesChecked = o.models.length === 1;
  const rows: BenchRow[] = [];
  const notes: string[] = [];

  const torchDef = o.torch ? parseTorchDef(o.torch) : null;
  if (torchDef) {
    const why = torchUnavailable();
    if (why) throw new KilnError(`--torch: ${why}`);
  }
  const measureGroup = async (indices: number[], threads: number, batch: number | undefined): Promise<BenchRow[]> => {
    const runners = indices.map(
      (i) => new OrtRunner({ label: labels[i], model: o.models[i], session: sessionFor(o, threads), shapes: baseShapes(batch), seed }),
    );
    // PyTorch peers run the first model's inputs (known once its session is open, which the
    // harness does before opening them) with the same thread count.
    const peers = torchDef && indices[0] === 0
      ? (['eager', 'torchscript'] as const).map((mode) => new TorchRunner({ label: mode === 'eager' ? 'PyTorch eager' : 'TorchScript', def: torchDef, mode, threads: threads || undefined, specs: () => runners[0].specs, feeds: () => [runners[0].feeds] }))
      : [];
    o.onProgress?.(`threads ${threads || 'default'}, batch ${batch ?? 'as exported'}`);
    const ms: Measurement[] = await measure([...runners, ...peers], o);
    const shared = sharedCpuNote(ms);
    if (shared && !notes.includes(shared)) notes.push(shared);
    if (!namesChecked && indices.length === o.models.length) {
      const known = new Set(runners.flatMap((r) => r.specs.map((s) => s.name)));
      const unused = Object.keys(o.shapes ?? {}).filter((n) => !known.has(n));
      if (unused.length > 0) throw new UsageError(`--input-shape names ${unused.join(', ')}, but no model has such an input (inputs: ${[...known].join(', ')})`);
      namesChecked = true;
    }
    const group: BenchRow[] = [];
    for (const [k, m] of ms.entries()) {
      if (k >= runners.length) {
        const stats = summarize(m.samplesMs);
        group.push({
          label: m.label, model: `${torchDef?.file}:${torchDef?.factory}`, threads, batch: m.items, inputs: m.inputs, createMs: m.createMs, firstRunMs: m.firstRunMs, stats,
          inferencesPerS: 1000 / stats.mean, itemsPerS: (1000 / stats.mean) * m.items, ratio: pairedRatio(m.samplesMs, ms[0].samplesMs), memory: null, samplesMs: m.samplesMs, inputBytes: 0,
        });
        continue;
      }
      const i = indices[k];
      const stats = summarize(m.samplesMs);
      const memory = o.memory === false ? null : await measureMemory(o.models[i], sessionFor(o, threads), baseShapes(batch), 3, seed);
      group.push({
        label: m.label,
        model: o.models[i],
        threads,
        batch: batch ?? m.items,
        inputs: m.inputs,
        createMs: m.createMs,
        firstRunMs: m.firstRunMs,
        stats,
        inferencesPerS: 1000 / stats.mean,
        itemsPerS: (1000 / stats.mean) * m.items,
        ratio: indices[0] === 0 ? pairedRatio(m.samplesMs, ms[0].samplesMs) : null,
        memory,
        samplesMs: m.samplesMs,
        inputBytes: Object.values(runners[k].feeds).reduce((a, t) => a + (t.data as ArrayBufferView).byteLength, 0),
      });
    }
    return group;
  };

  for (const threads of threadsList) {
    if (o.batch === 'auto') {
      const fixed = await fixedBatches(o.models, labels, provider);
      let active = o.models.map((_, i) => i);
      const best = new Map<number, BenchRow>();
      for (const i of active) {
        if (fixed[i] !== null) notes.push(`${labels[i]}: batch is fixed at ${fixed[i]} in the model, so --batch auto measured only that`);
      }
      // Powers of two, plus any batch a model fixes (a model with fixed batch 3 is measured at 3).
      const candidates = [...new Set([...AUTO_BATCHES, ...fixed.filter((f): f is number => f !== null)])].sort((a, b) => a - b);
      for (const b of candidates) {
        const now = active.filter((i) => fixed[i] === null || fixed[i] === b);
        if (now.length === 0) continue;
        const group = await measureGroup(now, threads, b);
        const next = active.filter((i) => !now.includes(i)); // fixed-batch models still waiting for their size
        const nextB = candidates.find((c) => c > b);
        for (const [k, row] of group.entries()) {
          const i = now[k];
          rows.push(row);
          if (i === undefined) continue; // a PyTorch peer row: measured alongside, not auto-batched
          if (o.latencyBudgetMs !== undefined && row.stats.p90 > o.latencyBudgetMs) {
            row.overBudget = true;
            continue;
          }
          const prev = best.get(i);
          if (!prev || row.itemsPerS > prev.itemsPerS * AUTO_MIN_GAIN) {
            best.set(i, row);
            if (fixed[i] !== null || nextB === undefined) continue;
            const nextBytes = (row.inputBytes / b) * nextB;
            if (nextBytes > (o.maxInputBytes ?? AUTO_MAX_INPUT_BYTES)) notes.push(`${labels[i]}: --batch auto stopped at ${b}: the next batch's inputs would take ${Math.round(nextBytes / MiB)} MiB`);
            else next.push(i);
          }
        }
        active = next;
        if (active.length === 0) break;
      }
      for (const [i, row] of best) {
        row.chosen = true;
        notes.push(`${labels[i]}, threads ${threads || 'default'}: best batch ${row.batch} (${fmt(row.itemsPerS)} items/s${o.latencyBudgetMs !== undefined ? `, p90 ${fmt(row.stats.p90)} ms ≤ budget ${o.latencyBudgetMs} ms` : ''})`);
      }
      for (let i = 0; i < o.models.length; i++) {
        if (!best.has(i)) notes.push(`${labels[i]}, threads ${threads || 'default'}: no batch size meets the ${o.latencyBudgetMs} ms p90 latency budget`);
      }
    } else {
      for (const b of o.batch ?? [o.profile?.batch ?? 0]) rows.push(...(await measureGroup(o.models.map((_, i) => i), threads, b > 0 ? b : undefined)));
    }
  }

  if (o.profile) {
    notes.push(`profile ${o.profile.name}: ${o.profile.description}. Its precision (${o.profile.precision}) is applied by kiln pipeline's quantization stage; kiln bench measures the model file as given.`);
  }
  notes.push('Models are measured interleaved, one run each per round, odd rounds in reverse order (A B, B A, …); "time ÷ first" is the median over rounds of (this model\'s time ÷ the first model\'s time in the same round).');
  notes.push('Percentiles interpolate linearly between ranks (numpy default). Throughput = 1000 ÷ mean latency.');
  if (torchDef) notes.push(`PyTorch rows: ${path.relative(process.cwd(), torchDef.file)}:${torchDef.factory}() run by ${'/usr/bin/python3'} on the first model's inputs, timed inside Python around forward(); TorchScript = torch.jit.trace + freeze. No RSS for them.`);
  if (o.memory !== false) notes.push('Peak RSS: each row is re-opened in a child process of its own (session creation + 3 runs); "model RSS" is that peak minus the child\'s RSS before the session was created.');

  return benchReport(rows, env, {
    provider,
    profile: o.profile?.name ?? null,
    threads: threadsList.map((t) => (t === 0 ? 'default' : String(t))).join(','),
    batch: o.batch === 'auto' ? 'auto' : (o.batch ?? [o.profile?.batch ?? 0]).map((b) => (b > 0 ? String(b) : 'as exported')).join(','),
    latencyBudgetMs: o.latencyBudgetMs ?? null,
    warmup: o.warmup,
    iterations: o.iterations ?? null,
    durationS: o.durationS ?? null,
    seed,
    processPeakRssMiB: Math.round(peakRss() / MiB),
  }, notes);
}

/** Dim 0 of the first input when the model fixes it, else null (dynamic batch). */
async function fixedBatches(models: string[], labels: string[], provider: Provider): Promise<(number | null)[]> {
  const result: (number | null)[] = [];
  for (const [i, m] of models.entries()) {
    const s = await createSession(m, { provider, optLevel: 'disabled' }, labels[i]);
    const first = s.inputMetadata[0];
    const d0 = first?.isTensor ? first.shape[0] : undefined;
    result.push(typeof d0 === 'number' && d0 > 0 ? d0 : null);
    await s.release();
  }
  return result;
}

const fmt = (v: number): string => (Math.abs(v) >= 1000 ? v.toFixed(0) : String(Number(v.toPrecision(4))));

export function benchReport(rows: BenchRow[], env: Report['env'], settings: Report['settings'], notes: string[]): Report {
  const anyMemory = rows.some((r) => r.memory);
  const auto = rows.some((r) => r.chosen !== undefined || r.overBudget !== undefined);
  const table = {
    columns: [
      { key: 'model', title: 'model' },
      { key: 'threads', title: 'threads' },
      { key: 'batch', title: 'batch' },
      { key: 'createMs', title: 'create', unit: 'ms' },
      { key: 'firstRunMs', title: 'first run', unit: 'ms' },
      { key: 'min', title: 'min', unit: 'ms' },
      { key: 'mean', title: 'mean', unit: 'ms' },
      { key: 'median', title: 'median', unit: 'ms' },
      { key: 'p90', title: 'p90', unit: 'ms' },
      { key: 'p95', title: 'p95', unit: 'ms' },
      { key: 'p99', title: 'p99', unit: 'ms' },
      { key: 'max', title: 'max', unit: 'ms' },
      { key: 'stddev', title: 'stddev', unit: 'ms' },
      { key: 'runs', title: 'runs' },
      { key: 'inferencesPerS', title: 'inferences/s', unit: '1/s' },
      { key: 'itemsPerS', title: 'items/s', unit: '1/s' },
      { key: 'ratio', title: 'time ÷ first', unit: '×', digits: 3 },
      ...(anyMemory ? [{ key: 'peakRssMiB', title: 'peak RSS', unit: 'MiB' }, { key: 'modelRssMiB', title: 'model RSS', unit: 'MiB' }] : []),
      ...(auto ? [{ key: 'auto', title: 'auto batch' }] : []),
    ],
    rows: rows.map((r): Record<string, Cell> => ({
      model: r.label,
      threads: r.threads === 0 ? 'default' : r.threads,
      batch: r.batch,
      createMs: r.createMs,
      firstRunMs: r.firstRunMs,
      min: r.stats.min,
      mean: r.stats.mean,
      median: r.stats.median,
      p90: r.stats.p90,
      p95: r.stats.p95,
      p99: r.stats.p99,
      max: r.stats.max,
      stddev: r.stats.stddev,
      runs: r.stats.count,
      inferencesPerS: r.inferencesPerS,
      itemsPerS: r.itemsPerS,
      ratio: r.ratio,
      ...(anyMemory ? { peakRssMiB: r.memory ? r.memory.peakBytes / MiB : null, modelRssMiB: r.memory ? r.memory.modelBytes / MiB : null } : {}),
      ...(auto ? { auto: r.chosen ? 'best' : r.overBudget ? 'over budget' : '' } : {}),
    })),
  };
  const rowName = (r: BenchRow): string => `${r.label} t=${r.threads || 'def'} b=${r.batch}`;
  const first = rows.filter((r) => r.threads === rows[0]?.threads && r.batch === rows[0]?.batch);
  const longest = Math.max(0, ...first.map((r) => r.samplesMs.length));
  return {
    schema: REPORT_SCHEMA,
    kind: 'bench',
    title: `kiln bench: ${[...new Set(rows.map((r) => r.label))].join(', ')}`,
    env,
    settings,
    sections: [
      {
        id: 'results',
        title: 'Steady-state latency and throughput',
        table,
        chart: { kind: 'bars', title: 'median latency', xLabel: 'run', yLabel: 'ms', labels: rows.map(rowName), series: [{ label: 'median ms', values: rows.map((r) => r.stats.median) }] },
      },
      {
        id: 'samples',
        title: `Latency of every measured run (${first[0] ? `threads ${first[0].threads || 'default'}, batch ${first[0].batch}` : 'no runs'})`,
        chart: {
          kind: 'lines',
          title: 'latency per round',
          xLabel: 'round',
          yLabel: 'ms',
          x: Array.from({ length: longest }, (_, i) => i),
          series: first.map((r) => ({ label: r.label, values: Array.from({ length: longest }, (_, i) => r.samplesMs[i] ?? null) })),
        },
      },
    ],
    notes,
    raw: {
      runs: rows.map((r) => ({ label: r.label, model: r.model, threads: r.threads, batch: r.batch, inputs: r.inputs, createMs: r.createMs, firstRunMs: r.firstRunMs, memory: r.memory, samplesMs: r.samplesMs })),
    },
  };
}
