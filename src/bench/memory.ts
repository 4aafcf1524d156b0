// Peak resident memory per model. Several sessions measured in one process share one RSS, and
// freed memory is rarely returned to the OS, so deltas inside the benchmark process would
// charge model B for model A's leftovers. Instead each model is opened in a child process of
// its own: the child records its RSS after loading onnxruntime (baseline), creates the session,
// runs it a few times, and reports its peak RSS (VmHWM: getrusage maxrss would include the parent's peak). `modelBytes` = peak −
// baseline is what the model costs; `peakBytes` is what a process serving only it would use.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KilnError } from '../errors.js';
import type { SessionOptions } from '../runtime/session.js';
import type { ShapeOptions } from './inputs.js';

export interface MemoryResult {
  baselineBytes: number;
  peakBytes: number;
  modelBytes: number;
}

export interface MemoryJob {
  model: string;
  session: SessionOptions;
  shapes: ShapeOptions;
  runs: number;
  seed: number;
}

/**
 * Peak RSS of this process. Linux keeps getrusage's maxrss across execve, so a child spawned by
 * a big parent starts with the parent's peak (measured: a parent at 875 MiB gave a tiny model's
 * child an 813 MiB "peak"). VmHWM in /proc/self/status belongs to the address space exec made
 * and starts fresh; getrusage is the fallback where /proc is absent.
 */
export function peakRss(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

const CHILD = fileURLToPath(new URL('./memory-child.ts', import.meta.url));

/** Measures one model in a fresh child process. Bytes models are written to a temp file first. */
export async function measureMemory(model: string | Uint8Array, session: SessionOptions, shapes: ShapeOptions, runs = 3, seed = 1): Promise<MemoryResult> {
  let dir: string | null = null;
  let file: string;
  if (typeof model === 'string') file = path.resolve(model);
  else {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-mem-'));
    file = path.join(dir, 'model.onnx');
    await writeFile(file, model);
  }
  try {
    const job: MemoryJob = { model: file, session, shapes, runs, seed };
    return await runChild(job);
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

function runChild(job: MemoryJob): Promise<MemoryResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => reject(new KilnError(`memory measurement: could not start a child process: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (code !== 0) return reject(new KilnError(`memory measurement of ${job.model} failed: ${stderr.trim() || `exit ${code}`}`));
      try {
        resolve(JSON.parse(stdout) as MemoryResult);
      } catch (e) {
        reject(new KilnError(`memory measurement of ${job.model}: unreadable child output '${stdout.slice(0, 200)}'`, { cause: e }));
      }
    });
    child.stdin.end(JSON.stringify(job));
  });
}
