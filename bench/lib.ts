// What benchmark scripts share: the interface bench/run.ts calls (see bench/README.md), a way
// to say "cannot run here" without failing the whole suite, and the fixture models.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/onnx/read.js';
import type { Report } from '../src/report/types.js';

export interface BenchContext {
  /** `npm run bench -- --quick`: fewer iterations, for checking that a script works. */
  quick: boolean;
  /** Progress to stderr. */
  log(message: string): void;
}

/** Every bench/<name>.bench.ts exports this. */
export type BenchScript = (ctx: BenchContext) => Promise<Report>;

/** Thrown by a script that cannot run here (model or runtime missing); run.ts prints the reason. */
export class BenchSkipped extends Error {
  override name = 'BenchSkipped';
}

export const REPO = fileURLToPath(new URL('../', import.meta.url));

/** The small fixture models of test/fixtures/bench/models.py, exported into .cache/bench/ if missing. */
export function fixtureModels(): { tinyCnn: string; tinyCnnDyn: string; addOne: string; torchDef: string } {
  const dir = `${REPO}.cache/bench/`;
  const script = `${REPO}test/fixtures/bench/models.py`;
  const m = { tinyCnn: `${dir}tiny_cnn.onnx`, tinyCnnDyn: `${dir}tiny_cnn_dyn.onnx`, addOne: `${dir}add_one.onnx`, torchDef: script };
  if (![m.tinyCnn, m.tinyCnnDyn, m.addOne].every(existsSync)) {
    const r = spawnSync('/usr/bin/python3', [script, dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new BenchSkipped(`cannot export the fixture models with /usr/bin/python3 (python3-torch): ${(r.stderr ?? '').trim().split('\n').pop()}`);
  }
  return m;
}

/** The model has a `scale` input (the kiln convention's motion scale, src/vfi/adapter.ts). */
export async function hasScaleInput(file: string): Promise<boolean> {
  return (await loadModel(file)).graph.inputs.some((v) => v.name === 'scale');
}
