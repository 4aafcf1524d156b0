// Inputs that are settings, not data. A model can declare a fixed value for such an input in
// its metadata_props under `kiln.input_defaults`, as JSON from input name to number, e.g. the
// shipped VFI model's motion scale: {"scale": 1}. Benchmarks, profiles and calibration then
// feed that value instead of random data (a random scale would resize the frames to sizes the
// model cannot take, and time a different computation on every seed).
import { ModelError } from '../errors.js';
import type { KeyValue } from '../ir/graph.js';

export const INPUT_DEFAULTS_KEY = 'kiln.input_defaults';

/** The declared input values of a model's metadata (empty when it declares none). */
export function inputDefaults(props: Readonly<Record<string, string>> | readonly KeyValue[], label = 'model'): Map<string, number> {
  const text = Array.isArray(props) ? (props as readonly KeyValue[]).find((p) => p.key === INPUT_DEFAULTS_KEY)?.value : (props as Record<string, string>)[INPUT_DEFAULTS_KEY];
  const out = new Map<string, number>();
  if (text === undefined) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ModelError(label, `metadata ${INPUT_DEFAULTS_KEY}='${text}' is not JSON (expected e.g. {"scale": 1})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ModelError(label, `metadata ${INPUT_DEFAULTS_KEY}='${text}' must be a JSON object from input name to number`);
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ModelError(label, `metadata ${INPUT_DEFAULTS_KEY}: input '${k}' has value ${JSON.stringify(v)}, not a finite number`);
    out.set(k, v);
  }
  return out;
}
