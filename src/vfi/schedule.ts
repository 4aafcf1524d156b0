// Which output frame shows which moment of the input. Output frame j of a video converted from
// rate r to rate R sits at input position u_j = j·r/R (in input frames); with r/R = P/Q reduced,
// u_j = j·P/Q exactly, so 24000/1001 → 60000/1001 never drifts, however long the video.
//
// Between two kept input frames ("anchors") at positions a < b every output frame with
// a ≤ u_j < b is interpolated at t = (u_j − a)/(b − a); t = 0 is a plain copy of a. Usually
// b = a + 1; with --dedup, duplicates are not anchors and b − a can be larger, which keeps the
// motion even (anime drawn on twos). After the last anchor, up to the input's end, frames repeat
// it: the output lasts exactly as long as the input, so the audio stays in sync.
import { UsageError } from '../errors.js';
import { mul, rational, type Rational } from '../video/rational.js';

export interface Step {
  /** Output frame index. */
  j: number;
  /** t = tNum / tDen in [0, 1); 0 means "copy the first anchor". */
  tNum: number;
  tDen: number;
}

export class Schedule {
  /** u_j = j·P/Q */
  readonly P: number;
  readonly Q: number;

  constructor(
    readonly inRate: Rational,
    readonly outRate: Rational,
  ) {
    const k = rational(inRate.num * outRate.den, inRate.den * outRate.num);
    this.P = k.num;
    this.Q = k.den;
  }

  static forFactor(inRate: Rational, factor: number): Schedule {
    if (![2, 4, 8].includes(factor)) throw new UsageError(`--factor must be 2, 4 or 8, got ${factor}`);
    return new Schedule(inRate, mul(inRate, rational(factor)));
  }

  /** First output index at or after input position `a` (integer). */
  firstAt(a: number): number {
    return Math.ceil((a * this.Q) / this.P);
  }

  /** Output frames of an input of `n` frames: every j with u_j < n. */
  outputCount(n: number): number {
    return this.firstAt(n);
  }

  /** Output frames with a ≤ u_j < b, each with its timestep between anchors a and b. */
  *between(a: number, b: number): Generator<Step> {
    const span = b - a;
    for (let j = this.firstAt(a), end = this.firstAt(b); j < end; j++) {
      const num = j * this.P - a * this.Q; // (u_j − a)·Q
      const g = gcdInt(num, this.Q * span);
      yield { j, tNum: num / g, tDen: (this.Q * span) / g };
    }
  }

  /** True when every timestep this schedule produces between neighbours is k/2^m (m ≤ 3). */
  get dyadic(): boolean {
    let q = this.Q / gcdInt(this.Q, this.P); // denominators of t divide Q
    while (q % 2 === 0) q /= 2;
    return q === 1 && this.Q <= 8;
  }
}

function gcdInt(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a || 1;
}
