// The interface the video pipeline drives a model through: frames are prepared into numbered
// slots (planar float, owned by whoever runs the model) and interpolated slot against slot, so
// the pipeline never holds float buffers itself. Two implementations: in this thread (image mode,
// tests) and in a worker thread (src/vfi/remote.ts) — onnxruntime-node's `run` blocks the thread
// that calls it, which would stall the ffmpeg pipes for the whole inference.
import type { AdapterKind } from './adapter.js';
import { Interpolator, type InterpolatorOptions, type LoadedModel } from './interpolator.js';

export interface ModelInfo {
  adapter: AdapterKind;
  fixedT: boolean;
  supportsScale: boolean;
  multiple: number;
  /** Motion scale the model runs at (1 for models without a scale input). */
  scale: number;
  tiled: boolean;
  tiles: number;
  /** Model input size (padded frame or tile). */
  inputWidth: number;
  inputHeight: number;
}

export interface RunStats {
  runMs: number;
  runs: number;
  approximated: number;
  /** Milliseconds of frame conversion (prepare and output) inside the model's thread. */
  convertMs: number;
}

export interface SlotInterpolator {
  readonly info: ModelInfo;
  /** Converts an rgb24 frame into slot `slot`; `rgb` may be released once this resolves. */
  prepare(rgb: Uint8Array, slot: number): Promise<void>;
  /** The frame at t between the frames in slots a and b, as rgb24 into `out`. */
  interpolate(a: number, b: number, t: number, out: Uint8Array): Promise<void>;
  stats(): Promise<RunStats>;
  close(): Promise<void>;
}

/** A model loaded before the frame size is known; `size` turns it into slots (once). */
export interface SlotLoader {
  size(width: number, height: number): Promise<SlotInterpolator>;
  /** Releases the model; only for a loader whose `size` was never called or failed. */
  close(): Promise<void>;
}

export const SLOTS = 3;

export function modelInfo(i: Interpolator): ModelInfo {
  return {
    adapter: i.adapter.kind,
    fixedT: i.adapter.fixedT,
    supportsScale: i.adapter.supportsScale,
    multiple: i.adapter.multiple,
    scale: i.scale,
    tiled: i.tiled,
    tiles: i.tileCount,
    inputWidth: i.tw,
    inputHeight: i.th,
  };
}

/** Slots over an Interpolator in the calling thread. */
export class LocalSlots implements SlotInterpolator {
  readonly info: ModelInfo;
  private readonly planes: Float32Array[];
  private convertMs = 0;

  constructor(private readonly interp: Interpolator) {
    this.info = modelInfo(interp);
    this.planes = Array.from({ length: SLOTS }, () => interp.newPlanar());
  }

  static async open(model: string, width: number, height: number, opts: InterpolatorOptions): Promise<LocalSlots> {
    return new LocalSlots(await Interpolator.create(model, width, height, opts));
  }

  async prepare(rgb: Uint8Array, slot: number): Promise<void> {
    const t0 = performance.now();
    this.interp.prepare(rgb, this.planes[slot]);
    this.convertMs += performance.now() - t0;
  }

  async interpolate(a: number, b: number, t: number, out: Uint8Array): Promise<void> {
    const t0 = performance.now();
    const run0 = this.interp.runMs;
    await this.interp.interpolate(this.planes[a], this.planes[b], t, out);
    this.convertMs += performance.now() - t0 - (this.interp.runMs - run0);
  }

  async stats(): Promise<RunStats> {
    return { runMs: this.interp.runMs, runs: this.interp.runs, approximated: this.interp.approximated, convertMs: this.convertMs };
  }

  async close(): Promise<void> {
    await this.interp.release();
  }
}

/** A model loaded in this thread, waiting for its frame size. */
export class LocalLoader implements SlotLoader {
  private constructor(
    private readonly model: LoadedModel,
    private readonly opts: InterpolatorOptions,
  ) {}

  static async load(model: string, opts: InterpolatorOptions): Promise<LocalLoader> {
    return new LocalLoader(await Interpolator.load(model, opts), opts);
  }

  async size(width: number, height: number): Promise<LocalSlots> {
    return new LocalSlots(Interpolator.sized(this.model, width, height, this.opts));
  }

  async close(): Promise<void> {
    await this.model.session.release().catch(() => undefined);
  }
}
