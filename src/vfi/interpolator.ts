// One model, one frame geometry: turns two rgb24 frames and a timestep into the frame between.
// Frames are converted to planar float once (`prepare`) and reused for every timestep of a pair;
// the model runs on the frame padded to its multiple, or tile by tile (--tile, or a model with
// fixed H×W), and the result is cropped back to the frame in the one output pass.
import { ModelError, UsageError } from '../errors.js';
import { createSession, run, type SessionOptions, ort } from '../runtime/session.js';
import { type Adapter, type AdapterKind, detectAdapter } from './adapter.js';
import { chwToHwc, hwcToChw, padTo } from './convert.js';
import { readMetadataProps } from '../onnx/metadata.js';
import { accumulateTile, extractTile, layoutTiles, normalize, ramp, type Tile } from './tiles.js';

export interface InterpolatorOptions {
  adapter?: AdapterKind;
  session?: SessionOptions;
  /** Tile size in pixels (rounded up to the model's multiple); 0 or undefined: whole frames. */
  tile?: number;
  tileOverlap?: number;
  /**
   * Motion estimated at the frames resized by this factor (models with a `scale` input);
   * 'auto': autoScale() of the frame size for such models, 1 for others; undefined: 1.
   */
  scale?: MotionScale;
}

export type MotionScale = number | 'auto';

/** The largest and smallest motion scale accepted (the shipped model pads to 4 and 64 px). */
export const MAX_SCALE = 4;
export const MIN_SCALE = 1 / 16;
/**
 * The short side at which the shipped model estimates motion best (models/MODEL_CARD.md, Scores).
 * Its weights at motion scale 2 vs 1: +0.46 dB on the 21 real 320x240 dev triplets, +1.06 dB on
 * 4-16 px pans over the held-out photos at 320x240, -0.17 dB on those pans at 640x480. At 0.5 vs 1:
 * +4.3 dB on 32-128 px pans at 1280x720 and 1920x1080 (validate.py --large-motion), +1.0 dB on
 * the wood-grain pans (--texture-pans), level at 1280x720 and +1.9 dB at 1920x1080 on the
 * interpolate benchmark's clips, at 1.4x their speed.
 */
export const AUTO_SCALE_SHORT_SIDE = 480;

/**
 * The power of two that brings the frame's short side nearest (in ratio) to
 * AUTO_SCALE_SHORT_SIDE, within [1/4, MAX_SCALE]: 240p → 2, 360p-540p → 1, 720p and 1080p → 0.5,
 * 2160p → 0.25. Powers of two keep the padding multiple whole (16 / s: 4 … 64).
 */
export function autoScale(width: number, height: number): number {
  const s = 2 ** Math.round(Math.log2(AUTO_SCALE_SHORT_SIDE / Math.min(width, height)));
  return Math.min(MAX_SCALE, Math.max(0.25, s));
}

/** The motion scale a model runs at on width×height frames. */
export function resolveScale(scale: MotionScale | undefined, adapter: Pick<Adapter, 'supportsScale'>, width: number, height: number): number {
  if (scale === 'auto') return adapter.supportsScale ? autoScale(width, height) : 1;
  return scale ?? 1;
}

export const DEFAULT_TILE_OVERLAP = 32;

/** A session with its adapter, before a frame size is known (Interpolator.load). */
export interface LoadedModel {
  file: string;
  session: ort.InferenceSession;
  adapter: Adapter;
}

export class Interpolator {
  /** Milliseconds inside onnxruntime. */
  runMs = 0;
  runs = 0;
  /** Timesteps a fixed-t model could only approximate (to the nearest 1/8). */
  approximated = 0;
  private checkedOutput = false;
  private tiles: Tile[] | null = null;
  private tileBufs: { a: Float32Array; b: Float32Array; acc: Float32Array; wsum: Float32Array; wx: Float32Array[]; wy: Float32Array[] } | null = null;
  /** Midpoints computed for the current pair by a fixed-t (0.5) model, keyed by t·8. */
  private mids = new Map<number, Float32Array>();
  private midsOf: string | null = null;
  /** Content versions of prepared buffers: a pair's cached work is valid while both are unchanged. */
  private versions = new WeakMap<Float32Array, number>();
  private nextVersion = 1;

  private constructor(
    readonly file: string,
    readonly session: ort.InferenceSession,
    readonly adapter: Adapter,
    /** Frame size. */
    readonly width: number,
    readonly height: number,
    /** Planar (padded) size every prepared frame has. */
    readonly pw: number,
    readonly ph: number,
    /** Model input size: the padded frame, or one tile. */
    readonly tw: number,
    readonly th: number,
    readonly overlap: number,
    /** Motion scale fed to the model (1 for models without a scale input). */
    readonly scale: number,
  ) {}

  static async create(file: string, width: number, height: number, opts: InterpolatorOptions = {}): Promise<Interpolator> {
    const model = await Interpolator.load(file, opts);
    try {
      return Interpolator.sized(model, width, height, opts);
    } catch (e) {
      await model.session.release().catch(() => undefined);
      throw e;
    }
  }

