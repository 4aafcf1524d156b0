// Frame-level parallelism: K model threads, each with its own onnxruntime session, interpolate
// successive frame pairs at the same time. On a 2-core CPU two sessions of one thread each get
// more frames through than one session of two threads (kiln-vfi at 640×480: 0.80× the time per
// frame, `npm run bench -- vfi-throughput`), because a single small-batch inference leaves both threads waiting
// at every op boundary. Every step between the same two frames goes to one worker, so a
// fixed-t model's cached midpoints stay valid; each worker keeps the last SLOTS frames it was
// given (keyed by frame index) and converts a frame only when it does not hold it yet. Calls to
// one worker are chained, so a slot is never refilled while an interpolation still reads it.
import { loadSlots } from './remote.js';
import type { InterpolatorOptions } from './interpolator.js';
import { SLOTS, type ModelInfo, type RunStats, type SlotInterpolator, type SlotLoader } from './slots.js';

interface ModelThread {
  slots: SlotInterpolator;
  /** Its calls, chained: each starts when the one before it has finished. */
  queue: Promise<void>;
  /** Frame index held in each slot (-1: empty) and when it was last used. */
  held: number[];
  used: number[];
}

export class ModelPool {
  private clock = 0;
  private pairs = 0;

  private constructor(private readonly workers: ModelThread[]) {}

  /** @internal PoolLoader.open */
  static of(slots: SlotInterpolator[]): ModelPool {
    return new ModelPool(slots.map((s) => ({ slots: s, held: new Array<number>(SLOTS).fill(-1), queue: Promise.resolve(), used: new Array<number>(SLOTS).fill(0) })));
  }

  get info(): ModelInfo {
    return this.workers[0].slots.info;
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * Starts `count` model threads (or, with inWorker false, one model in this thread), each
   * loading the model; `open` on the result gives them the frame size. Loading does not need
   * the input, so the pipeline runs it while it probes the input.
   */
  static async load(model: string, opts: InterpolatorOptions, count: number, inWorker: boolean): Promise<PoolLoader> {
    const n = inWorker ? Math.max(1, count) : 1;
    return new PoolLoader(await settleAll(Array.from({ length: n }, () => loadSlots(model, opts, inWorker)), (l) => l.close()));
  }

  /**
   * Hands the pair (frame a, frame b) to the next worker and converts whichever of the two it
   * does not hold yet. Resolves once the frames' bytes have been read (they may be released then)
   * with a function that interpolates that pair at t; calls on one worker run in order.
   */
  async pair(a: { index: number; data: Uint8Array }, b: { index: number; data: Uint8Array }): Promise<(t: number, out: Uint8Array) => Promise<void>> {
    const w = this.workers[this.pairs++ % this.workers.length];
    const sa = await this.load(w, a, b.index);
    const sb = await this.load(w, b, a.index);
    return (t, out) => this.serial(w, () => w.slots.interpolate(sa, sb, t, out));
  }

  private serial<T>(w: ModelThread, call: () => Promise<T>): Promise<T> {
    const p = w.queue.then(call);
    w.queue = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  private async load(w: ModelThread, f: { index: number; data: Uint8Array }, keep: number): Promise<number> {
    let s = w.held.indexOf(f.index);
    if (s < 0) {
      // the least recently used slot that does not hold the pair's other frame
      s = -1;
      for (let k = 0; k < SLOTS; k++) if (w.held[k] !== keep && (s < 0 || w.used[k] < w.used[s])) s = k;
      w.held[s] = -1;
      const slot = s;
      await this.serial(w, () => w.slots.prepare(f.data, slot));
      w.held[s] = f.index;
    }
    w.used[s] = ++this.clock;
    return s;
  }

  /** The workers' counters added up. */
  async stats(): Promise<RunStats> {
    const all = await Promise.all(this.workers.map((w) => this.serial(w, () => w.slots.stats())));
    return all.reduce((x, y) => ({ runMs: x.runMs + y.runMs, runs: x.runs + y.runs, approximated: x.approximated + y.approximated, convertMs: x.convertMs + y.convertMs }));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => this.serial(w, () => w.slots.close())));
  }
}

/** Model threads with the model loaded, waiting for the frame size. */
export class PoolLoader {
  constructor(private readonly loaders: SlotLoader[]) {}

  /** The pool for width×height frames; when a thread fails, all of them are closed. */
  async open(width: number, height: number): Promise<ModelPool> {
    const sizing = this.loaders.map((l) =>
      l.size(width, height).catch(async (e: unknown) => {
        await l.close();
        throw e;
      }),
    );
    return ModelPool.of(await settleAll(sizing, (s) => s.close()));
  }

  async close(): Promise<void> {
    await Promise.all(this.loaders.map((l) => l.close()));
  }
}

/** All of `tasks`, or, when one fails, its error once the ones that succeeded are closed. */
async function settleAll<T>(tasks: Promise<T>[], close: (t: T) => Promise<void>): Promise<T[]> {
  const done = await Promise.allSettled(tasks);
  const failed = done.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(done.map((r) => (r.status === 'fulfilled' ? close(r.value) : undefined)));
    throw failed.reason;
  }
  return done.map((r) => (r as PromiseFulfilledResult<T>).value);
}
