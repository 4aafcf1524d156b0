// Exact frame rates. Video rates such as 24000/1001 or 60000/1001 are not representable as
// floats without drift over long videos, so rates stay integer fractions and every timestamp is
// computed from a frame index with integer arithmetic.
import { UsageError } from '../errors.js';

export interface Rational {
  readonly num: number;
  readonly den: number;
}

const gcd = (a: number, b: number): number => {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
};

export function rational(num: number, den = 1): Rational {
  if (!Number.isSafeInteger(num) || !Number.isSafeInteger(den) || den === 0) throw new RangeError(`invalid rational ${num}/${den}`);
  const g = gcd(num, den) || 1;
  const s = den < 0 ? -1 : 1;
  return { num: (s * num) / g, den: (s * den) / g };
}

/** Parses "30", "29.97", "30000/1001" (ffprobe's and the user's spellings). Null for "0/0". */
export function parseRational(text: string): Rational | null {
  const s = text.trim();
  let m = /^(\d+)\/(\d+)$/.exec(s);
  if (m) return Number(m[2]) === 0 || Number(m[1]) === 0 ? null : rational(Number(m[1]), Number(m[2]));
  m = /^(\d+)(?:\.(\d+))?$/.exec(s);
  if (m) {
    const frac = m[2] ?? '';
    if (frac.length > 6) return null;
    const den = 10 ** frac.length;
    const num = Number(m[1]) * den + (frac ? Number(frac) : 0);
    return num === 0 ? null : rational(num, den);
  }
  return null;
}

/** A user-given rate (--fps): "60", "59.94" (read as 60000/1001, as ffmpeg does), "60000/1001". */
export function parseRate(text: string): Rational {
  const r = parseRational(text);
  if (!r || r.num / r.den > 1000) throw new UsageError(`--fps expects a rate such as 60 or 60000/1001, got '${text}'`);
  // The NTSC family spelled as decimals means the exact 1001 rates.
  for (const base of [24, 30, 48, 60, 120, 240]) {
    const ntsc = rational(base * 1000, 1001);
    if (Math.abs(r.num / r.den - ntsc.num / ntsc.den) < 0.006 && r.den !== 1) return ntsc;
  }
  return r;
}

export const mul = (a: Rational, b: Rational): Rational => rational(a.num * b.num, a.den * b.den);
export const toNumber = (r: Rational): number => r.num / r.den;
export const format = (r: Rational): string => (r.den === 1 ? `${r.num}` : `${r.num}/${r.den}`);
export const equal = (a: Rational, b: Rational): boolean => a.num === b.num && a.den === b.den;
