// The transforms `kiln pipeline` applies, as a registry. Each stage is a function
// (modelBytes, ctx) => { model, note, session? }: a model rewrite returns new bytes, the tuned
// session returns the same bytes with session settings. A stage whose code is not there says
// so (`load` returns the reason) and its row in the report reads "not run: <reason>"; nothing
// is ever simulated.
//
// The rewrites come from the modules that own them, imported lazily (so a broken or missing
// module costs one row, not the whole pipeline):
//   src/passes/index.ts   optimizeModel(bytes, { inputShapes }) → { model: Uint8Array, note }
//   src/quantize/index.ts quantizeModel(model: Model, { mode, calib }) → { model: Model, report }
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KilnError, UsageError } from '../errors.js';
import type { DeploymentProfile } from '../runtime/profiles.js';
import type { SessionOptions } from '../runtime/session.js';

export interface StageContext {
  profile: DeploymentProfile;
  calibDir?: string;
  /** Pixel preprocessing of calibration images: a src/quantize PRESETS name (unit, imagenet, raw255). */
  calibPreset?: string;
  /** The input shapes the pipeline measures with; rewrites may specialise the model to them. */
  inputShapes?: Record<string, number[]>;
  /** Names the model in errors. */
  label?: string;
  /** Use only the first N calibration samples (the pipeline holds the rest out for quality). */
  calibCount?: number;
  /** Progress of long stages (calibration of a large model takes minutes). */
  onProgress?: (message: string) => void;
  /** Session settings of the pipeline's rows (provider, base settings), for trial runs. */
  session?: SessionOptions;
}

export interface StageOutput {
  model: Uint8Array;
  note: string;
  /** Session settings this stage adds (the tuned session); merged over the defaults. */
  session?: SessionOptions;
  preallocateOutputs?: boolean;
}

export type StageFn = (model: Uint8Array, ctx: StageContext) => Promise<StageOutput>;

export interface Stage {
  id: 'optimize' | 'quantize' | 'tune';
  title: string;
  /** The stage function, or why it cannot run here. */
  load(ctx: StageContext): Promise<StageFn | string>;
}

type Rewrite = (model: unknown, opts?: object) => unknown;

/** Imports `name` from a module of this repository; a string says why it is not there. */
async function importExport(relative: string, name: string): Promise<Rewrite | string> {
  const url = new URL(relative, import.meta.url);
  const source = fileURLToPath(url).replace(/\.js$/, '.ts');
  const shown = `src/${relative.replace('../', '').replace(/\.js$/, '.ts')}`;
  if (!existsSync(source)) return `${shown} does not exist yet`;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url.href)) as Record<string, unknown>;
  } catch (e) {
    return `${shown} failed to load: ${(e as Error).message}`;
  }
  const f = mod[name];
  if (typeof f !== 'function') return `${shown} does not export ${name}() yet`;
  return f as Rewrite;
}

interface RewriteResult {
  model: Uint8Array;
  note?: string;
  report?: Record<string, unknown>;
}

async function asOutput(result: unknown, what: string): Promise<RewriteResult> {
  const r = await result;
  if (r instanceof Uint8Array) return { model: r };
  if (r && typeof r === 'object' && 'model' in r) {
    const o = r as { model: unknown; note?: string; report?: Record<string, unknown> };
    if (o.model instanceof Uint8Array) return { model: o.model, note: o.note, report: o.report };
    // An IR Model: serialize it with the project's writer.
    const { encodeModel } = await import('../onnx/write.js');
    return { model: encodeModel(o.model as Parameters<typeof encodeModel>[0]), note: o.note, report: o.report };
  }
  throw new KilnError(`${what} returned neither model bytes nor { model }`);
}

/**
 * `--calib DIR`: a folder of images, scaled to the H×W the pipeline measures with and
 * normalised by `--calib-preset` (default unit: pixels in [0, 1]), or else a tensor file/folder.
 */
export async function calibSource(dir: string, ctx: StageContext): Promise<{ source: unknown; text: string }> {
  const { listImages, PRESETS } = await import('../quantize/calibrate.js');
  const presetName = ctx.calibPreset ?? 'unit';
  const preset = PRESETS[presetName];
  if (!preset) throw new UsageError(`--calib-preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${presetName}'`);
  let images: string[] = [];
  try {
    images = listImages(dir);
  } catch {
    images = [];
  }
  if (images.length > 0) {
    const image = Object.values(ctx.inputShapes ?? {}).find((s) => s.length === 4);
    const [w, h] = image ? [image[3], image[2]] : [ctx.profile.input.width, ctx.profile.input.height];
    const held = ctx.calibCount !== undefined ? ` (the first ${ctx.calibCount} samples; the rest held out for quality)` : '';
    return {
      source: { kind: 'images', dir, preprocess: { size: [w, h], mean: preset.mean, std: preset.std }, ...(ctx.calibCount !== undefined ? { count: ctx.calibCount } : {}) },
      text: `${images.length} images from ${dir} at ${w}×${h}, ${presetName} preprocessing${held}`,
    };
  }
  return { source: { kind: 'tensors', path: dir }, text: `tensors from ${dir}` };
}

const TRIAL_ROUNDS = 8;

async function hasDynamicDims(bytes: Uint8Array): Promise<boolean> {
  const { decodeModel } = await import('../onnx/read.js');
  const m = decodeModel(bytes, { verify: false });
  const inits = new Set(m.graph.initializers);
  return m.graph.inputs.some((v) => !inits.has(v) && (v.tensorType?.shape ?? []).some((d) => typeof d !== 'number' || d < 0));
}

