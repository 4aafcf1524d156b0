// DAIN test cases made by training/dain/tests/cases.py with Debian's python3-torch into
// .cache/dain/, keyed by a hash of the Python sources so a change there regenerates them.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ort } from '../../src/runtime/session.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SRC = `${REPO}training/dain/`;
const SCRIPT = `${SRC}tests/cases.py`;
const PYTHON = '/usr/bin/python3';

export interface TensorFile { file: string; dims: number[] }
export interface Case {
  model: string;
  inputs: Record<string, TensorFile>;
  outputs: Record<string, TensorFile>;
  params?: number;
}
export interface Cases { dir: string; cases: Record<string, Case> }

function sourceHash(): string {
  const h = createHash('sha256');
  for (const dir of [SRC, `${SRC}tests/`]) {
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.py')).sort()) h.update(f).update(readFileSync(dir + f));
  }
  return h.digest('hex').slice(0, 12);
}

/** Why torch is unusable here, or null. */
export function torchMissing(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} is absent (Debian python3-torch is needed to build the DAIN test models)`;
  const r = spawnSync(PYTHON, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PYTHON} cannot import torch and onnx: ${r.stderr.trim().split('\n').pop()}`;
}

/** The cases of one kind, built if absent; a string says why they cannot be. */
export function dainCases(what: 'ops' | 'model', extra: string[] = [], timeoutMs = 1_200_000): Cases | string {
  const missing = torchMissing();
  if (missing) return missing;
  const name = `test-${what}-${sourceHash()}${extra.length ? '-' + extra.join('') : ''}`;
  const dir = `${REPO}.cache/dain/${name}/`;
  if (!existsSync(`${dir}cases.json`)) {
    // cases of older sources are stale (the full model is ~100 MB)
    const cache = `${REPO}.cache/dain/`;
    if (existsSync(cache)) {
      for (const d of readdirSync(cache)) if (d.startsWith(`test-${what}-`) && d !== name) rmSync(cache + d, { recursive: true, force: true });
    }
    const r = spawnSync(PYTHON, [SCRIPT, what, dir, ...extra], { encoding: 'utf8', timeout: timeoutMs });
    if (r.status !== 0) throw new Error(`cases.py ${what} failed (${r.status ?? r.signal}): ${r.stderr.trim().split('\n').slice(-5).join('\n')}`);
  }
  return { dir, cases: JSON.parse(readFileSync(`${dir}cases.json`, 'utf8')) as Record<string, Case> };
}

export function readTensor(dir: string, t: TensorFile): ort.Tensor {
  const buf = readFileSync(dir + t.file);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  if (data.length !== t.dims.reduce((a, b) => a * b, 1)) throw new Error(`${t.file}: ${data.length} values for dims ${t.dims.join('x')}`);
  return new ort.Tensor('float32', data, t.dims);
}

/** Largest |a-b| with its index; NaN anywhere counts as infinitely far. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): { err: number; at: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let err = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Number.isNaN(a[i]) || Number.isNaN(b[i]) ? Infinity : Math.abs(a[i] - b[i]);
    if (d > err) { err = d; at = i; }
  }
  return { err, at };
}
