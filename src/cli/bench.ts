// kiln bench MODEL [MODEL...]: latency, throughput and memory of models, measured interleaved.
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { collect, log, out, parseInputShapes, parsePositiveInt, printJson } from './io.js';
import type { Provider } from '../runtime/session.js';
import type { Report } from '../report/types.js';

export const EPS = ['cpu', 'cuda', 'tensorrt', 'webgpu'] as const;

/** "1,2,4" → [1, 2, 4]; each a non-negative (allowZero) or positive integer. */
export function parseIntList(name: string, allowZero: boolean) {
  return (value: string): number[] => {
    const parts = value.split(',').map((s) => s.trim());
    return parts.map((p) => {
      const n = Number(p);
      if (p === '' || !Number.isInteger(n) || n < 0 || (!allowZero && n === 0)) {
        throw new UsageError(`${name} expects a comma-separated list of ${allowZero ? 'non-negative' : 'positive'} integers, got '${value}'`);
      }
      return n;
    });
  };
}

export function parsePositiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number, got '${value}'`);
    return n;
  };
}

export function parseNonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`${name} must be a non-negative integer, got '${value}'`);
    return n;
  };
}

export function parseEp(value: string): Provider {
  if (!(EPS as readonly string[]).includes(value)) throw new UsageError(`--ep must be one of ${EPS.join(', ')}, got '${value}'`);
  return value as Provider;
}

/** The columns `kiln bench` prints on a terminal; the JSON, Markdown and HTML keep them all. */
const TERMINAL_COLUMNS = ['model', 'threads', 'batch', 'createMs', 'firstRunMs', 'median', 'p90', 'p99', 'stddev', 'inferencesPerS', 'itemsPerS', 'ratio', 'peakRssMiB', 'auto'];

export async function printReport(report: Report, keys?: string[]): Promise<void> {
  const { textTable } = await import('../report/format.js');
  const { environmentLine } = await import('../report/markdown.js');
  out(report.title);
  out(`machine: ${environmentLine(report.env)}`);
  out(`settings: ${Object.entries(report.settings).filter(([, v]) => v !== null).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`);
  for (const s of report.sections) {
    if (!s.table) continue;
    const columns = keys ? s.table.columns.filter((c) => keys.includes(c.key)) : s.table.columns;
    out('');
    out(s.title);
    for (const p of s.text ?? []) out(p);
    out(textTable(columns, s.table.rows));
  }
  if (report.notes.length > 0) out('');
  for (const n of report.notes) out(`note: ${n}`);
}

interface Opts {
  inputShape?: string[];
  threads?: number[];
  batch?: string;
  latencyBudget?: number;
  warmup: number;
  iterations?: number;
  duration?: number;
  ep?: Provider;
  profile?: string;
  seed: number;
  torch?: string;
  memory: boolean;
  json?: boolean;
  html?: string;
  markdown?: string;
  save?: string;
}

export function command(): Command {
  return new Command('bench')
    .description('measure latency, throughput and peak memory of one or more ONNX models (interleaved: A B, B A, …)')
    .argument('<models...>', 'ONNX model files; ratios are relative to the first')
    .option('--input-shape <name=dims>', 'shape for an input with dynamic dims, e.g. x=1x3x480x640 (repeatable)', collect)
    .option('--threads <list>', 'intra-op thread counts to sweep, e.g. 1,2 (0 = onnxruntime default)', parseIntList('--threads', true))
    .option('--batch <list|auto>', "batch sizes to sweep, e.g. 1,2,4, or 'auto' (best throughput)")
    .option('--latency-budget <ms>', 'with --batch auto: largest allowed p90 latency per inference', parsePositiveNumber('--latency-budget'))
    .option('--warmup <n>', 'untimed runs per model after the first run', parseNonNegativeInt('--warmup'), 10)
    .option('--iterations <n>', 'measured runs per model (default 50)', parsePositiveInt('--iterations'))
    .option('--duration <s>', 'measure for this many seconds (per threads × batch point) instead of a fixed count', parsePositiveNumber('--duration'))
    .addOption(new Option('--ep <provider>', `execution provider: ${EPS.join(' | ')}`).argParser(parseEp))
    .option('--profile <name>', 'deployment profile (server-cpu, server-gpu, edge, browser-wasm): provider, threads, input size, batch, session options')
    .option('--seed <n>', 'seed of the random inputs', parseNonNegativeInt('--seed'), 1)
    .option('--torch <def>', 'also measure PyTorch eager and TorchScript: path/to/model.py[:factory] (factory() returns the nn.Module of the first model)')
    .option('--no-memory', 'skip the per-model peak-RSS measurement (one child process per row)')
    .option('--json', 'print the report as JSON (raw samples included)')
    .option('--html <file>', 'also write a self-contained HTML report')
    .option('--markdown <file>', 'also write a Markdown report')
    .option('--save <file>', 'also write the JSON report to a file')
    .action(async (models: string[], o: Opts) => {
      const { bench } = await import('../bench/bench.js');
      const { getProfile } = await import('../runtime/profiles.js');
      const { writeReport } = await import('../report/write.js');
      if (o.iterations !== undefined && o.duration !== undefined) throw new UsageError('give either --iterations or --duration, not both');
      let batch: number[] | 'auto' | undefined;
      if (o.batch !== undefined) batch = o.batch === 'auto' ? 'auto' : parseIntList('--batch', false)(o.batch);
      const profile = o.profile !== undefined ? getProfile(o.profile) : undefined;
      const report = await bench({
        models,
        shapes: parseInputShapes(o.inputShape),
        threads: o.threads,
        batch,
        latencyBudgetMs: o.latencyBudget,
        warmup: o.warmup,
        iterations: o.iterations,
        durationS: o.duration,
        provider: o.ep,
        profile,
        memory: o.memory,
        torch: o.torch,
        seed: o.seed,
        onProgress: (m) => log(`kiln bench: ${m}`),
      });
      if (o.html) await writeReport(report, o.html, 'html');
      if (o.markdown) await writeReport(report, o.markdown, 'md');
      if (o.save) await writeReport(report, o.save, 'json');
      if (o.json) printJson(report);
      else await printReport(report, TERMINAL_COLUMNS);
    });
}
