// The measurement loop. Every model (or peer runtime) under test is a Runner; the harness opens
// them all, times each one's first run apart (it pays for lazy allocation and kernel selection),
// warms them up, then measures them interleaved — one run of each per round, A B then B A — so
// a machine that gets slower half-way (shared cores, a background job) slows every runner alike
// and ratios hold. While several sessions are measured in turn, none of them spin-waits (see
// SPIN_KEY).
import { performance } from 'node:perf_hooks';
import { KilnError, UsageError } from '../errors.js';
import { createSession, ort, type SessionOptions } from '../runtime/session.js';
import { randomFeeds, resolveInputs, describeShape, type InputSpec, type ShapeOptions } from './inputs.js';

export interface Runner {
  readonly label: string;
  /** Creates the session / starts the peer. */
  open(): Promise<void>;
  /** Session-creation time in ms, set by open() (excludes input generation and process start-up). */
  readonly createMs: number;
  /** One inference; returns its wall time in milliseconds. */
  runOnce(): Promise<number>;
  close(): Promise<void>;
  /** Items per inference (the batch size). */
  readonly items: number;
  /**
   * Called before open() when this runner is measured in turn with others: it must not keep
   * CPU busy between its runs. Returns what it changed for that (for the report), or null.
   */
  shareCpu?(): SharedCpu | null;
  /** Human-readable input shapes, known after open(). */
  readonly inputs: string;
}

/**
 * onnxruntime's intra-op threads spin-wait after each run for more work (allow_spinning = 1 is
 * its default). With several sessions in one process measured in turn, the idle sessions'
 * spinning threads take the cores from the one running: two copies of kiln-vfi at 2 threads,
 * 40 interleaved rounds, came out 1.10x apart with spinning (ratio IQR 0.99-1.34) and 0.99x
 * without (IQR 0.95-1.05) (session 5). So measure() turns spinning off for every session while
 * several are measured, whatever their config says, and the reports say so.
 */
export const SPIN_KEY = 'session.intra_op.allow_spinning';

/** What a runner changed to share the CPU: the setting applied, and the one it replaced, if any. */
export interface SharedCpu {
  setting: string;
  replaced?: string;
}

export interface MeasureOptions {
  warmup: number;
  /** Measured runs per runner; exclusive with durationS. */
  iterations?: number;
  /** Measure rounds until this many seconds have passed (all runners together). */
  durationS?: number;
  /**
   * Measure each runner to the end, opened alone and closed before the next opens, instead of in
   * interleaved rounds: for models so large that their sessions do not fit in memory together.
   * Ratios between runners are then of medians from different minutes (drift is not cancelled);
   * durationS applies to each runner.
   */
  oneAtATime?: boolean;
  onProgress?: (message: string) => void;
}

export interface Measurement {
  label: string;
  items: number;
  inputs: string;
  createMs: number;
  firstRunMs: number;
  /** Steady-state samples in ms, in round order (sample i of every runner is from round i; odd rounds run the runners in reverse order). */
  samplesMs: number[];
  /** What measuring in turn with others changed in this runner's settings (SPIN_KEY), if anything. */
  shared?: SharedCpu;
}

export function checkMeasureOptions(o: MeasureOptions): void {
  if (!Number.isInteger(o.warmup) || o.warmup < 0) throw new UsageError(`--warmup must be a non-negative integer, got ${o.warmup}`);
  if (o.iterations !== undefined && o.durationS !== undefined) throw new UsageError('give either --iterations or --duration, not both');
  if (o.iterations !== undefined && (!Number.isInteger(o.iterations) || o.iterations <= 0)) throw new UsageError(`--iterations must be a positive integer, got ${o.iterations}`);
  if (o.durationS !== undefined && !(o.durationS > 0)) throw new UsageError(`--duration must be a positive number of seconds, got ${o.durationS}`);
}

export async function measure(runners: readonly Runner[], o: MeasureOptions): Promise<Measurement[]> {
  checkMeasureOptions(o);
  const iterations = o.durationS === undefined ? (o.iterations ?? 50) : Infinity;
  if (o.oneAtATime && runners.length > 1) {
    const results: Measurement[] = [];
    for (const r of runners) results.push(...(await measure([r], { ...o, oneAtATime: false })));
    return results;
  }
  const results: Measurement[] = [];
  try {
    for (const r of runners) {
      const shared = runners.length > 1 ? r.shareCpu?.() : null;
      await r.open();
      results.push({ label: r.label, items: r.items, inputs: r.inputs, createMs: r.createMs, firstRunMs: NaN, samplesMs: [], ...(shared ? { shared } : {}) });
    }
    for (let i = 0; i < runners.length; i++) results[i].firstRunMs = await runners[i].runOnce();
    for (let w = 0; w < o.warmup; w++) for (const r of runners) await r.runOnce();
    o.onProgress?.(`measuring ${runners.map((r) => r.label).join(', ')}`);
    const start = performance.now();
    const deadline = o.durationS === undefined ? Infinity : start + o.durationS * 1000;
    for (let round = 0; round < iterations; round++) {
      // Every other round runs in reverse order (A B, B A, A B, …): a runner that always ran
      // right after another would inherit its cache and frequency state, biasing the ratio.
      for (let k = 0; k < runners.length; k++) {
        const i = round % 2 === 0 ? k : runners.length - 1 - k;
        results[i].samplesMs.push(await runners[i].runOnce());
      }
      if (performance.now() >= deadline) break;
    }
  } finally {
    for (const r of runners) await r.close().catch(() => undefined);
  }
  return results;
}

