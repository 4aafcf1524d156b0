// Float arithmetic on weight tensors for the fuse passes: computed in doubles, rounded once to
// the tensor's own type (float32, float64, float16, bfloat16).
import { isFloat } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';

export const floatConst = (dt: number, dims: readonly number[], values: ArrayLike<number>): Tensor => Tensor.from(dt, dims, values);

export function sameFloatType(ts: readonly Tensor[]): boolean {
  return ts.length > 0 && isFloat(ts[0].dataType) && ts.every((t) => t.dataType === ts[0].dataType);
}

/**
 * Multiplies the output-channel slices of a conv weight by s[m]. axis 0: Conv [M, C/g, k…];
 * axis 1: ConvTranspose [C, M/g, k…] where output channel m = group(c)·(M/g) + j.
 */
export function channelScale(w: Tensor, s: readonly number[], axis: 0 | 1, groups: number): Tensor {
  const v = w.toNumbers();
  const inner = w.dims.slice(2).reduce((a, b) => a * b, 1);
  const out = new Array<number>(v.length);
  if (axis === 0) {
    const per = v.length / w.dims[0];
    for (let i = 0; i < v.length; i++) out[i] = v[i] * s[Math.floor(i / per)];
  } else {
    const cin = w.dims[0], mg = w.dims[1];
    const cinPerGroup = cin / groups;
    for (let i = 0; i < v.length; i++) {
      const c = Math.floor(i / (mg * inner));
      const j = Math.floor(i / inner) % mg;
      out[i] = v[i] * s[Math.floor(c / cinPerGroup) * mg + j];
    }
  }
  return floatConst(w.dataType, w.dims, out);
}

/**
 * The per-channel vector a constant c of shape broadcastable to [1, M, 1, …] (output rank r)
 * holds, expanded to M entries; undefined when c varies along another axis or would grow the output.
 */
export function perChannel(c: Tensor, m: number, rank: number): number[] | undefined {
  const d = c.dims;
  if (d.length > rank) return undefined;
  const chanAxis = d.length - (rank - 1); // index of the channel axis in c's dims (right-aligned)
  for (let i = 0; i < d.length; i++) {
    if (i === chanAxis) {
      if (d[i] !== 1 && d[i] !== m) return undefined;
    } else if (d[i] !== 1) return undefined;
  }
  const v = c.toNumbers();
  if (v.length === 1) return new Array<number>(m).fill(v[0]);
  return v.length === m ? v : undefined;
}
