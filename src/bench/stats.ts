// Summary statistics of latency samples. Percentiles interpolate linearly between the two
// closest ranks (Hyndman & Fan type 7, the default of numpy.percentile and R's quantile), so
// p50 of an even-length sample is the mean of the two middle values.

export interface Stats {
  count: number;
  min: number;
  mean: number;
  median: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  /** Sample standard deviation (n − 1 in the denominator); 0 for a single sample. */
  stddev: number;
}

/** The q-quantile (0 ≤ q ≤ 1) of an ascending array. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of an empty sample');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must lie in [0, 1], got ${q}`);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export function summarize(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new RangeError('cannot summarize an empty sample');
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  const mean = sum / n;
  let sq = 0;
  for (const v of sorted) sq += (v - mean) ** 2;
  return {
    count: n,
    min: sorted[0],
    mean,
    median: quantileSorted(sorted, 0.5),
    p90: quantileSorted(sorted, 0.9),
    p95: quantileSorted(sorted, 0.95),
    p99: quantileSorted(sorted, 0.99),
    max: sorted[n - 1],
    stddev: n > 1 ? Math.sqrt(sq / (n - 1)) : 0,
  };
}

/**
 * Median of the per-round ratios a[i] / b[i] of two interleaved sample series. Pairing each A
 * run with the B run next to it cancels slow drifts of the machine (another job starting,
 * thermal throttling) that a ratio of two medians would absorb.
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  if (n === 0) throw new RangeError('paired ratio of empty samples');
  const r: number[] = [];
  for (let i = 0; i < n; i++) r.push(a[i] / b[i]);
  r.sort((x, y) => x - y);
  return quantileSorted(r, 0.5);
}
