// The video pipeline: three named stages joined by bounded queues, running concurrently —
//
//   decodeStage (ffmpeg → rgb24 frames) ─decoded→ inferStage (schedule, scene cuts, dedup,
//   model) ─outgoing→ encodeStage (frames → ffmpeg, muxed with the input's audio/subtitles)
//
// The infer stage hands successive frame pairs to a pool of model threads (src/vfi/pool.ts; two
// by default on a multi-core CPU), several pairs in flight at once, and emits their frames in
// order. Frame buffers come from fixed pools and circulate; a full queue or an empty pool makes the
// stage before it wait, so memory is bounded by the pool sizes however long the video is. The
// output goes to a temporary file beside the target and is renamed only after ffmpeg finished
// it; any error or an abort (Ctrl-C) stops all three stages and removes the temporary file.
//
// What is emitted (see src/vfi/schedule.ts for the timing): every output frame that falls
// exactly on an input frame is that frame; between two frames the model interpolates at t;
// across a scene cut nothing is interpolated: the frames of the gap repeat the last frame of the
// old scene, so the cut stays exactly where it was in time; after the last input frame the
// output repeats it up to the input's duration.
import os from 'node:os';
import { extname } from 'node:path';
import { KilnError, UsageError } from '../errors.js';
import type { SessionOptions } from '../runtime/session.js';
import type { AdapterKind } from '../vfi/adapter.js';
import type { MotionScale } from '../vfi/interpolator.js';
import { ModelPool } from '../vfi/pool.js';
import { Schedule } from '../vfi/schedule.js';
import { checkOutput, commit, discard, tempBeside } from './atomic.js';
import { decodeFrames } from './decode.js';
import { type EncodeOptions, Encoder, encodeArgs, keepsRotation, rotationRemuxArgs, sizeProblem } from './encode.js';
import { ffmpegPath, runTool, tail } from './ffmpeg.js';
import { type Frame, FramePool } from './frames.js';
import { probe, type VideoInfo } from './probe.js';
import { BoundedQueue } from './queue.js';
import { format, type Rational, toNumber } from './rational.js';
import { DEFAULT_DEDUP_THRESHOLD, DEFAULT_SCENE_THRESHOLD, histogram, histogramDistance, maxBlockDifference } from './scene.js';

/** Whole-frame inference above this many pixels (4K UHD) needs --tile. */
export const MAX_WHOLE_FRAME_PIXELS = 3840 * 2160;

export interface VideoJob {
  input: string;
  output: string;
  /** 2, 4 or 8; default 2 unless `fps` is given. */
  factor?: number;
  fps?: Rational;
  model: string;
  adapter?: AdapterKind;
  session?: SessionOptions;
  tile?: number;
  tileOverlap?: number;
  /** Motion scale (InterpolatorOptions.scale); `kiln interpolate` passes 'auto' unless told. */
  scale?: MotionScale;
  /** Histogram distance above which two frames are a cut (0–1); ≥ 1 turns detection off. */
  sceneThreshold?: number;
  dedup?: boolean;
  dedupThreshold?: number;
  /** Longest run of duplicates merged into one held frame; longer runs are real pauses. */
  dedupMaxRun?: number;
  encode?: EncodeOptions;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Capacity of each queue between stages. */
  queueDepth?: number;
  /** Run the model in a worker thread (default), so inference does not stall the ffmpeg pipes. */
  inWorker?: boolean;
  /** Model threads, each with its own session, interpolating successive frame pairs at once
   *  (default: defaultWorkers()); without `session.threads` the cores are split between them. */
  workers?: number;
}

/** Two model threads on a CPU with two cores or more (src/vfi/pool.ts), else one: a GPU
 *  session already runs one frame on the whole device, and each session would hold its own copy
 *  of the model in device memory. */
export function defaultWorkers(provider?: string): number {
  return (provider ?? 'cpu') === 'cpu' && os.availableParallelism() >= 2 ? 2 : 1;
}

export interface Progress {
  framesIn: number;
  framesOut: number;
  totalOut: number;
  elapsedMs: number;
}

export interface StageTimes {
  decode: number;
  infer: number;
  encode: number;
}