export interface OrtRunnerOptions {
  label: string;
  model: string | Uint8Array;
  session?: SessionOptions;
  shapes?: ShapeOptions;
  seed?: number;
  /** Inputs filled with these values rather than random data (over the model's declared ones). */
  values?: Record<string, number>;
  /**
   * Hand onnxruntime output tensors allocated once, after the first run, so later runs write
   * into them instead of allocating (onnxruntime-node's form of I/O binding on CPU).
   */
  preallocateOutputs?: boolean;
}

/** A model in onnxruntime-node, fed seeded random inputs that stay the same for every run. */
export class OrtRunner implements Runner {
  readonly label: string;
  session: ort.InferenceSession | null = null;
  specs: InputSpec[] = [];
  feeds: Record<string, ort.Tensor> = {};
  private fetches: Record<string, ort.Tensor> | null = null;
  private runs = 0;
  private noSpin = false;
  /** The session options open() used (the given ones, plus SPIN_KEY=0 when measured in turn with others). */
  opened: SessionOptions | null = null;
  createMs = NaN;
  constructor(readonly options: OrtRunnerOptions) {
    this.label = options.label;
  }
  get items(): number {
    return this.options.shapes?.batch ?? this.specs[0]?.shape[0] ?? 1;
  }
  get inputs(): string {
    return describeShape(this.specs);
  }
  shareCpu(): SharedCpu {
    this.noSpin = true;
    const asked = this.options.session?.config?.[SPIN_KEY];
    return { setting: `${SPIN_KEY}=0`, ...(asked !== undefined && asked !== '0' ? { replaced: `${SPIN_KEY}=${asked}` } : {}) };
  }
  async open(): Promise<void> {
    const t0 = performance.now();
    const base = this.options.session ?? {};
    const session = this.noSpin ? { ...base, config: { ...base.config, [SPIN_KEY]: '0' } } : base;
    this.opened = session;
    try {
      this.session = await createSession(this.options.model, session, this.label);
    } catch (e) {
      // onnxruntime-node bundles the WebGPU provider, so providerUnavailable() passes; without a
      // GPU adapter (no GPU, no Vulkan driver) it only fails here, deep inside session creation.
      if (this.options.session?.provider === 'webgpu' && /WebGPU adapter/i.test((e as Error).message)) {
        throw new KilnError(`${this.label}: the 'webgpu' execution provider found no usable GPU adapter on this machine (it needs a GPU with a Vulkan driver): ${(e as Error).message}`, { cause: e });
      }
      throw e;
    }
    this.createMs = performance.now() - t0;
    this.runs = 0;
    this.fetches = null;
    const values = this.options.values ?? {};
    const names = new Set(this.session.inputNames);
    for (const k of Object.keys(values)) if (!names.has(k)) throw new UsageError(`${this.label}: no input '${k}' to set (inputs: ${[...names].join(', ')})`);
    this.specs = resolveInputs(this.session.inputMetadata, this.options.shapes ?? {}, this.label, this.options.model).map((s) => (s.name in values ? { ...s, fill: values[s.name] } : s));
    this.feeds = randomFeeds(this.specs, this.options.seed ?? 1);
  }
  async runOnce(): Promise<number> {
    const s = this.session;
    if (!s) throw new Error(`${this.label}: runOnce before open`);
    const t0 = performance.now();
    let out: Record<string, ort.Tensor>;
    try {
      out = this.fetches ? await s.run(this.feeds, this.fetches) : await s.run(this.feeds);
    } catch (e) {
      throw new KilnError(`${this.label}: inference failed with inputs ${this.inputs}: ${(e as Error).message}`, { cause: e });
    }
    const ms = performance.now() - t0;
    if (this.runs++ === 0 && this.options.preallocateOutputs) {
      this.fetches = {};
      for (const [name, t] of Object.entries(out)) this.fetches[name] = new ort.Tensor(t.type, newLike(t), t.dims);
    }
    return ms;
  }
  /** Outputs for the fixed inputs (one extra, untimed run). */
  async outputs(): Promise<Record<string, ort.Tensor>> {
    if (!this.session) throw new Error(`${this.label}: outputs before open`);
    return this.session.run(this.feeds);
  }
  async close(): Promise<void> {
    const s = this.session;
    this.session = null;
    this.fetches = null;
    await s?.release();
  }
}

function newLike(t: ort.Tensor): ort.Tensor.DataType {
  const d = t.data as ort.Tensor.DataType;
  if (Array.isArray(d)) throw new UsageError('cannot preallocate string outputs');
  const C = (d as unknown as { constructor: new (n: number) => ort.Tensor.DataType }).constructor;
  return new C((d as ArrayLike<unknown>).length);
}

/** Timing a runner that does nothing: the cost of the harness loop itself (await + two clock reads). */
export class NoopRunner implements Runner {
  readonly items = 1;
  readonly inputs = '-';
  readonly createMs = 0;
  constructor(readonly label = 'harness loop (no inference)') {}
  async open(): Promise<void> {}
  async runOnce(): Promise<number> {
    const t0 = performance.now();
    await Promise.resolve();
    return performance.now() - t0;
  }
  async close(): Promise<void> {}
}

/** The report note for what measure() changed in runners measured in turn (null when nothing). */
export function sharedCpuNote(ms: readonly Measurement[]): string | null {
  const changed = ms.filter((m) => m.shared);
  if (changed.length === 0) return null;
  const overridden = changed.filter((m) => m.shared?.replaced).map((m) => `${m.label} (configured ${m.shared?.replaced})`);
  return (
    `Measured in turn, no session spin-waited between its runs (${SPIN_KEY}=0; PyTorch peers: OMP_WAIT_POLICY=PASSIVE): ` +
    `the idle sessions' spinning threads would otherwise take the cores from the one running.` +
    (overridden.length ? ` Overridden for this measurement: ${overridden.join('; ')}.` : '')
  );
}
