// Test models for the bench/report/CLI tests: exported once by test/fixtures/bench/models.py
// into .cache/bench/ with Debian's python3-torch. Returns the paths, or why they cannot be made.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const DIR = fileURLToPath(new URL('../../.cache/bench/', import.meta.url));
export const SCRIPT = fileURLToPath(new URL('../fixtures/bench/models.py', import.meta.url));

export interface BenchModels {
  tinyCnn: string;
  tinyCnnDyn: string;
  addOne: string;
  doubleImg: string;
  torchDef: string;
}

let cached: BenchModels | string | null = null;

export function benchModels(): BenchModels | string {
  if (cached) return cached;
  const m: BenchModels = { tinyCnn: `${DIR}tiny_cnn.onnx`, tinyCnnDyn: `${DIR}tiny_cnn_dyn.onnx`, addOne: `${DIR}add_one.onnx`, doubleImg: `${DIR}double_img.onnx`, torchDef: SCRIPT };
  if (![m.tinyCnn, m.tinyCnnDyn, m.addOne, m.doubleImg].every(existsSync)) {
    if (!existsSync('/usr/bin/python3')) return (cached = 'test models need /usr/bin/python3 with torch (python3-torch) to export them');
    const r = spawnSync('/usr/bin/python3', [SCRIPT, DIR], { encoding: 'utf8' });
    if (r.status !== 0) return (cached = `exporting the test models failed: ${r.stderr.trim().split('\n').pop()}`);
  }
  return (cached = m);
}
