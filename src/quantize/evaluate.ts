// How a quantized model is judged against its FP32 original, in the same process and run:
// per-output error on held-out samples, speed measured interleaved (A B A B … so a machine that
// slows down mid-run slows both alike), and the graph onnxruntime really runs (its optimized
// model, saved to a temp file) with the integer ops it fused.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { KilnError } from '../errors.js';
import { floatToHalfBits, halfBitsToFloat } from '../ir/half.js';
import { onnx } from '../onnx/codec.js';
import { createSession, run, ort, type SessionOptions } from '../runtime/session.js';
import type { Sample } from './graph-util.js';

export interface OutputError {
  name: string;
  maxAbs: number;
  meanAbs: number;
  /** Signal-to-quantization-noise ratio in dB: 10·log10(Σref² / Σ(ref−q)²). */
  sqnr: number;
  /** For image-like outputs (N×{1,3}×H×W): PSNR in dB; peak 1 for outputs in [0,1], 255 for [0,255], else the FP32 output's range. */
  psnr?: number;
  /** For classifier-like outputs (N×C logits): share of samples whose argmax agrees, in %. */
  top1Agreement?: number;
  /** Values that are NaN/Inf in one output but not the other. */
  nonFinite: number;
}

const db = (num: number, den: number): number => (den === 0 ? Infinity : 10 * Math.log10(num / den));

/** The PSNR peak: 1 for outputs within [0, 1] (±5 %), 255 for [0, 255], else the FP32 range. */
function peakOf(lo: number, hi: number): number {
  if (lo >= -0.05 && hi <= 1.05) return 1;
  if (lo >= -12 && hi <= 268 && hi > 16) return 255;
  return hi - lo || 1;
}

const isImage = (dims: readonly number[]): boolean => dims.length === 4 && (dims[1] === 1 || dims[1] === 3) && dims[2] > 4 && dims[3] > 4;
const isLogits = (dims: readonly number[]): boolean => dims.length === 2 && dims[1] > 1;

/**
 * FP32 reference outputs on a fixed sample set, against which candidate models are scored.
 * Its sessions run without onnxruntime's memory arena: they run each model a few times and are
 * closed, and the arena would only keep the peak of every run (plus its fragmentation). On DAIN
 * at 640×480 the INT8 session peaked at 15.5 GB without it and was killed at 22.8 GB with it.
 */
export class Evaluator {
  private constructor(
    readonly samples: readonly Sample[],
    private readonly refs: Record<string, ort.Tensor>[],
    readonly outputNames: readonly string[],
    private readonly opts: SessionOptions,
  ) {}

  static async create(ref: Uint8Array, samples: readonly Sample[], opts: SessionOptions = {}): Promise<Evaluator> {
    if (!samples.length) throw new KilnError('no evaluation samples');
    const a = await createSession(ref, { ...opts, memArena: false }, 'FP32 model');
    try {
      const refs = [];
      for (const s of samples) refs.push(await run(a, s, 'FP32 model'));
      return new Evaluator(samples, refs, a.outputNames, opts);
    } finally {
      await a.release();
    }
  }

  /** Runs `test` (serialized) on every sample; onnxruntime failing to load or run it is an error. */
  async score(test: Uint8Array, label = 'quantized model', halfInputs?: ReadonlySet<string>): Promise<OutputError[]> {
    const b = await createSession(test, { ...this.opts, memArena: false }, label);
    try {
      const outs = [];
      for (const s of this.samples) outs.push(widen(await run(b, halfFeeds(s, halfInputs), label)));
      return errorStats(this.outputNames, this.refs, outs);
    } finally {
      await b.release();
    }
  }
}