  /**
   * The part of `create` that needs no frame size: the session, the adapter and the checks of
   * the options against it. The video pipeline starts it while it probes the input.
   */
  static async load(file: string, opts: InterpolatorOptions = {}): Promise<LoadedModel> {
    const session = await createSession(file, opts.session ?? {});
    try {
      const adapter = detectAdapter({ inputs: session.inputMetadata, outputs: session.outputMetadata, metadata: readMetadataProps(file) }, file, opts.adapter);
      if (typeof opts.scale === 'number') {
        if (opts.scale !== 1 && !adapter.supportsScale) throw new UsageError(`--scale needs a model with a 'scale' input (kiln convention); ${file} (${adapter.kind} adapter) has none`);
        if (!(opts.scale >= MIN_SCALE && opts.scale <= MAX_SCALE)) throw new UsageError(`--scale must be 'auto' or in [${MIN_SCALE}, ${MAX_SCALE}], got ${opts.scale}`);
        scaledMultiple(adapter.multiple, opts.scale);
      } else if (opts.scale !== undefined && opts.scale !== 'auto') {
        throw new UsageError(`--scale must be 'auto' or a number, got ${String(opts.scale)}`);
      }
      return { file, session, adapter };
    } catch (e) {
      await session.release().catch(() => undefined);
      throw e;
    }
  }

  /** An Interpolator for width×height frames over a loaded model (which it then owns). */
  static sized(model: LoadedModel, width: number, height: number, opts: InterpolatorOptions = {}): Interpolator {
    const { file, session, adapter } = model;
    const scale = resolveScale(opts.scale, adapter, width, height);
    const m = scaledMultiple(adapter.multiple, scale);
    const overlap = opts.tileOverlap ?? DEFAULT_TILE_OVERLAP;
    let tw: number, th: number;
    if (adapter.fixed) {
      [tw, th] = [adapter.fixed.w, adapter.fixed.h];
    } else if (opts.tile) {
      tw = th = padTo(opts.tile, m);
    } else {
      [tw, th] = [padTo(width, m), padTo(height, m)];
    }
    // The planar frame covers at least one tile and is a multiple of the model's stride.
    const pw = Math.max(tw, adapter.fixed ? width : padTo(width, m));
    const ph = Math.max(th, adapter.fixed ? height : padTo(height, m));
    const tiled = tw < pw || th < ph;
    if (tiled && overlap >= Math.min(tw, th)) throw new UsageError(`--tile-overlap ${overlap} must be smaller than the tile (${tw}x${th})`);
    return new Interpolator(file, session, adapter, width, height, pw, ph, tw, th, tiled ? overlap : 0, scale);
  }

  get tiled(): boolean {
    return this.tw < this.pw || this.th < this.ph;
  }

  get tileCount(): number {
    return this.tiled ? layoutTiles(this.pw, this.ph, this.tw, this.th, this.overlap).length : 1;
  }

  newPlanar(): Float32Array {
    return new Float32Array(3 * this.pw * this.ph);
  }

  /** rgb24 frame → planar float, padded (the one input pass per frame). */
  prepare(rgb: Uint8Array, dst: Float32Array): void {
    hwcToChw(rgb, this.width, this.height, dst, this.pw, this.ph);
    this.versions.set(dst, this.nextVersion++);
  }

  private pairKey(a: Float32Array, b: Float32Array): string | null {
    const va = this.versions.get(a);
    const vb = this.versions.get(b);
    return va && vb ? `${va}:${vb}` : null;
  }

  /** The frame at t ∈ (0, 1) between prepared frames a and b, written to `out` as rgb24. */
  async interpolate(a: Float32Array, b: Float32Array, t: number, out: Uint8Array): Promise<void> {
    const key = this.pairKey(a, b);
    const planar = this.adapter.fixedT ? await this.atFixedT(a, b, t, key) : await this.runPlanar(a, b, t, key);
    chwToHwc(planar, this.pw, this.ph, out, this.width, this.height);
  }

  /**
   * A t = 0.5-only model reaches t = k/8 by recursion on midpoints: t = 1/4 is the midpoint of
   * (a, mid(a, b)). Other t are rounded to the nearest 1/8 and counted in `approximated`.
   */
  private async atFixedT(a: Float32Array, b: Float32Array, t: number, key: string | null): Promise<Float32Array> {
    if (key === null || key !== this.midsOf) {
      this.mids.clear();
      this.midsOf = key;
    }
    let k = Math.round(t * 8);
    if (Math.abs(k - t * 8) > 1e-9) this.approximated++;
    k = Math.min(7, Math.max(1, k));
    const get = async (lo: number, hi: number, target: number): Promise<Float32Array> => {
      const mid = (lo + hi) / 2;
      let m = this.mids.get(mid);
      if (!m) {
        const pa = lo === 0 ? a : this.mids.get(lo)!;
        const pb = hi === 8 ? b : this.mids.get(hi)!;
        m = await this.runPlanar(pa, pb, 0.5, lo === 0 && hi === 8 ? key : null);
        this.mids.set(mid, m);
      }
      if (mid === target) return m;
      return target < mid ? get(lo, mid, target) : get(mid, hi, target);
    };
    return get(0, 8, k);
  }

