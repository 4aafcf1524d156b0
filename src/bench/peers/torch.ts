// PyTorch peers (eager FP32 and TorchScript trace+freeze) measured in the same run as the
// onnxruntime models. Debian's /usr/bin/python3 (python3-torch) runs torch_peer.py; the peer is
// driven one inference at a time over a pipe, so it interleaves with the other runners exactly
// like an onnxruntime session does. Times are taken inside Python around forward(), so pipe
// latency is not charged to PyTorch.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KilnError, UsageError } from '../../errors.js';
import type { ort } from '../../runtime/session.js';
import type { Runner, SharedCpu } from '../harness.js';
import { describeShape, type InputSpec } from '../inputs.js';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./torch_peer.py', import.meta.url));

/** Why PyTorch peers cannot run here, or null. */
export function torchUnavailable(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing (install Debian's python3-torch)`;
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return `${PYTHON} cannot import torch and numpy (apt-get install python3-torch python3-numpy): ${(r.stderr ?? '').trim().split('\n').pop() ?? ''}`;
  return null;
}

export interface TorchDef {
  file: string;
  factory: string;
}

/** `path/to/model.py[:factory]`; the factory defaults to build_model. */
export function parseTorchDef(spec: string): TorchDef {
  const m = /^(.*?\.py)(?::([A-Za-z_][A-Za-z0-9_]*))?$/.exec(spec);
  if (!m) throw new UsageError(`--torch expects path/to/model.py[:factory], got '${spec}'`);
  const file = path.resolve(m[1]);
  if (!existsSync(file)) throw new UsageError(`--torch: ${m[1]} does not exist`);
  return { file, factory: m[2] ?? 'build_model' };
}

export type TorchMode = 'eager' | 'torchscript';

export interface TorchRunnerOptions {
  label: string;
  def: TorchDef;
  mode: TorchMode;
  /** torch.set_num_threads; 0 or undefined keeps PyTorch's default. */
  threads?: number;
  /** The model's inputs, or a function giving them when the peer opens (e.g. from an ONNX runner opened before it). */
  specs: InputSpec[] | (() => InputSpec[]);
  /** Input sets; timed runs use the first, outputs(k) any. */
  feeds: Record<string, ort.Tensor>[] | (() => Record<string, ort.Tensor>[]);
}

const NUMPY_TYPES = new Set(['float32', 'float64', 'float16', 'int64', 'int32', 'uint8', 'int8', 'bool']);

export class TorchRunner implements Runner {
  readonly label: string;
  private child: ChildProcessWithoutNullStreams | null = null;
  private dir: string | null = null;
  private buffer = '';
  private waiting: ((line: string) => void)[] = [];
  private stderr = '';
  private exited: string | null = null;
  createMs = NaN;
  /** torch.get_num_threads() in the peer process, once opened. */
  threads: number | null = null;
  private noSpin = false;
  constructor(readonly options: TorchRunnerOptions) {
    this.label = options.label;
  }
  private get specs(): InputSpec[] {
    const s = this.options.specs;
    return typeof s === 'function' ? s() : s;
  }
  get items(): number {
    return this.specs[0]?.shape[0] ?? 1;
  }
  get inputs(): string {
    return describeShape(this.specs);
  }

  shareCpu(): SharedCpu | null {
    this.noSpin = true;
    return process.env.OMP_WAIT_POLICY === undefined ? { setting: 'OMP_WAIT_POLICY=PASSIVE' } : null;
  }
  async open(): Promise<void> {
    const why = torchUnavailable();
    if (why) throw new KilnError(`${this.label}: ${why}`);
    this.exited = null;
    this.buffer = '';
    this.stderr = '';
    this.dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-torch-'));
    const inputs = [];
    const sets = typeof this.options.feeds === 'function' ? this.options.feeds() : this.options.feeds;
    for (const [k, feeds] of sets.entries()) {
      const set = [];
      for (const [i, s] of this.specs.entries()) {
        if (!NUMPY_TYPES.has(s.type)) throw new UsageError(`${this.label}: input ${s.name} has type ${s.type}, which the PyTorch peer cannot read`);
        const d = feeds[s.name].data as ArrayBufferView;
        const file = path.join(this.dir, `in${k}_${i}.bin`);
        await writeFile(file, new Uint8Array(d.buffer, d.byteOffset, d.byteLength)); // little-endian, as numpy reads it
        set.push({ name: s.name, dtype: s.type, shape: s.shape, file });
      }
      inputs.push(set);
    }
    const spec = { def: this.options.def.file, factory: this.options.def.factory, mode: this.options.mode, threads: this.options.threads ?? 0, inputs };
    // OMP_WAIT_POLICY=PASSIVE: PyTorch's OpenMP threads sleep between runs instead of spinning (see SPIN_KEY in ../harness.ts).
    const env = this.noSpin && process.env.OMP_WAIT_POLICY === undefined ? { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } : process.env;
    const child = spawn(PYTHON, [SCRIPT, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child = child;
    child.stdout.on('data', (d: Buffer) => this.onData(d.toString()));
    child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    child.on('exit', (code) => {
      this.exited = `exited with status ${code}`;
      for (const w of this.waiting.splice(0)) w(JSON.stringify({ error: `${this.exited}: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}` }));
    });
    const ready = await this.next();
    this.createMs = Number(ready.createMs);
    this.threads = typeof ready.threads === 'number' ? ready.threads : null;
  }

  private onData(s: string): void {
    this.buffer += s;
    let i: number;
    while ((i = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 1);
      this.waiting.shift()?.(line);
    }
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      if (this.exited) return reject(new KilnError(`${this.label}: PyTorch peer ${this.exited}: ${this.stderr.trim()}`));
      this.waiting.push((line) => {
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return reject(new KilnError(`${this.label}: PyTorch peer printed '${line.slice(0, 200)}'`));
        }
        if (typeof msg.error === 'string') reject(new KilnError(`${this.label} (${this.options.def.file}:${this.options.def.factory}): ${msg.error}`));
        else resolve(msg);
      });
    });
  }

  private async request(cmd: string): Promise<Record<string, unknown>> {
    if (!this.child) throw new Error(`${this.label}: not open`);
    const reply = this.next();
    this.child.stdin.write(`${cmd}\n`);
    return reply;
  }

  async runOnce(): Promise<number> {
    return Number((await this.request('run')).ms);
  }

  /** The model's outputs for input set k, as float32, in forward()'s order. */
  async outputs(k = 0): Promise<{ shape: number[]; data: Float32Array }[]> {
    const r = (await this.request(`save ${this.dir} ${k}`)) as { outputs: { shape: number[]; file: string }[] };
    const result = [];
    for (const o of r.outputs) {
      const b = await readFile(o.file);
      result.push({ shape: o.shape, data: new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4) });
    }
    return result;
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child && !this.exited) {
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.stdin.end('quit\n');
      await done;
    }
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}