export interface Summary {
  input: string;
  output: string;
  model: string;
  adapter: AdapterKind;
  width: number;
  height: number;
  inputRate: string;
  outputRate: string;
  framesIn: number;
  framesOut: number;
  interpolated: number;
  copied: number;
  sceneCuts: number[];
  duplicatesDropped: number;
  approximatedTimesteps: number;
  modelRuns: number;
  /** Milliseconds inside onnxruntime (part of busyMs.infer). */
  modelMs: number;
  tiles: number;
  /** Motion scale the model ran at (`--scale`, resolved for the frame size when 'auto'). */
  motionScale: number;
  /** Model threads (sessions) that ran pairs at once, and onnxruntime threads in each. */
  workers: number;
  threadsPerWorker: number | null;
  wallMs: number;
  /** Of wallMs: probing the input and loading the model, before the first frame. */
  setupMs: number;
  /** Output frames per second of wall time. */
  fps: number;
  /** Output frames per second once running (wall time less setup). */
  streamFps: number;
  /** Milliseconds each stage was busy (they overlap, so these add up to more than wallMs). */
  busyMs: StageTimes;
  /** busyMs normalised to sum to 1. */
  share: StageTimes;
  /** The stage busy for the largest part of the wall time: the one to make faster. */
  bottleneck: keyof StageTimes;
  peakRssMB: number;
  streamsCopied: string[];
  streamsDropped: string[];
}

interface Outgoing {
  frame: Frame;
  j: number;
}

/** The input's properties, and the output schedule, once they are known to be usable. */
async function probeInput(job: VideoJob): Promise<{ info: VideoInfo; schedule: Schedule }> {
  const info = await probe(job.input, { signal: job.signal });
  if (info.still) throw new KilnError(`${job.input}: is a single image, not a video; to interpolate between two images run: kiln interpolate A.png B.png -o MID.png`);
  if (info.frames < 2) throw new KilnError(`${job.input}: has ${info.frames} frame${info.frames === 1 ? '' : 's'}; interpolation needs at least 2`);
  if (info.width * info.height > MAX_WHOLE_FRAME_PIXELS && !job.tile)
    throw new KilnError(`${job.input}: ${info.width}x${info.height} frames are too large to run whole (limit ${MAX_WHOLE_FRAME_PIXELS} pixels); add --tile 1024 (and --scale 0.5 if the model supports it)`);
  const odd = sizeProblem(job.encode?.codec, info.width, info.height);
  if (odd) throw new KilnError(`${job.input}: ${odd}`);
  const schedule = job.fps ? new Schedule(info.rate, job.fps) : Schedule.forFactor(info.rate, job.factor ?? 2);
  if (toNumber(schedule.outRate) <= toNumber(info.rate)) throw new UsageError(`--fps ${format(schedule.outRate)} is not above the input's ${format(info.rate)} fps; kiln only raises frame rates`);
  return { info, schedule };
}

