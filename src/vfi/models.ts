// `--model default` is the model kiln ships (models/kiln-vfi.onnx, described in
// models/MODEL_CARD.md); anything else is a path to the user's own ONNX model.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KilnError } from '../errors.js';

export const SHIPPED_MODEL = fileURLToPath(new URL('../../models/kiln-vfi.onnx', import.meta.url));

export function resolveModel(name: string | undefined): string {
  if (!name || name === 'default') {
    if (!existsSync(SHIPPED_MODEL)) throw new KilnError(`the shipped model ${SHIPPED_MODEL} is missing (it is exported by training/; see models/MODEL_CARD.md); pass --model PATH to use your own`);
    return SHIPPED_MODEL;
  }
  if (!existsSync(name)) throw new KilnError(`${name}: no such model file`);
  return name;
}