/** The sample with the named inputs converted to float16 (for models whose inputs are float16). */
export function halfFeeds(s: Sample, names?: ReadonlySet<string>): Sample {
  if (!names?.size) return s;
  const out: Sample = {};
  for (const [k, t] of Object.entries(s)) {
    if (!names.has(k) || t.type !== 'float32') {
      out[k] = t;
      continue;
    }
    const d = t.data as Float32Array;
    out[k] = new ort.Tensor('float16', Uint16Array.from(d, floatToHalfBits), [...t.dims]);
  }
  return out;
}

/** float16 outputs decoded to float32 so they compare with the FP32 reference. */
function widen(r: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [k, t] of Object.entries(r)) out[k] = t.type === 'float16' ? new ort.Tensor('float32', Float32Array.from(t.data as Uint16Array, halfBitsToFloat), [...t.dims]) : t;
  return out;
}

/** Runs both models on every sample and accumulates per-output error statistics. */
export async function compareOutputs(ref: Uint8Array, test: Uint8Array, samples: readonly Sample[], opts: SessionOptions = {}): Promise<OutputError[]> {
  return (await Evaluator.create(ref, samples, opts)).score(test);
}

export function errorStats(names: readonly string[], refs: readonly Record<string, ort.Tensor>[], outs: readonly Record<string, ort.Tensor>[]): OutputError[] {
  const acc = new Map<string, { max: number; sumAbs: number; n: number; sig: number; noise: number; lo: number; hi: number; agree: number; count: number; nonFinite: number; image: boolean; logits: boolean }>();
  refs.forEach((ra, k) => {
    const rb = outs[k];
    for (const name of names) {
      const x = ra[name];
      const y = rb[name];
      if (!y) throw new KilnError(`quantized model has no output '${name}'`);
      if (x.type !== 'float32' || y.type !== 'float32') throw new KilnError(`output '${name}' is ${x.type} in the FP32 model and ${y.type} in the quantized one; expected float32 in both`);
      const xd = x.data as Float32Array;
      const yd = y.data as Float32Array;
      if (xd.length !== yd.length) throw new KilnError(`output '${name}' has ${yd.length} values, FP32 has ${xd.length}`);
      let e = acc.get(name);
      if (!e) {
        e = { max: 0, sumAbs: 0, n: 0, sig: 0, noise: 0, lo: Infinity, hi: -Infinity, agree: 0, count: 0, nonFinite: 0, image: isImage(x.dims), logits: isLogits(x.dims) };
        acc.set(name, e);
      }
      for (let i = 0; i < xd.length; i++) {
        const p = xd[i], q = yd[i];
        if (!Number.isFinite(p) || !Number.isFinite(q)) {
          if (Number.isFinite(p) !== Number.isFinite(q)) e.nonFinite++;
          continue;
        }
        const d = Math.abs(p - q);
        if (d > e.max) e.max = d;
        e.sumAbs += d;
        e.n++;
        e.sig += p * p;
        e.noise += d * d;
        if (p < e.lo) e.lo = p;
        if (p > e.hi) e.hi = p;
      }
      if (e.logits) {
        const [rows, cols] = x.dims;
        for (let r = 0; r < rows; r++) {
          let ia = 0, ib = 0;
          for (let c = 1; c < cols; c++) {
            if (xd[r * cols + c] > xd[r * cols + ia]) ia = c;
            if (yd[r * cols + c] > yd[r * cols + ib]) ib = c;
          }
          e.count++;
          if (ia === ib) e.agree++;
        }
      }
    }
  });
  return [...acc].map(([name, e]) => {
    const r: OutputError = { name, maxAbs: e.max, meanAbs: e.n ? e.sumAbs / e.n : 0, sqnr: db(e.sig, e.noise), nonFinite: e.nonFinite };
    if (e.image) r.psnr = db(peakOf(e.lo, e.hi) ** 2, e.noise / (e.n || 1));
    if (e.logits) r.top1Agreement = (100 * e.agree) / (e.count || 1);
    return r;
  });
}

export interface SpeedResult {
  /** Median latency in ms per model, same order as the inputs. */
  medianMs: number[];
  /** Raw samples (ms), round by round. */
  samples: number[][];
  runs: number;
  threads: number | 'default';
}