  /** Runs the model once (or once per tile) and returns the planar pw×ph result. */
  private async runPlanar(a: Float32Array, b: Float32Array, t: number, key: string | null): Promise<Float32Array> {
    if (!this.tiled) return this.runModel(a, b, this.pw, this.ph, t, key);
    const bufs = this.tileBuffers();
    bufs.acc.fill(0);
    bufs.wsum.fill(0);
    for (let i = 0; i < this.tiles!.length; i++) {
      const { x, y } = this.tiles![i];
      extractTile(a, this.pw, this.ph, x, y, this.tw, this.th, bufs.a);
      extractTile(b, this.pw, this.ph, x, y, this.tw, this.th, bufs.b);
      const o = await this.runModel(bufs.a, bufs.b, this.tw, this.th, t, null);
      accumulateTile(bufs.acc, bufs.wsum, this.pw, this.ph, o, x, y, this.tw, this.th, bufs.wx[i], bufs.wy[i]);
    }
    normalize(bufs.acc, bufs.wsum);
    // A fixed-t model recurses on this result, so hand out a copy when it will be kept.
    return this.adapter.fixedT ? bufs.acc.slice() : bufs.acc;
  }

  private tileBuffers() {
    if (!this.tileBufs) {
      this.tiles = layoutTiles(this.pw, this.ph, this.tw, this.th, this.overlap);
      const n = 3 * this.tw * this.th;
      this.tileBufs = {
        a: new Float32Array(n),
        b: new Float32Array(n),
        acc: this.newPlanar(),
        wsum: new Float32Array(this.pw * this.ph),
        wx: this.tiles.map((tl) => ramp(tl.x, this.tw, this.pw, this.overlap)),
        wy: this.tiles.map((tl) => ramp(tl.y, this.th, this.ph, this.overlap)),
      };
    }
    return this.tileBufs;
  }

  /**
   * Output buffers onnxruntime writes into, one per input size. Not for a fixed-t model, whose
   * results are kept as inputs of the next recursion step.
   */
  private outputs = new Map<string, ort.Tensor>();

  private async runModel(a: Float32Array, b: Float32Array, w: number, h: number, t: number, key: string | null): Promise<Float32Array> {
    const feeds = this.adapter.feeds(a, b, h, w, t, this.scale, key);
    let fetches: Record<string, ort.Tensor> | undefined;
    if (!this.adapter.fixedT) {
      let o = this.outputs.get(`${w}x${h}`);
      if (!o) this.outputs.set(`${w}x${h}`, (o = new ort.Tensor('float32', new Float32Array(3 * w * h), [1, 3, h, w])));
      fetches = { [this.adapter.outputName]: o };
    }
    const t0 = performance.now();
    const result = await run(this.session, feeds, this.file, fetches);
    this.runMs += performance.now() - t0;
    this.runs++;
    const out = result[this.adapter.outputName];
    if (!out || out.type !== 'float32') throw new ModelError(this.file, `output ${this.adapter.outputName} is ${out?.type ?? 'missing'}, expected float32`);
    const d = out.dims;
    if (d.length !== 4 || d[1] !== 3 || d[2] !== h || d[3] !== w)
      throw new ModelError(this.file, `output ${this.adapter.outputName} has shape [${d.join(',')}] for inputs of ${w}x${h}; expected [1,3,${h},${w}]`);
    const data = out.data as Float32Array;
    if (!this.checkedOutput) {
      // Once per run of the pipeline: a model that emits NaN would silently encode black frames.
      let bad = 0;
      for (let i = 0; i < data.length; i++) if (data[i] !== data[i]) bad++;
      if (bad) throw new ModelError(this.file, `output ${this.adapter.outputName} contains ${bad} NaN values (of ${data.length})`);
      this.checkedOutput = true;
    }
    return data;
  }

  async release(): Promise<void> {
    await this.session.release().catch(() => undefined);
  }
}

/**
 * The padding multiple at motion scale `scale`: the model resizes the padded frame by `scale`
 * and needs its own multiple there, so the frame is padded to multiple / scale, which must be
 * a whole number (scale 2, 0.5 or 0.25 with the shipped model's 16: 8, 32 or 64).
 */
export function scaledMultiple(multiple: number, scale: number): number {
  const m = multiple / scale;
  const r = Math.round(m);
  if (Math.abs(m - r) > 1e-6 * m) throw new UsageError(`--scale ${scale}: the model needs sizes that are multiples of ${multiple} after scaling, so ${multiple} / scale must be a whole number (e.g. --scale 2, 0.5 or 0.25)`);
  return r;
}
