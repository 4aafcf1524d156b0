// The two per-pixel passes of the hot path, each one tight loop per frame over typed arrays:
// packed uint8 RGB (HWC, as ffmpeg's rgb24) → planar float32 in [0, 1] (CHW), padded to the
// model's multiple by repeating the edge pixels; and back, cropping the padding away, with
// rounding and clamping done by Uint8ClampedArray's conversion (round half to even, NaN → 0).

const INV255 = new Float32Array(256);
for (let i = 0; i < 256; i++) INV255[i] = i / 255;

/** rgb24 w×h → float CHW pw×ph (pw ≥ w, ph ≥ h), edge-replicated into the padding. */
export function hwcToChw(src: Uint8Array, w: number, h: number, dst: Float32Array, pw: number, ph: number): void {
  const plane = pw * ph;
  if (src.length < w * h * 3 || dst.length < plane * 3 || pw < w || ph < h) throw new RangeError('hwcToChw: buffer sizes do not match');
  let s = 0;
  for (let y = 0; y < h; y++) {
    let d = y * pw;
    const end = d + w;
    for (; d < end; d++, s += 3) {
      dst[d] = INV255[src[s]];
      dst[d + plane] = INV255[src[s + 1]];
      dst[d + 2 * plane] = INV255[src[s + 2]];
    }
  }
  if (pw > w) {
    for (let c = 0; c < 3; c++) {
      const base = c * plane;
      for (let y = 0; y < h; y++) {
        const row = base + y * pw;
        dst.fill(dst[row + w - 1], row + w, row + pw);
      }
    }
  }
  if (ph > h) {
    for (let c = 0; c < 3; c++) {
      const base = c * plane;
      const last = base + (h - 1) * pw;
      for (let y = h; y < ph; y++) dst.copyWithin(base + y * pw, last, last + pw);
    }
  }
}

/** float CHW pw×ph → rgb24 w×h (the top-left w×h), ×255, rounded, clamped. */
export function chwToHwc(src: Float32Array, pw: number, ph: number, dst: Uint8Array, w: number, h: number): void {
  const plane = pw * ph;
  if (dst.length < w * h * 3 || src.length < plane * 3 || pw < w || ph < h) throw new RangeError('chwToHwc: buffer sizes do not match');
  const out = new Uint8ClampedArray(dst.buffer, dst.byteOffset, w * h * 3);
  let d = 0;
  for (let y = 0; y < h; y++) {
    let s = y * pw;
    const end = s + w;
    for (; s < end; s++, d += 3) {
      out[d] = src[s] * 255;
      out[d + 1] = src[s + plane] * 255;
      out[d + 2] = src[s + 2 * plane] * 255;
    }
  }
}

/** Rounds n up to a multiple of m. */
export const padTo = (n: number, m: number): number => Math.ceil(n / m) * m;
