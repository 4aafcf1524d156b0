// Which layers hurt when quantized, and the fewest to keep in float for a quality budget.
//
// For each quantizable layer (Conv, ConvTranspose, Gemm, MatMul):
//  - tensor SQNR: its quantized output tensor (fake-quantized with the calibrated scale) vs
//    FP32 on the held-out samples — the local error it injects;
//  - only-this: model quality when only this layer is quantized;
//  - all-but-this: model quality when every other layer is quantized and this one stays float.
// The budget search starts from everything quantized and keeps layers float in order of their
// only-this damage (worst first) until the budget holds (greedy: the fewest layers it finds, not
// a proven minimum — said so in the report).
import { UsageError } from '../errors.js';
import type { OutputError } from './evaluate.js';
import type { ActType, QParams } from './qdq.js';

export type BudgetMetric = 'psnr' | 'sqnr' | 'top1';

export interface Budget {
  metric: BudgetMetric;
  /** The least acceptable value (dB for psnr/sqnr, % agreement for top1). */
  min: number;
}

/** `psnr=38`, `sqnr=30`, `top1=99`. */
export function parseBudget(spec: string): Budget {
  const m = /^(psnr|sqnr|top1)\s*=\s*(-?\d+(?:\.\d+)?)$/i.exec(spec.trim());
  if (!m) throw new UsageError(`--budget expects psnr=DB, sqnr=DB or top1=PERCENT, got '${spec}'`);
  return { metric: m[1].toLowerCase() as BudgetMetric, min: Number(m[2]) };
}

/** The budget's metric over all outputs (the worst output counts). */
export function quality(errors: readonly OutputError[], metric: BudgetMetric): number {
  const vals = errors.map((e) => (metric === 'psnr' ? e.psnr : metric === 'top1' ? e.top1Agreement : e.sqnr)).filter((x): x is number => x !== undefined);
  if (!vals.length) {
    const kind = metric === 'psnr' ? 'an image output (N×1×H×W or N×3×H×W)' : 'a logits output (N×C)';
    throw new UsageError(`a ${metric} budget needs ${kind}; this model's outputs are ${errors.map((e) => e.name).join(', ')} — use --budget sqnr=DB`);
  }
  return Math.min(...vals);
}

/** Default budget for a model's outputs: PSNR 38 dB for images, top-1 99 % for logits, else SQNR 30 dB. */
export function defaultBudget(errors: readonly OutputError[]): Budget {
  if (errors.some((e) => e.psnr !== undefined)) return { metric: 'psnr', min: 38 };
  if (errors.some((e) => e.top1Agreement !== undefined)) return { metric: 'top1', min: 99 };
  return { metric: 'sqnr', min: 30 };
}

/** SQNR (dB) of fake-quantizing `x` with `p` in the activation type. */
export function tensorSqnr(x: Float32Array, p: QParams, act: ActType): number {
  const [lo, hi] = act === 'uint8' ? [0, 255] : [-128, 127];
  let sig = 0, noise = 0;
  for (let i = 0; i < x.length; i++) {
    const q = Math.min(hi, Math.max(lo, Math.round(x[i] / p.scale) + p.zeroPoint));
    const d = (q - p.zeroPoint) * p.scale - x[i];
    sig += x[i] * x[i];
    noise += d * d;
  }
  return noise === 0 ? Infinity : 10 * Math.log10(sig / noise);
}

export interface LayerRow {
  node: string;
  op: string;
  /** The tensor whose quantization this layer's output goes through. */
  tensor: string;
  tensorSqnr: number;
  /** Quality (budget metric) with only this layer quantized. */
  onlyThis: number;
  /** Quality with every other layer quantized and this one float. */
  allButThis: number;
  /** Worst output SQNR (dB) in the same two cases: finer-grained than top-1 on few samples, used to break ties. */
  onlyThisSqnr: number;
  allButThisSqnr: number;
  keptFloat: boolean;
}

export interface SensitivityResult {
  metric: BudgetMetric;
  budget?: Budget;
  /** Quality with every layer quantized. */
  allQuantized: number;
  rows: LayerRow[];
  keptFloat: string[];
  /** Quality of the chosen mix. */
  final: number;
  met: boolean;
  evaluations: number;
}

export interface SearchHooks {
  layers: readonly { node: string; op: string; tensor: string; tensorSqnr: number }[];
  /** Quality (budget metric) and worst output SQNR with `keepFloat` float and `only` (if given) the only layers quantized. */
  evaluate(keepFloat: ReadonlySet<string>, only?: ReadonlySet<string>): Promise<{ q: number; sqnr: number }>;
  onProgress?: (msg: string) => void;
}

/** Per-layer analysis, then (with a budget) the greedy keep-float search. */
export async function analyze(h: SearchHooks, metric: BudgetMetric, budget?: Budget): Promise<SensitivityResult> {
  let evaluations = 0;
  const ev = async (keep: ReadonlySet<string>, only?: ReadonlySet<string>): Promise<{ q: number; sqnr: number }> => {
    evaluations++;
    return h.evaluate(keep, only);
  };
  const all = (await ev(new Set())).q;
  const rows: LayerRow[] = [];
  for (const [i, l] of h.layers.entries()) {
    h.onProgress?.(`sensitivity ${i + 1}/${h.layers.length}: ${l.op} '${l.node}'`);
    const a = await ev(new Set(), new Set([l.node]));
    const b = await ev(new Set([l.node]));
    rows.push({ ...l, onlyThis: a.q, allButThis: b.q, onlyThisSqnr: a.sqnr, allButThisSqnr: b.sqnr, keptFloat: false });
  }
  const keep = new Set<string>();
  let final = all;
  if (budget && all < budget.min) {
    const order = rankBySensitivity(rows);
    for (const r of order) {
      keep.add(r.node);
      final = (await ev(keep)).q;
      h.onProgress?.(`keeping ${keep.size} layer(s) float: ${metric} ${final.toFixed(2)}`);
      if (final >= budget.min) break;
    }
  }
  for (const r of rows) r.keptFloat = keep.has(r.node);
  return { metric, budget, allQuantized: all, rows, keptFloat: [...keep], final, met: !budget || final >= budget.min, evaluations };
}

/**
 * Most harmful first: the worst quality when quantized alone (its own damage, independent of the
 * others), then the biggest gain when kept float. Measured on the kiln-vfi model: ranking by
 * all-but-this first needed 20 of 23 convs float for PSNR ≥ 40 dB, because the damage there comes
 * from a few layers whose errors the rest amplify — all-but-this barely moves for any one layer.
 */
export function rankBySensitivity(rows: readonly LayerRow[]): LayerRow[] {
  return [...rows].sort((a, b) => a.onlyThis - b.onlyThis || a.onlyThisSqnr - b.onlyThisSqnr || b.allButThis - a.allButThis);
}
