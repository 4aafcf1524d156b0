// Tensor comparison for differential tests: NaN-aware, tolerance named per use, and on failure a
// message that says where (index), what was computed and what was expected.
import { DataType, dtypeInfo, dtypeName } from '../../src/ir/dtype.js';
import type { Tensor } from '../../src/ir/tensor.js';

export interface Tolerance {
  rtol: number;
  atol: number;
}

/** ONNX backend-test default (onnx/backend/test/case/test_case.py: rtol=1e-3, atol=1e-7). */
export const BACKEND_TOL: Tolerance = { rtol: 1e-3, atol: 1e-7 };
/** FP32 model against its PyTorch reference: different kernels, different summation order.
 *  Measured on the corpus: max abs error 2.9e-6 (ResNet-18 logits up to 4.0). */
export const FP32_TOL: Tolerance = { rtol: 1e-4, atol: 1e-5 };

/**
 * null when `actual` equals `expected` (numpy.testing.assert_allclose semantics for floats:
 * |a - e| <= atol + rtol * |e|, NaN equals NaN, infinities must match exactly; exact for integers,
 * booleans and strings), else a one-line description of the first mismatch.
 */
export function compareTensors(actual: Tensor, expected: Tensor, tol: Tolerance = BACKEND_TOL): string | null {
  if (actual.dataType !== expected.dataType) return `element type ${dtypeName(actual.dataType)}, expected ${dtypeName(expected.dataType)}`;
  if (actual.dims.length !== expected.dims.length || actual.dims.some((d, i) => d !== expected.dims[i]))
    return `shape [${actual.dims.join(',')}], expected [${expected.dims.join(',')}]`;
  if (actual.dataType === DataType.STRING) {
    const a = actual.stringData(), e = expected.stringData();
    for (let i = 0; i < e.length; i++) if (Buffer.compare(a[i], e[i]) !== 0) return `at ${i}: '${Buffer.from(a[i])}', expected '${Buffer.from(e[i])}'`;
    return null;
  }
  const info = dtypeInfo(actual.dataType);
  if (info.kind === 'complex') return compareFloats(Float64Array.from(actual.view() as ArrayLike<number>), Float64Array.from(expected.view() as ArrayLike<number>), tol);
  if (info.kind === 'float' && info.bits >= 16) {
    const num = (t: Tensor): Float64Array => (t.dataType === DataType.DOUBLE ? (t.view() as Float64Array) : Float64Array.from(t.toNumbers()));
    return compareFloats(num(actual), num(expected), tol);
  }
  // float8, float4 and the packed 2/4-bit integers: no decoder needed, the bytes must match.
  if (info.kind === 'float' || info.bits < 8) return Buffer.compare(actual.bytes(), expected.bytes()) === 0 ? null : `${dtypeName(actual.dataType)} bytes differ`;
  const a = actual.view() as ArrayLike<number | bigint>, e = expected.view() as ArrayLike<number | bigint>;
  for (let i = 0; i < e.length; i++) if (a[i] !== e[i]) return `at ${i} (of ${e.length}): ${a[i]}, expected ${e[i]}`;
  return null;
}

function compareFloats(a: Float64Array, e: Float64Array, tol: Tolerance): string | null {
  let bad = 0, first = -1, worst = 0;
  for (let i = 0; i < e.length; i++) {
    const x = a[i], y = e[i];
    if (Number.isNaN(y) || Number.isNaN(x)) {
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
    } else if (!Number.isFinite(y) || !Number.isFinite(x)) {
      if (x === y) continue;
    } else {
      const err = Math.abs(x - y);
      if (err <= tol.atol + tol.rtol * Math.abs(y)) continue;
      worst = Math.max(worst, err);
    }
    if (first < 0) first = i;
    bad++;
  }
  if (!bad) return null;
  return `${bad} of ${e.length} values differ; first at ${first}: ${a[first]}, expected ${e[first]} (max abs error ${worst.toExponential(3)}, rtol ${tol.rtol}, atol ${tol.atol})`;
}
