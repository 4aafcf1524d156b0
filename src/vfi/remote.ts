// SlotInterpolator in a worker thread, so that inference (which blocks the thread that calls
// onnxruntime-node's `run`) does not stall decoding and encoding on the main thread.
import { Worker } from 'node:worker_threads';
import { KilnError, ModelError, UsageError } from '../errors.js';
import type { InterpolatorOptions } from './interpolator.js';
import type { ModelInfo, RunStats, SlotInterpolator, SlotLoader } from './slots.js';
import type { SerializedError, WorkerInit } from './worker.js';

function revive(e: SerializedError): Error {
  switch (e.kind) {
    case 'ModelError':
      return new ModelError(e.file ?? 'model', e.detail ?? e.message);
    case 'UsageError':
      return new UsageError(e.message);
    case 'KilnError':
      return new KilnError(e.message);
    default:
      return new Error(`in the model thread: ${e.message}`);
  }
}

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: SerializedError;
}

/** A model thread: `load` starts it (the model loads there), `size` makes it the slots. */
export class WorkerSlots implements SlotInterpolator, SlotLoader {
  /** Set by `size`. */
  info!: ModelInfo;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private dead: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (r: Reply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (r.ok) p.resolve(r.value);
      else p.reject(revive(r.error!));
    });
    const die = (e: Error) => {
      this.dead ??= e;
      for (const p of this.pending.values()) p.reject(this.dead);
      this.pending.clear();
    };
    worker.on('error', (e) => die(new KilnError(`the model thread failed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => die(new KilnError(`the model thread exited (code ${code})`)));
  }

  static async load(model: string, opts: InterpolatorOptions): Promise<WorkerSlots> {
    const init: WorkerInit = { model, opts };
    const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), { workerData: init, execArgv: [] });
    let onMessage: (r: Reply) => void = () => undefined;
    let onError: (e: Error) => void = () => undefined;
    let onExit: (code: number) => void = () => undefined;
    const first = await new Promise<Reply>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new KilnError(`the model thread exited before it started (code ${code})`));
      worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    }).finally(() => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    });
    if (!first.ok) {
      await worker.terminate();
      throw revive(first.error!);
    }
    return new WorkerSlots(worker);
  }

  async size(width: number, height: number): Promise<SlotInterpolator> {
    this.info = await this.call<ModelInfo>({ op: 'size', width, height });
    return this;
  }

  private call<T>(msg: Record<string, unknown>): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...msg, id });
    });
  }

  prepare(rgb: Uint8Array, slot: number): Promise<void> {
    return this.call({ op: 'prepare', slot, rgb: shared(rgb) });
  }

  interpolate(a: number, b: number, t: number, out: Uint8Array): Promise<void> {
    return this.call({ op: 'interpolate', a, b, t, out: shared(out) });
  }

  stats(): Promise<RunStats> {
    return this.call({ op: 'stats' });
  }

  async close(): Promise<void> {
    if (!this.dead) await this.call({ op: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }
}

function shared(a: Uint8Array): Uint8Array {
  // A Uint8Array over an ordinary ArrayBuffer would be copied by postMessage, and the worker
  // would write its output into the copy.
  if (!(a.buffer instanceof SharedArrayBuffer)) throw new TypeError('frames passed to the model thread must live in SharedArrayBuffers');
  return a;
}

/** Loads a model in a new model thread, or with inWorker false in this one. */
export async function loadSlots(model: string, opts: InterpolatorOptions, inWorker: boolean): Promise<SlotLoader> {
  if (!inWorker) {
    const { LocalLoader } = await import('./slots.js');
    return LocalLoader.load(model, opts);
  }
  return WorkerSlots.load(model, opts);
}
