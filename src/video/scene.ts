// Cheap per-frame comparisons on a sample of the pixels (never a full-resolution pass):
//
// - scene cuts: distance between the two frames' colour histograms (16 bins per channel over
//   every 4th pixel of every 4th row), half the L1 distance averaged over R, G, B, in [0, 1].
//   Histograms barely change under camera motion, which differencing pixels would mistake for
//   a cut; across a cut between different shots they typically move by 0.3 or more.
// - duplicates (--dedup): the largest mean absolute difference (0–255) over an 8×8 grid of
//   blocks, sampled on every 2nd pixel of every 2nd row. Taking the worst block keeps a small
//   moving object (a cursor, a mouth) from being averaged away as "no change".

export const DEFAULT_SCENE_THRESHOLD = 0.3;
export const DEFAULT_DEDUP_THRESHOLD = 1.5;

const BINS = 16;

export function histogram(rgb: Uint8Array, w: number, h: number, out = new Float32Array(3 * BINS)): Float32Array {
  out.fill(0);
  let n = 0;
  for (let y = 0; y < h; y += 4) {
    for (let i = y * w * 3, end = i + w * 3; i < end; i += 12) {
      out[rgb[i] >> 4]++;
      out[BINS + (rgb[i + 1] >> 4)]++;
      out[2 * BINS + (rgb[i + 2] >> 4)]++;
      n++;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] /= n;
  return out;
}

/** Half the L1 distance between histograms, averaged over the three channels: 0 same, 1 disjoint. */
export function histogramDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / 6;
}

/** Largest per-block mean |a − b| (0–255) over an 8×8 grid of blocks, on a 1-in-4 pixel sample. */
export function maxBlockDifference(a: Uint8Array, b: Uint8Array, w: number, h: number): number {
  const G = 8;
  const sums = new Float64Array(G * G);
  const counts = new Uint32Array(G * G);
  for (let y = 0; y < h; y += 2) {
    const by = Math.min(G - 1, Math.floor((y * G) / h)) * G;
    for (let x = 0; x < w; x += 2) {
      const i = (y * w + x) * 3;
      const k = by + Math.min(G - 1, Math.floor((x * G) / w));
      sums[k] += Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]);
      counts[k] += 3;
    }
  }
  let worst = 0;
  for (let k = 0; k < G * G; k++) if (counts[k]) worst = Math.max(worst, sums[k] / counts[k]);
  return worst;
}
