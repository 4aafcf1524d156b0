// `kiln pipeline`: the prototype → production table. Every stage that can run here is measured
// in one interleaved harness run (so the speed-ups hold on a noisy machine), then each stage's
// outputs on held-out inputs are compared with the original's. Stages whose code or runtime is
// missing appear as rows that say why they did not run.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { KilnError, UsageError } from '../errors.js';
import { profileUnavailable, type DeploymentProfile } from '../runtime/profiles.js';
import { createSession, type Provider, type SessionOptions } from '../runtime/session.js';
import { REPORT_SCHEMA, type Cell, type Report } from '../report/types.js';
import { environment } from './env.js';
import { measure, OrtRunner, sharedCpuNote, type MeasureOptions, type Runner } from './harness.js';
import { randomFeeds, resolveInputs, toNumbers, type InputSpec, type ShapeOptions } from './inputs.js';
import { parseTorchDef, torchUnavailable, TorchRunner, type TorchDef } from './peers/torch.js';
import { pairedRatio, summarize } from './stats.js';
import { calibSource, STAGES, type StageContext } from './stages.js';

export interface PipelineOptions extends MeasureOptions {
  model: string;
  profile: DeploymentProfile;
  calibDir?: string;
  /** Preprocessing of calibration images (src/quantize PRESETS: unit, imagenet, raw255). */
  calibPreset?: string;
  /** `path/to/model.py[:factory]`: enables the PyTorch eager (original) and TorchScript rows. */
  torch?: string;
  shapes?: Record<string, number[]>;
  /** Overrides the profile's batch. */
  batch?: number;
  /** Held-out input sets for quality (default 3). */
  holdout?: number;
  /** Calibrate on at most this many samples of the folder (default: all but the held-out ones). */
  calibCount?: number;
  /** Rows not to run (by id: torchscript, optimize, quantize, tune), each with the reason the table gives. */
  skip?: Record<string, string>;
  /**
   * Settings under every onnxruntime row, "defaults" included (a stage's own settings go over
   * them), e.g. `{ memArena: false }` for a model whose sessions do not fit with the arena. The
   * report names them.
   */
  baseSession?: Omit<SessionOptions, 'provider'>;
  seed?: number;
}

/** Seeds of held-out inputs start here, away from anything a calibration set would use. */
export const HOLDOUT_SEED = 7919;

export interface Quality {
  maxAbs: number;
  meanAbs: number;
  /** 10·log10(Σ ref² / Σ (out − ref)²) in dB; null when the outputs are identical. */
  snrDb: number | null;
}

export function compareOutputs(out: Float64Array[], ref: Float64Array[]): Quality {
  if (out.length !== ref.length) throw new KilnError(`stage produced ${out.length} outputs, the original ${ref.length}`);
  let maxAbs = 0;
  let sumAbs = 0;
  let n = 0;
  let sig = 0;
  let err = 0;
  for (let k = 0; k < out.length; k++) {
    if (out[k].length !== ref[k].length) throw new KilnError(`output ${k} has ${out[k].length} values, the original's ${ref[k].length}`);
    for (let i = 0; i < out[k].length; i++) {
      const d = Math.abs(out[k][i] - ref[k][i]);
      const dd = Number.isNaN(d) ? Infinity : d; // a NaN where the original has a number is the worst error
      maxAbs = Math.max(maxAbs, dd);
      sumAbs += dd;
      sig += ref[k][i] ** 2;
      err += dd ** 2;
      n++;
    }
  }
  return { maxAbs, meanAbs: n > 0 ? sumAbs / n : 0, snrDb: err === 0 ? null : 10 * Math.log10(sig / err) };
}

interface Row {
  id: string;
  title: string;
  runtime: string;
  note: string;
  /** Why it did not run; null when it did. */
  skipped: string | null;
  model?: Uint8Array;
  session?: SessionOptions;
  preallocate?: boolean;
  torch?: { def: TorchDef; mode: 'eager' | 'torchscript' };
  runner?: Runner;
  sizeBytes?: number;
}

