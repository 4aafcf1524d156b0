// The transforms `kiln pipeline` applies, as a registry. Each stage is a function
// (modelBytes, ctx) => { model, note, session? }: a model rewrite returns new bytes, the tuned
// session returns the same bytes with session settings. A stage whose code is not there says
// so (`available` returns the reason) and its row in the report reads "not run: <reason>";
// nothing is ever simulated.
//
// Contract with the modules that provide the rewrites (wired by dynamic import, so this file
// builds and runs before they exist):
//   src/passes/index.ts   export function optimizeModel(bytes: Uint8Array, opts?: object): R
//   src/quantize/index.ts export function quantizeModel(bytes: Uint8Array, opts: { precision: 'int8' | 'fp16'; calibDir?: string }): R
// where R is Uint8Array | { model: Uint8Array; note?: string } or a Promise of either.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KilnError } from '../errors.js';
import type { DeploymentProfile } from '../runtime/profiles.js';
import type { SessionOptions } from '../runtime/session.js';

export interface StageContext {
  profile: DeploymentProfile;
  calibDir?: string;
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

type Rewrite = (bytes: Uint8Array, opts?: object) => unknown;

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

async function asOutput(result: unknown, what: string): Promise<{ model: Uint8Array; note?: string }> {
  const r = await result;
  if (r instanceof Uint8Array) return { model: r };
  if (r && typeof r === 'object' && (r as { model?: unknown }).model instanceof Uint8Array) return r as { model: Uint8Array; note?: string };
  throw new KilnError(`${what} returned neither model bytes nor { model }`);
}

export const STAGES: readonly Stage[] = [
  {
    id: 'optimize',
    title: '+ kiln graph optimization',
    async load() {
      const f = await importExport('../passes/index.js', 'optimizeModel');
      if (typeof f === 'string') return f;
      return async (model) => {
        const r = await asOutput(f(model), 'optimizeModel');
        return { model: r.model, note: r.note ?? 'kiln passes (src/passes)' };
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
      return async (model, c) => {
        const r = await asOutput(f(model, { precision, calibDir: c.calibDir }), 'quantizeModel');
        return { model: r.model, note: r.note ?? `${precision.toUpperCase()} (src/quantize)` };
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