export async function interpolateVideo(job: VideoJob): Promise<Summary> {
  const t0 = performance.now();
  checkOutput(job.output, [job.input]);
  if (!extname(job.output)) throw new UsageError(`-o ${job.output}: give the output a file extension (.mp4, .mkv, ...) so ffmpeg knows the container`);
  if (job.factor !== undefined && job.fps !== undefined) throw new UsageError('give either --factor or --fps, not both');
  // onnxruntime's idle threads spin by default; here two ffmpeg processes need those cores too.
  const session = { ...job.session, config: { 'session.intra_op.allow_spinning': '0', ...job.session?.config } };
  const workers = job.workers ?? defaultWorkers(session.provider);
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError(`--workers must be a whole number ≥ 1, not ${workers}`);
  // Each model thread gets its share of the cores unless the threads were set.
  if (session.threads === undefined && workers > 1) session.threads = Math.max(1, Math.floor(os.availableParallelism() / workers));
  // The model threads start and load the model while the input is probed (~0.3 s of ffprobe at
  // 640x480 that no longer waits for ~0.6-0.9 s of thread start-up and session creation). An
  // error of the input is reported before one of the model.
  const loading = ModelPool.load(job.model, { adapter: job.adapter, session, tile: job.tile, tileOverlap: job.tileOverlap, scale: job.scale }, workers, job.inWorker !== false);
  loading.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  const { info, schedule } = await probeInput(job).catch(async (e: unknown) => {
    await loading.then((l) => l.close(), () => undefined);
    throw e;
  });
  const pool = await (await loading).open(info.width, info.height); // closes the threads if it fails
  if (pool.info.fixedT && !schedule.dyadic) {
    await pool.close();
    throw new UsageError(`${job.model} has no timestep input (t is fixed at 0.5), so it can only make 2x, 4x or 8x; ${format(info.rate)} → ${format(schedule.outRate)} fps needs other timesteps`);
  }

  const setupMs = performance.now() - t0;
  const temp = tempBeside(job.output);
  const plan = encodeArgs(info, schedule.outRate, temp, job.encode);
  const encoder = new Encoder(plan.args, job.output);
  const depth = job.queueDepth ?? 4;
  const frameBytes = info.width * info.height * 3;
  // Input buffers: the decoded queue, the two anchors held by the infer stage, the copies waiting
  // in the outgoing queue, and one being filled by the decoder.
  const shared = job.inWorker !== false;
  // Frames held for the pairs in flight: at most pool.size + 1 pairs of up to `perPair` outputs.
  const perPair = Math.ceil(toNumber(schedule.outRate) / toNumber(info.rate)) + 1;
  const inPool = new FramePool(frameBytes, 2 * depth + 3 + (pool.size + 1) * perPair, shared);
  const outPool = new FramePool(frameBytes, depth + 2 + (pool.size + 1) * perPair, shared);
  const decoded = new BoundedQueue<Frame>(depth, 'decoded');
  const outgoing = new BoundedQueue<Outgoing>(depth, 'outgoing');
  const stop = new AbortController();
  const fail = (e: unknown) => {
    if (!stop.signal.aborted) stop.abort(e);
    decoded.fail(e, (f) => f.release());
    outgoing.fail(e, (o) => o.frame.release());
  };
  const onAbort = () => fail(job.signal?.reason ?? new KilnError('interrupted'));
  job.signal?.addEventListener('abort', onAbort, { once: true });
  if (job.signal?.aborted) onAbort();

  const busy: StageTimes = { decode: 0, infer: 0, encode: 0 };
  const counts = { framesIn: 0, framesOut: 0, interpolated: 0, copied: 0, dropped: 0 };
  const cuts: number[] = [];
  const totalOut = schedule.outputCount(info.frames);

  async function decodeStage(): Promise<void> {
    const timing = { decodeMs: 0 };
    try {
      for await (const f of decodeFrames(info.file, info.width, info.height, inPool, { signal: stop.signal, timing })) {
        await decoded.push(f).catch((e) => {
          f.release();
          throw e;
        });
      }
      decoded.close();
    } finally {
      busy.decode = timing.decodeMs;
    }
  }

  async function inferStage(): Promise<void> {
    const sceneOn = (job.sceneThreshold ?? DEFAULT_SCENE_THRESHOLD) < 1;
    const sceneThr = job.sceneThreshold ?? DEFAULT_SCENE_THRESHOLD;
    const dedupThr = job.dedupThreshold ?? DEFAULT_DEDUP_THRESHOLD;
    const maxRun = job.dedupMaxRun ?? 4;
    let anchor: Frame | null = null;
    let anchorHist = new Float32Array(48);
    let nextHist = new Float32Array(48);
    let n = 0;
    // Output frames in the order they are due. An interpolated one is ready once its work has
    // settled (`done` then holds the error, if any); up to pool.size pairs are in flight at once,
    // one per model thread.
    interface Pending { frame: Frame; j: number; pair: number; settled: boolean; done: Promise<unknown> }
    const pending: Pending[] = [];
    let pairs = 0;
    const push = (frame: Frame, j: number, pair: number, work?: Promise<void>) => {
      const e: Pending = { frame, j, pair, settled: !work, done: Promise.resolve(null) };
      if (work) e.done = work.then(() => { e.settled = true; return null; }, (err: unknown) => { e.settled = true; return err ?? new Error('interpolation failed'); });
      pending.push(e);
    };
    const emitHead = async () => {
      const p = pending.shift()!;
      const tw = performance.now();
      const err = await p.done;
      busy.infer += performance.now() - tw;
      if (err) {
        p.frame.release();
        throw err;
      }
      await outgoing.push({ frame: p.frame, j: p.j }).catch((e) => {
        p.frame.release();
        throw e;
      });
    };
    const inFlight = () => new Set(pending.filter((p) => !p.settled).map((p) => p.pair)).size;
    try {
      for (;;) {
        const f = await decoded.pull();
        if (!f) break;
        n++;
        counts.framesIn = n;
        const ti = performance.now();
        if (!anchor) {
          anchor = f;
          if (sceneOn) histogram(f.data, info.width, info.height, anchorHist);
          busy.infer += performance.now() - ti;
          continue;
        }
        if (job.dedup && f.index - anchor.index < maxRun && maxBlockDifference(anchor.data, f.data, info.width, info.height) < dedupThr) {
          counts.dropped++;
          f.release();
          busy.infer += performance.now() - ti;
          continue;
        }
        const cut = sceneOn && histogramDistance(anchorHist, histogram(f.data, info.width, info.height, nextHist)) > sceneThr;
        if (cut) cuts.push(f.index);
        busy.infer += performance.now() - ti;
        const pair = pairs++;
        let run: ((t: number, out: Uint8Array) => Promise<void>) | null = null;
        for (const step of schedule.between(anchor.index, f.index)) {
          if (step.tNum === 0 || cut) {
            counts.copied++;
            push(anchor.retain(), step.j, pair);
            continue;
          }
          if (!run) {
            while (inFlight() >= pool.size) await emitHead();
            const tp = performance.now();
            run = await pool.pair(anchor, f);
            busy.infer += performance.now() - tp;
          }
          const o = await outPool.acquire();
          counts.interpolated++;
          push(o, step.j, pair, run!(step.tNum / step.tDen, o.data));
        }
        while (pending.length && pending[0].settled) await emitHead();
        anchor.release();
        anchor = f;
        [anchorHist, nextHist] = [nextHist, anchorHist];
      }
      if (n < 2) throw new KilnError(`${info.file}: decoded ${n} frame${n === 1 ? '' : 's'}; interpolation needs at least 2`);
      // After the last anchor, up to the end of the input: repeat it.
      for (const step of schedule.between(anchor!.index, n)) {
        counts.copied++;
        push(anchor!.retain(), step.j, pairs);
      }
      anchor!.release();
      anchor = null;
      while (pending.length) await emitHead();
      outgoing.close();
    } finally {
      anchor?.release();
      for (const p of pending.splice(0)) {
        void p.done.then(() => p.frame.release());
      }
    }
  }

  async function encodeStage(): Promise<void> {
    let expected = 0;
    for (;;) {
      const o = await outgoing.pull();
      if (!o) break;
      try {
        if (o.j !== expected) throw new Error(`internal: output frame ${o.j} arrived where ${expected} was due`);
        await encoder.write(o.frame.data);
      } finally {
        o.frame.release();
      }
      expected++;
      counts.framesOut = expected;
      job.onProgress?.({ framesIn: counts.framesIn, framesOut: expected, totalOut, elapsedMs: performance.now() - t0 });
    }
    await encoder.finish();
  }

  const guard = (p: Promise<void>) => p.catch((e) => {
    fail(e);
    throw e;
  });
  const results = await Promise.allSettled([guard(decodeStage()), guard(inferStage()), guard(encodeStage())]);
  job.signal?.removeEventListener('abort', onAbort);
  const stats = await pool.stats().catch(() => ({ runMs: 0, runs: 0, approximated: 0, convertMs: 0 }));
  await pool.close();
  const failed = stop.signal.aborted ? stop.signal.reason : results.find((r) => r.status === 'rejected')?.reason;
  if (failed) {
    await encoder.abort();
    discard(temp);
    throw failed;
  }
  let finished = temp;
  if (info.rotation && keepsRotation(job.output)) {
    finished = tempBeside(job.output);
    const r = await runTool(ffmpegPath(), rotationRemuxArgs(temp, finished, info.rotation), { signal: job.signal }).catch((e) => ({ code: -1, stderr: String(e) }));
    discard(temp);
    if (r.code !== 0) {
      discard(finished);
      throw new KilnError(`${job.output}: could not write the rotation tag (${tail(r.stderr) || `exit ${r.code}`})`);
    }
  } else if (info.rotation) {
    plan.dropped.push(`rotation ${info.rotation}° (ffmpeg ${extname(job.output)} output keeps no display matrix; the frames are stored unrotated, use .mp4/.mov)`);
  }
  try {
    commit(finished, job.output);
  } catch (e) {
    discard(finished);
    throw new KilnError(`${job.output}: could not move the finished file into place: ${(e as Error).message}`, { cause: e });
  }
  busy.encode = encoder.busyMs;

  const wallMs = performance.now() - t0;
  const sum = busy.decode + busy.infer + busy.encode || 1;
  const share = { decode: busy.decode / sum, infer: busy.infer / sum, encode: busy.encode / sum };
  const bottleneck = (Object.keys(busy) as (keyof StageTimes)[]).reduce((a, b) => (busy[b] > busy[a] ? b : a));
  return {
    input: job.input,
    output: job.output,
    model: job.model,
    adapter: pool.info.adapter,
    width: info.width,
    height: info.height,
    inputRate: format(info.rate),
    outputRate: format(schedule.outRate),
    framesIn: counts.framesIn,
    framesOut: counts.framesOut,
    interpolated: counts.interpolated,
    copied: counts.copied,
    sceneCuts: cuts,
    duplicatesDropped: counts.dropped,
    approximatedTimesteps: stats.approximated,
    modelRuns: stats.runs,
    modelMs: Math.round(stats.runMs),
    tiles: pool.info.tiles,
    motionScale: pool.info.scale,
    workers: pool.size,
    threadsPerWorker: session.threads ?? null,
    wallMs: Math.round(wallMs),
    setupMs: Math.round(setupMs),
    fps: Number(((counts.framesOut * 1000) / wallMs).toFixed(2)),
    streamFps: Number(((counts.framesOut * 1000) / (wallMs - setupMs)).toFixed(2)),
    busyMs: { decode: Math.round(busy.decode), infer: Math.round(busy.infer), encode: Math.round(busy.encode) },
    share: { decode: round3(share.decode), infer: round3(share.infer), encode: round3(share.encode) },
    bottleneck,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    streamsCopied: plan.copied,
    streamsDropped: plan.dropped,
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export type { VideoInfo };