/** Median over paired rounds of time(a) ÷ time(b), at the pipeline's input shapes. */
async function pairedRatio(a: Uint8Array, b: Uint8Array, ctx: StageContext): Promise<number> {
  const { measure, OrtRunner } = await import('./harness.js');
  const shapes = { shapes: ctx.inputShapes as Record<string, number[]> };
  const runners = [new OrtRunner({ label: 'specialised', model: a, session: ctx.session, shapes }), new OrtRunner({ label: 'dynamic', model: b, session: ctx.session, shapes })];
  const [ra, rb] = await measure(runners, { warmup: 1, iterations: TRIAL_ROUNDS });
  const ratios = ra.samplesMs.map((x, i) => x / rb.samplesMs[i]).sort((x, y) => x - y);
  return ratios[ratios.length >> 1];
}

export const STAGES: readonly Stage[] = [
  {
    id: 'optimize',
    title: '+ kiln graph optimization',
    async load() {
      const f = await importExport('../passes/index.js', 'optimizeModel');
      if (typeof f === 'string') return f;
      return async (model, ctx) => {
        const r = await asOutput(f(model, ctx.inputShapes ? { inputShapes: ctx.inputShapes } : {}), 'optimizeModel');
        const note = r.note ?? 'kiln passes (src/passes)';
        if (!ctx.inputShapes || !(await hasDynamicDims(model))) return { model: r.model, note };
        // Specialising dynamic dims to the measured size lets shape subgraphs fold, but it can
        // also make onnxruntime slower (kiln-vfi, 640×480: 1.17× its dynamic time at level all,
        // December 2026, where static shapes let the NCHWc layout rewrite reach more of the
        // graph). Both forms are verified; a few paired runs decide.
        const dyn = await asOutput(f(model, { verifyShapes: ctx.inputShapes }), 'optimizeModel');
        const ratio = await pairedRatio(r.model, dyn.model, ctx);
        const how = `${TRIAL_ROUNDS} paired runs at the measured size`;
        return ratio <= 1
          ? { model: r.model, note: `${note}; specialised to the input shapes (${(1 / ratio).toFixed(2)}× the speed of keeping dims dynamic, ${how})` }
          : { model: dyn.model, note: `${dyn.note ?? note}; input dims kept dynamic (specialised to the input shapes it ran ${ratio.toFixed(2)}× slower, ${how})` };
      };
    },
  },
  {
    id: 'quantize',
    title: '+ INT8 / FP16',
    async load(ctx) {
      const precision = ctx.profile.precision;
      if (precision === 'fp32') return `profile ${ctx.profile.name} keeps FP32`;
      if (precision === 'int8' && !ctx.calibDir) return `INT8 needs calibration data: give --calib DIR`;
      const f = await importExport('../quantize/index.js', 'quantizeModel');
      if (typeof f === 'string') return f;
      return async (bytes, c) => {
        const { decodeModel } = await import('../onnx/read.js');
        const model = decodeModel(bytes, { file: c.label ?? 'model' });
        const calib = c.calibDir ? await calibSource(c.calibDir, c) : null;
        // speedRuns 0: the pipeline measures speed itself, interleaved with the other stages.
        // keepIoTypes: the result must stay a drop-in replacement (same float32 inputs/outputs).
        const r = await asOutput(f(model, { mode: precision, keepIoTypes: true, ...(calib ? { calib: calib.source } : {}), speedRuns: 0, onProgress: c.onProgress && ((m: string) => c.onProgress!(`quantize: ${m}`)) }), 'quantizeModel');
        const quantized = (r.report?.quantizedNodes as unknown[] | undefined)?.length;
        const kept = (r.report?.keptFloat as unknown[] | undefined)?.length;
        const casts = (r.report?.fp16 as { casts?: number } | undefined)?.casts;
        const detail = [
          precision === 'int8' && quantized !== undefined ? `${quantized} nodes quantized` : '',
          precision === 'fp16' && casts !== undefined ? `${casts} casts` : '',
          kept ? `${kept} kept float` : '',
          calib ? `calibration: ${calib.text}` : '',
        ].filter(Boolean).join(', ');
        return { model: r.model, note: r.note ?? `${precision.toUpperCase()} by src/quantize${detail ? ` (${detail})` : ''}` };
      };
    },
  },
  {
    id: 'tune',
    title: '+ tuned session (threads, arena, I/O binding)',
    async load(ctx) {
      const p = ctx.profile;
      return async (model) => {
        const session: SessionOptions = { optLevel: p.session.optLevel, memArena: p.session.memArena, memPattern: p.session.memPattern };
        if (p.threads > 0) session.threads = p.threads;
        if (Object.keys(p.session.config).length > 0) session.config = { ...p.session.config };
        const cfg = Object.entries(p.session.config).map(([k, v]) => `${k}=${v}`).join(' ');
        return {
          model,
          session,
          preallocateOutputs: true,
          note: `threads ${p.threads || 'default'}, arena ${p.session.memArena ? 'on' : 'off'}, mem pattern ${p.session.memPattern ? 'on' : 'off'}${cfg ? `, ${cfg}` : ''}, outputs preallocated once (onnxruntime-node's I/O binding on CPU)`,
        };
      };
    },
  },
];
