// Symbolic input dims shared by name. An exporter names a dynamic dim (N, H, W, batch) and uses
// the same name wherever the same size is meant, so a value given for it in one input's
// --input-shape holds in every input that has it: img0=1x3x480x640 also makes kiln-vfi's
// timestep [N,1,1,1] 1x1x1x1.
import { UsageError } from '../errors.js';

export interface DeclaredInput {
  name: string;
  /** Declared dims: a number when fixed, the dim's name when symbolic, anything else when unnamed. */
  shape: readonly unknown[] | undefined;
}

/**
 * Name → value for every named dim that a given shape sets. Two values for one name are a
 * UsageError naming both inputs. `skipBatch`: dim 0 is set by --batch instead, so it binds nothing.
 */
export function namedDimValues(inputs: readonly DeclaredInput[], given: Readonly<Record<string, readonly number[]>> | undefined, label: string, skipBatch = false): Map<string, number> {
  const bound = new Map<string, { value: number; from: string }>();
  for (const v of inputs) {
    const dims = given?.[v.name];
    if (!dims || !v.shape || dims.length !== v.shape.length) continue;
    v.shape.forEach((d, i) => {
      if (typeof d !== 'string' || d === '' || (i === 0 && skipBatch)) return;
      const prev = bound.get(d);
      if (prev && prev.value !== dims[i]) throw new UsageError(`${label}: --input-shape gives dim ${d} two values: ${prev.value} (${prev.from}) and ${dims[i]} (${v.name})`);
      bound.set(d, { value: dims[i], from: v.name });
    });
  }
  return new Map([...bound].map(([k, x]) => [k, x.value]));
}

/**
 * `given` plus a shape for every other input whose dims are all fixed or named and bound by
 * `given` (see namedDimValues); inputs left undetermined stay absent. Undefined stays undefined.
 */
export function completeShapes(inputs: readonly DeclaredInput[], given: Readonly<Record<string, readonly number[]>> | undefined, label: string): Record<string, number[]> | undefined {
  if (!given) return undefined;
  const named = namedDimValues(inputs, given, label);
  const out: Record<string, number[]> = Object.fromEntries(Object.entries(given).map(([k, v]) => [k, [...v]]));
  for (const v of inputs) {
    if (out[v.name] || !v.shape) continue;
    const dims = v.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' ? named.get(d) : undefined));
    if (dims.every((d) => d !== undefined) && dims.some((_, i) => typeof v.shape?.[i] === 'string')) out[v.name] = dims as number[];
  }
  return out;
}
