// kiln interpolate: video frame interpolation (INPUT -o OUTPUT) and image mode (A B -o MID).
import { Command, Option } from 'commander';
import { KilnError, UsageError } from '../errors.js';
import { log, out, parsePositiveInt, printJson } from './io.js';
import type { MotionScale } from '../vfi/interpolator.js';

interface Opts {
  output?: string;
  factor?: number;
  fps?: string;
  model: string;
  adapter?: 'kiln' | 'rife' | 'pair';
  profile?: string;
  provider?: string;
  threads?: number;
  workers?: number;
  sceneThreshold?: number;
  dedup?: boolean;
  crf?: number;
  codec?: string;
  preset?: string;
  tile?: number;
  tileOverlap?: number;
  scale: MotionScale;
  t?: number;
  frames?: number;
  json?: boolean;
  progress?: boolean;
}

function parseNumber(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${name} must be a number from ${min} to ${max}, got '${v}'`);
    return n;
  };
}

export function command(): Command {
  return new Command('interpolate')
    .description('Raise a video\'s frame rate with a frame-interpolation model (2x/4x/8x or a target fps), or make the frames between two images')
    .argument('<inputs...>', 'a video, or two images A B')
    .requiredOption('-o, --output <path>', 'output file (video: .mp4/.mkv/...; images: MID.png, or out_%03d.png with --frames)')
    .addOption(new Option('--factor <n>', 'multiply the frame rate by 2, 4 or 8 (default 2)').argParser((v) => {
      const n = Number(v);
      if (![2, 4, 8].includes(n)) throw new UsageError(`--factor must be 2, 4 or 8, got '${v}'`);
      return n;
    }))
    .option('--fps <rate>', 'target frame rate instead of a factor: 60, 59.94 or 60000/1001')
    .option('--model <default|path>', 'the shipped model (default) or your own ONNX model', 'default')
    .addOption(new Option('--adapter <kind>', 'input convention of the model (default: detected from its inputs)').choices(['kiln', 'rife', 'pair']))
    .option('--profile <name>', 'deployment profile for the session (src/runtime/profiles.ts: provider, threads, session options)')
    .addOption(new Option('--provider <name>', 'execution provider').choices(['cpu', 'cuda', 'tensorrt', 'webgpu']))
    .option('--threads <n>', 'onnxruntime intra-op threads per model thread (default: the cores split between them)', parsePositiveInt('--threads'))
    .option('--workers <n>', 'video: model threads, each with its own session, interpolating successive frame pairs at once (default 2 on 2+ cores, else 1)', parsePositiveInt('--workers'))
    .option('--scene-threshold <x>', 'colour-histogram distance (0-1) that counts as a scene cut; 1 turns detection off (default 0.3)', parseNumber('--scene-threshold', 0, 1))
    .option('--dedup', 'skip duplicated frames (anime on twos, screen captures) so motion stays even')
    .option('--crf <n>', 'encoder quality (x264/x265 CRF, default 18)', parseNumber('--crf', 0, 63))
    .option('--codec <name>', 'ffmpeg video encoder (default libx264)')
    .option('--preset <name>', 'x264/x265 preset (default veryfast)')
    .option('--tile <px>', 'run the model on overlapping tiles of this size (large frames)', parsePositiveInt('--tile'))
    .option('--tile-overlap <px>', 'overlap between tiles, blended linearly (default 32)', parseNumber('--tile-overlap', 0, 4096))
    .option(
      '--scale <x>',
      "estimate motion on the frames resized by x (models with a scale input): 'auto' brings the short side nearest 480 px by a power of two (240p: 2, 720p/1080p: 0.5, 2160p: 0.25), or a number from 0.0625 to 4",
      (v: string): MotionScale => (v === 'auto' ? v : parseNumber('--scale', 0.0625, 4)(v)),
      'auto',
    )
    .option('--t <x>', 'image mode: the moment between A (0) and B (1) to make (default 0.5)', parseNumber('--t', 0, 1))
    .option('--frames <n>', 'image mode: N evenly spaced frames between A and B (-o needs a %d)', parsePositiveInt('--frames'))
    .option('--no-progress', 'no progress line on stderr (it is only shown on a terminal anyway)')
    .option('--json', 'print a JSON summary (frames in/out, wall time, fps, decode/infer/encode shares)')
    .action(async (inputs: string[], opts: Opts) => {
      if (inputs.length > 2) throw new UsageError(`give one video or two images, got ${inputs.length} inputs`);
      const { resolveModel } = await import('../vfi/models.js');
      const session = await sessionOptions(opts);
      const controller = new AbortController();
      const onSignal = (sig: string) => () => controller.abort(new KilnError(`interrupted (${sig}); no output was written`));
      const onInt = onSignal('Ctrl-C');
      const onTerm = onSignal('SIGTERM');
      process.once('SIGINT', onInt);
      process.once('SIGTERM', onTerm);
      try {
        const model = resolveModel(opts.model);
        if (inputs.length === 2) await images(inputs as [string, string], model, opts, session, controller.signal);
        else await video(inputs[0], model, opts, session, controller.signal);
      } catch (e) {
        if (controller.signal.aborted) {
          log(`kiln: ${(controller.signal.reason as Error).message}`);
          process.exitCode = 130;
          return;
        }
        throw e;
      } finally {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
      }
    });
}

async function sessionOptions(opts: Opts) {
  const s: import('../runtime/session.js').SessionOptions = {};
  if (opts.profile) {
    const { getProfile, profileUnavailable } = await import('../runtime/profiles.js');
    const p = getProfile(opts.profile);
    const why = profileUnavailable(p);
    if (why) throw new KilnError(why);
    Object.assign(s, { provider: p.provider, threads: p.threads || undefined, optLevel: p.session.optLevel, memArena: p.session.memArena, memPattern: p.session.memPattern, config: p.session.config });
    if (p.precision !== 'fp32')
      log(`kiln: profile '${p.name}' targets ${p.precision}; interpolate runs the model file as given (make an ${p.precision} model with kiln quantize/pipeline and pass it with --model)`);
  }
  if (opts.provider) s.provider = opts.provider as typeof s.provider;
  if (opts.threads) s.threads = opts.threads;
  return s;
}

async function video(input: string, model: string, opts: Opts, session: object, signal: AbortSignal) {
  if (opts.t !== undefined || opts.frames !== undefined) throw new UsageError('--t and --frames are for image mode (two input images)');
  const { interpolateVideo } = await import('../video/pipeline.js');
  const { parseRate } = await import('../video/rational.js');
  const progress = opts.progress !== false && Boolean(process.stderr.isTTY) ? progressLine() : undefined;
  const summary = await interpolateVideo({
    input,
    output: opts.output!,
    factor: opts.factor,
    fps: opts.fps !== undefined ? parseRate(opts.fps) : undefined,
    model,
    adapter: opts.adapter,
    session,
    tile: opts.tile,
    tileOverlap: opts.tileOverlap,
    scale: opts.scale,
    sceneThreshold: opts.sceneThreshold,
    dedup: opts.dedup,
    workers: opts.workers,
    encode: { codec: opts.codec, crf: opts.crf, preset: opts.preset },
    signal,
    onProgress: progress?.update,
  }).finally(() => progress?.done());
  if (opts.json) return printJson(summary);
  out(`${summary.output}: ${summary.framesIn} → ${summary.framesOut} frames, ${summary.inputRate} → ${summary.outputRate} fps (${summary.adapter} adapter)`);
  out(`${(summary.wallMs / 1000).toFixed(1)} s (setup ${(summary.setupMs / 1000).toFixed(1)} s), ${summary.fps} output fps (${summary.streamFps} once running); busy: decode ${pct(summary.share.decode)}, infer ${pct(summary.share.infer)}, encode ${pct(summary.share.encode)}; peak RSS ${summary.peakRssMB} MB`);
  if (summary.sceneCuts.length) out(`scene cuts before input frames ${summary.sceneCuts.join(', ')} (not interpolated across: the gap repeats the last frame before the cut)`);
  if (summary.duplicatesDropped) out(`${summary.duplicatesDropped} duplicate frames skipped (--dedup)`);
  if (summary.streamsCopied.length) out(`copied: ${summary.streamsCopied.join(', ')}`);
  for (const d of summary.streamsDropped) out(`not copied: ${d}`);
}

async function images(inputs: [string, string], model: string, opts: Opts, session: object, signal: AbortSignal) {
  for (const [flag, v] of [['--factor', opts.factor], ['--fps', opts.fps], ['--dedup', opts.dedup], ['--codec', opts.codec], ['--crf', opts.crf], ['--workers', opts.workers]] as const)
    if (v !== undefined) throw new UsageError(`${flag} is for video mode; with two images use --t or --frames`);
  const { interpolateImages } = await import('../vfi/images.js');
  const summary = await interpolateImages({
    a: inputs[0],
    b: inputs[1],
    output: opts.output!,
    model,
    t: opts.t,
    frames: opts.frames,
    adapter: opts.adapter,
    session,
    tile: opts.tile,
    tileOverlap: opts.tileOverlap,
    scale: opts.scale,
    signal,
  });
  if (opts.json) return printJson(summary);
  for (const o of summary.outputs) out(`${o.file}  t=${Number(o.t.toFixed(4))}`);
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** A single self-overwriting line on a terminal: frames, fps, ETA. */
function progressLine() {
  let last = 0;
  let shown = false;
  return {
    update(p: { framesOut: number; totalOut: number; elapsedMs: number }) {
      const now = performance.now();
      if (now - last < 250 && p.framesOut < p.totalOut) return;
      last = now;
      const fps = p.framesOut / (p.elapsedMs / 1000);
      const eta = fps > 0 ? (p.totalOut - p.framesOut) / fps : 0;
      process.stderr.write(`\r\x1b[2Kframes ${p.framesOut}/${p.totalOut}  ${fps.toFixed(1)} fps  ETA ${Math.ceil(eta)} s`);
      shown = true;
    },
    done() {
      if (shown) process.stderr.write('\n');
    },
  };
}