/** Median latencies of several models on one sample, measured interleaved after a warm-up. */
export async function measureSpeed(models: readonly Uint8Array[], sample: Sample, opts: { runs?: number; warmup?: number; session?: SessionOptions; halfInputs?: readonly (ReadonlySet<string> | undefined)[] } = {}): Promise<SpeedResult> {
  const sessions = [];
  for (const [i, m] of models.entries()) sessions.push(await createSession(m, opts.session ?? {}, `model ${i}`));
  const feeds = models.map((_, i) => halfFeeds(sample, opts.halfInputs?.[i]));
  try {
    const warmup = opts.warmup ?? 3;
    const runs = opts.runs ?? 20;
    for (let w = 0; w < warmup; w++) for (const [i, s] of sessions.entries()) await run(s, feeds[i]);
    const samples: number[][] = sessions.map(() => []);
    for (let r = 0; r < runs; r++) {
      for (const [i, s] of sessions.entries()) {
        const t0 = performance.now();
        await run(s, feeds[i]);
        samples[i].push(performance.now() - t0);
      }
    }
    const median = (xs: number[]): number => {
      const s = [...xs].sort((a, b) => a - b);
      const m = s.length >> 1;
      return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
    };
    return { medianMs: samples.map(median), samples, runs, threads: opts.session?.threads ?? 'default' };
  } finally {
    for (const s of sessions) await s.release();
  }
}

/** Op types of the graph onnxruntime runs after its own optimizations (domain-qualified). */
export async function optimizedOps(model: Uint8Array, opts: SessionOptions = {}): Promise<Map<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-ort-opt-'));
  try {
    const path = join(dir, 'optimized.onnx');
    const s = await createSession(model, { ...opts, optimizedModelPath: path }, 'quantized model');
    await s.release();
    const proto = onnx.ModelProto.decode(readFileSync(path));
    const counts = new Map<string, number>();
    // Subgraph bodies (If/Loop/Scan attributes) count too: onnxruntime optimizes them as well.
    const visit = (nodes: readonly onnx.INodeProto[]): void => {
      for (const n of nodes) {
        const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType!;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        for (const a of n.attribute ?? []) {
          if (a.g) visit(a.g.node ?? []);
          for (const g of a.graphs ?? []) visit(g.node ?? []);
        }
      }
    };
    visit(proto.graph?.node ?? []);
    return counts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The integer kernels onnxruntime fuses QDQ / dynamic patterns into. */
export const INTEGER_OPS = [
  'QLinearConv', 'com.microsoft.QLinearConv', 'com.microsoft.NhwcMaxPool', 'QLinearMatMul', 'MatMulInteger', 'ConvInteger', 'com.microsoft.QGemm', 'com.microsoft.QLinearAdd', 'com.microsoft.QLinearMul',
  'com.microsoft.QLinearConcat', 'com.microsoft.QLinearAveragePool', 'com.microsoft.QLinearGlobalAveragePool', 'com.microsoft.QLinearSigmoid',
  'com.microsoft.QLinearLeakyRelu', 'com.microsoft.QLinearConvTranspose', 'com.microsoft.DynamicQuantizeMatMul', 'com.microsoft.MatMulIntegerToFloat',
  'com.microsoft.QAttention', 'com.microsoft.DynamicQuantizeLSTM', 'com.microsoft.QLinearSoftmax', 'com.microsoft.QLinearWhere',
];

export function integerOps(ops: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  // onnxruntime's NHWC transformer turns QLinearConv into com.microsoft.QLinearConv: count them as one.
  for (const k of INTEGER_OPS) if (ops.get(k)) out[k.replace(/^com\.microsoft\./, '')] = (out[k.replace(/^com\.microsoft\./, '')] ?? 0) + ops.get(k)!;
  return out;
}

export { ort };