export async function pipeline(o: PipelineOptions): Promise<Report> {
  const p = o.profile;
  const why = profileUnavailable(p);
  if (why) throw new KilnError(why);
  const env = environment();
  const provider = p.provider as Provider;
  const original = new Uint8Array(await readFile(o.model).catch((e: Error) => {
    throw new KilnError(`cannot read ${o.model}: ${e.message}`, { cause: e });
  }));
  const label = path.basename(o.model);
  const seed = o.seed ?? HOLDOUT_SEED;
  const holdout = o.holdout ?? 3;
  const notes: string[] = [];

  // Input shapes: the profile's image size and batch fill the model's dynamic dims.
  const probe = await createSession(original, { provider, optLevel: 'disabled' }, label);
  const first = probe.inputMetadata[0];
  const d0 = first?.isTensor ? first.shape[0] : undefined;
  await probe.release();
  const dynamicBatch = typeof d0 !== 'number' || d0 < 0;
  const batch = o.batch ?? (dynamicBatch ? p.batch : undefined);
  if (o.batch === undefined && !dynamicBatch && d0 !== p.batch) notes.push(`${label} fixes batch ${d0}; the profile's batch ${p.batch} was not applied`);
  const shapes: ShapeOptions = { shapes: o.shapes, batch, image: p.input };

  const rows: Row[] = [];
  let def: TorchDef | null = null;
  if (o.torch) {
    def = parseTorchDef(o.torch);
    const noTorch = torchUnavailable();
    rows.push({ id: 'original', title: 'original (PyTorch eager FP32)', runtime: 'PyTorch', note: `${path.relative(process.cwd(), def.file)}:${def.factory}`, skipped: noTorch, torch: { def, mode: 'eager' } });
    const skipTs = o.skip?.torchscript;
    rows.push({ id: 'torchscript', title: 'peer: TorchScript (trace + freeze)', runtime: 'PyTorch', note: 'torch.jit.trace → torch.jit.freeze', skipped: skipTs !== undefined ? `skipped: ${skipTs}` : noTorch, torch: { def, mode: 'torchscript' } });
  } else {
    rows.push({ id: 'original', title: 'original (PyTorch eager FP32)', runtime: 'PyTorch', note: '', skipped: 'no PyTorch definition given (--torch path/to/model.py[:factory])' });
  }
  rows.push({ id: 'ort-defaults', title: 'onnxruntime defaults', runtime: 'onnxruntime-node', note: `${provider}, onnxruntime's default session options`, skipped: null, model: original, session: { ...o.baseSession, provider } });

  // Specs and feeds of the original model: the PyTorch peers see exactly these values. They run
  // with PyTorch's default threads, as the prototype would.
  const probe2 = await createSession(original, { provider, optLevel: 'disabled' }, label);
  const specs: InputSpec[] = resolveInputs(probe2.inputMetadata, shapes, label, original);
  await probe2.release();
  const ctx: StageContext = { profile: p, calibDir: o.calibDir, calibPreset: o.calibPreset, inputShapes: Object.fromEntries(specs.map((s) => [s.name, s.shape])), label, onProgress: o.onProgress, session: { ...o.baseSession, provider } };
  // Quality inputs: with an image calibration folder, its last `holdout` samples (real images,
  // kept out of calibration); otherwise seeded random inputs.
  let feedSets = Array.from({ length: Math.max(1, holdout) }, (_, k) => randomFeeds(specs, seed + k));
  let qualityFrom = `${feedSets.length} held-out seeded random input sets (seeds ${seed}…${seed + feedSets.length - 1}, never used for calibration)`;
  if (o.calibDir) {
    const src = await calibSource(o.calibDir, ctx);
    if ((src.source as { kind: string }).kind === 'images') {
      const { loadSamples } = await import('../quantize/calibrate.js');
      const { decodeModel } = await import('../onnx/read.js');
      const all = (await loadSamples(decodeModel(original, { file: label }), src.source as never)).samples;
      const fits = (f: Awaited<ReturnType<typeof loadSamples>>['samples'][number]): boolean => specs.every((sp) => f[sp.name] && f[sp.name].dims.join() === sp.shape.join());
      if (all.length > holdout && all.slice(-holdout).every(fits)) {
        feedSets = all.slice(-Math.max(1, holdout));
        ctx.calibCount = Math.min(all.length - feedSets.length, o.calibCount ?? Infinity);
        qualityFrom = `the last ${feedSets.length} samples of ${o.calibDir} (real images, held out of calibration)`;
      } else notes.push(`quality is measured on random inputs: the calibration images give ${all[0] ? Object.values(all[0]).map((t) => t.dims.join('×')).join(', ') : 'no'} samples, the stage table feeds ${specs.map((sp) => sp.shape.join('×')).join(', ')}${all.length <= holdout ? ` (or too few: ${all.length})` : ''}`);
    }
  }
  const loaded = new Map<string, Awaited<ReturnType<(typeof STAGES)[number]['load']>>>();
  for (const stage of STAGES) {
    const skipped = o.skip?.[stage.id];
    const fn = skipped !== undefined ? `skipped: ${skipped}` : await stage.load(ctx);
    loaded.set(stage.id, fn);
    if (typeof fn === 'string') {
      rows.push({ id: stage.id, title: stage.title, runtime: 'onnxruntime-node', note: '', skipped: fn });
      continue;
    }
    try {
      o.onProgress?.(`stage ${stage.id}`);
      const r = await fn(original, ctx);
      rows.push({ id: stage.id, title: stage.title, runtime: 'onnxruntime-node', note: r.note, skipped: null, model: r.model, session: { ...o.baseSession, provider, ...r.session }, preallocate: r.preallocateOutputs });
    } catch (e) {
      if (e instanceof UsageError) throw e; // bad options are the user's to fix, not a stage result
      rows.push({ id: stage.id, title: stage.title, runtime: 'onnxruntime-node', note: '', skipped: `failed: ${(e as Error).message}` });
    }
  }
  // Combined: every stage that ran on its own, in registry order, each applied to the previous
  // result. A stage that failed on its own, or fails on the previous stages' output, is left out
  // and named, so one broken rewrite does not hide what the others achieve together.
  {
    let model: Uint8Array = original;
    let session: SessionOptions = { ...o.baseSession, provider };
    let preallocate = false;
    const used: string[] = [];
    const missing: string[] = [];
    for (const stage of STAGES) {
      const fn = loaded.get(stage.id);
      const own = rows.find((r) => r.id === stage.id);
      if (typeof fn !== 'function' || own?.skipped) {
        missing.push(`${stage.id}: ${typeof fn === 'function' ? own?.skipped : fn}`);
        continue;
      }
      try {
        const r = await fn(model, ctx);
        model = r.model;
        session = { ...session, ...r.session };
        preallocate ||= r.preallocateOutputs ?? false;
        used.push(stage.id);
      } catch (e) {
        // Even a UsageError here is a combination problem (the options passed the stage's own run).
        missing.push(`${stage.id}: failed on the output of ${used.join(' → ') || 'the original'}: ${(e as Error).message}`);
      }
    }
    const note = `${used.join(' → ') || 'nothing'}${missing.length ? ` (without ${missing.join('; ')})` : ''}`;
    rows.push({ id: 'combined', title: `combined (profile ${p.name})`, runtime: 'onnxruntime-node', note, skipped: used.length === 0 ? `no stage available (${missing.join('; ')})` : null, model, session, preallocate });
  }

  for (const r of rows) {
    if (r.skipped) continue;
    if (r.torch) r.runner = new TorchRunner({ label: r.id, def: r.torch.def, mode: r.torch.mode, specs, feeds: feedSets });
    else if (r.model) {
      r.sizeBytes = r.model.byteLength;
      r.runner = new OrtRunner({ label: r.id, model: r.model, session: r.session, shapes, seed, preallocateOutputs: r.preallocate });
    }
  }
  const active = rows.filter((r) => r.runner);
  const ms = await measure(active.map((r) => r.runner as Runner), o);
  const shared = sharedCpuNote(ms);
  // PyTorch keeps its own default thread count (Debian's build: 1 here), which need not match
  // onnxruntime's (all physical cores): the rows say what each ran with.
  for (const r of active) {
    const th = r.torch ? (r.runner as TorchRunner).threads : null;
    if (th !== null) r.note = `${r.note}; ${th} thread${th === 1 ? '' : 's'} (PyTorch's default)`;
  }
  const byId = new Map(active.map((r, i) => [r.id, ms[i]]));

  // Quality on the held-out sets, against PyTorch eager when it ran, else onnxruntime defaults.
  o.onProgress?.('comparing outputs on held-out inputs');
  const outputs = new Map<string, Float64Array[][]>();
  for (const r of active) {
    const sets: Float64Array[][] = [];
    if (r.torch) {
      const runner = r.runner as TorchRunner;
      await runner.open();
      try {
        for (let k = 0; k < feedSets.length; k++) sets.push((await runner.outputs(k)).map((x) => Float64Array.from(x.data)));
      } finally {
        await runner.close();
      }
    } else {
      const s = await createSession(r.model as Uint8Array, r.session ?? {}, r.id);
      try {
        const stageSpecs = resolveInputs(s.inputMetadata, shapes, r.id, r.model as Uint8Array);
        // The same values every stage and the PyTorch peers see (a stage whose inputs differ in
        // name, shape or type gets its own seeded random set, which matches only for random sets).
        const same = stageSpecs.every((sp) => feedSets[0][sp.name]?.dims.join() === sp.shape.join() && feedSets[0][sp.name]?.type === sp.type);
        for (let k = 0; k < feedSets.length; k++) {
          const feeds = same ? Object.fromEntries(stageSpecs.map((sp) => [sp.name, feedSets[k][sp.name]])) : randomFeeds(stageSpecs, seed + k);
          const out = await s.run(feeds);
          sets.push(s.outputNames.map((n) => toNumbers(out[n])));
        }
      } finally {
        await s.release();
      }
    }
    outputs.set(r.id, sets);
  }
  const refId = outputs.has('original') ? 'original' : 'ort-defaults';
  const ref = outputs.get(refId);
  const speedRef = byId.get(refId);

  const table = {
    columns: [
      { key: 'stage', title: 'stage' },
      { key: 'fps', title: 'FPS', unit: 'items/s' },
      { key: 'median', title: 'median', unit: 'ms' },
      { key: 'p90', title: 'p90', unit: 'ms' },
      { key: 'speedup', title: `speed-up vs ${refId === 'original' ? 'original' : 'ort defaults'}`, unit: '×', digits: 3 },
      { key: 'maxAbs', title: 'max |err|' },
      { key: 'meanAbs', title: 'mean |err|' },
      { key: 'snrDb', title: 'SNR', unit: 'dB', digits: 3 },
      { key: 'sizeMiB', title: 'model size', unit: 'MiB', digits: 3 },
      { key: 'note', title: 'what' },
    ],
    rows: rows.map((r): Record<string, Cell> => {
      const m = byId.get(r.id);
      if (!m) return { stage: r.title, fps: null, median: null, p90: null, speedup: null, maxAbs: null, meanAbs: null, snrDb: null, sizeMiB: null, note: `not run: ${r.skipped}` };
      const st = summarize(m.samplesMs);
      const q = ref && r.id !== refId ? compareOutputs(outputs.get(r.id)?.flat() ?? [], ref.flat()) : null;
      return {
        stage: r.title,
        fps: (1000 / st.mean) * m.items,
        median: st.median,
        p90: st.p90,
        speedup: speedRef ? (o.oneAtATime ? summarize(speedRef.samplesMs).median / st.median : pairedRatio(speedRef.samplesMs, m.samplesMs)) : null,
        maxAbs: q ? q.maxAbs : null,
        meanAbs: q ? q.meanAbs : null,
        snrDb: q ? q.snrDb : null,
        sizeMiB: r.sizeBytes !== undefined ? r.sizeBytes / 2 ** 20 : null,
        note: r.note,
      };
    }),
  };
  for (const r of rows) if (r.skipped) notes.push(`${r.title}: not run: ${r.skipped}`);
  const base = Object.entries(o.baseSession ?? {});
  if (base.length) notes.push(`Every onnxruntime row ("defaults" included) ran with ${base.map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ')} (the tuned row's own settings over them).`);
  notes.push(
    o.oneAtATime
      ? 'Stages were measured one at a time (their sessions do not fit in memory together): speed-up is reference median ÷ stage median, from different minutes, so machine drift is not cancelled; FPS = batch × 1000 ÷ mean latency.'
      : 'Speed-up is the median over interleaved rounds of (reference time ÷ stage time); FPS = batch × 1000 ÷ mean latency.',
  );
  if (shared) notes.push(shared);
  notes.push(`Quality: outputs on ${qualityFrom} compared with ${refId === 'original' ? 'PyTorch eager' : 'onnxruntime defaults (no PyTorch definition given)'}; SNR "—" on a measured row means identical outputs.`);

  const measured = rows.filter((r) => byId.has(r.id));
  return {
    schema: REPORT_SCHEMA,
    kind: 'pipeline',
    title: `kiln pipeline: ${label} → ${p.name}`,
    env,
    settings: {
      profile: p.name,
      provider,
      precision: p.precision,
      threads: p.threads || 'default',
      inputs: specs.map((s) => `${s.name}=${s.shape.join('x')}`).join(' '),
      warmup: o.warmup,
      iterations: o.iterations ?? null,
      durationS: o.durationS ?? null,
      calib: o.calibDir ?? null,
      calibCount: o.calibCount ?? null,
      oneAtATime: o.oneAtATime ?? false,
      torch: o.torch ?? null,
    },
    sections: [
      {
        id: 'stages',
        title: 'Stages',
        table,
        chart: { kind: 'bars', title: 'FPS per stage', xLabel: 'stage', yLabel: 'items/s', labels: measured.map((r) => r.id), series: [{ label: 'FPS', values: measured.map((r) => table.rows[rows.indexOf(r)].fps as number) }] },
      },
    ],
    notes,
    raw: {
      stages: rows.map((r) => {
        const m = byId.get(r.id);
        return { id: r.id, title: r.title, runtime: r.runtime, note: r.note, skipped: r.skipped, createMs: m?.createMs ?? null, firstRunMs: m?.firstRunMs ?? null, samplesMs: m?.samplesMs ?? null };
      }),
    },
  };
}
