// The project's frame-interpolation model at 640×480, 1280×720 and 1920×1080 (batch 1), the
// three sizes the issue asks RESULTS.md to record, and, for a model with a `scale` input, the
// same sizes with motion estimated at half resolution (`kiln interpolate --scale 0.5`). The
// model is $KILN_VFI_MODEL or the first models/*.onnx; without one the script is skipped.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { benchReport, type BenchRow } from '../src/bench/bench.js';
import { environment } from '../src/bench/env.js';
import { measure, sharedCpuNote, OrtRunner } from '../src/bench/harness.js';
import { summarize } from '../src/bench/stats.js';
import type { Report } from '../src/report/types.js';
import { DEFAULT_MULTIPLE, MULTIPLE_KEYS } from '../src/vfi/adapter.js';
import { scaledMultiple } from '../src/vfi/interpolator.js';
import { readMetadataProps } from '../src/onnx/metadata.js';
import { BenchSkipped, hasScaleInput, REPO, type BenchContext } from './lib.js';

export const RESOLUTIONS = [
  { width: 640, height: 480 },
  { width: 1280, height: 720 },
  { width: 1920, height: 1080 },
];

function findModel(): string {
  const env = process.env.KILN_VFI_MODEL;
  if (env) {
    if (!existsSync(env)) throw new BenchSkipped(`KILN_VFI_MODEL=${env} does not exist`);
    return env;
  }
  const dir = path.join(REPO, 'models');
  const found = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort() : [];
  if (found.length === 0) throw new BenchSkipped('no VFI model: models/*.onnx is empty and KILN_VFI_MODEL is not set');
  return path.join(dir, found[0]);
}

export async function run(ctx: BenchContext): Promise<Report> {
  const model = findModel();
  const env = environment();
  const iterations = ctx.quick ? 3 : 15;
  const warmup = ctx.quick ? 1 : 3;
  ctx.log(`${path.relative(REPO, model)} at ${RESOLUTIONS.map((r) => `${r.width}x${r.height}`).join(', ')}, ${iterations} interleaved rounds`);
  // The model runs on frames padded to its stride, as `kiln interpolate` pads them (1080 → 1088).
  const props = readMetadataProps(model);
  const multiple = Number(MULTIPLE_KEYS.map((k) => props[k]).find((v) => v !== undefined) ?? DEFAULT_MULTIPLE) || DEFAULT_MULTIPLE;
  const scales = (await hasScaleInput(model)) ? [1, 0.5] : [1];
  // Interleaved like any other comparison: the ratio column is time relative to 640×480.
  const runners = scales.flatMap((scale) => RESOLUTIONS.map((r) => {
    const m = scaledMultiple(multiple, scale);
    const pad = (n: number): number => Math.ceil(n / m) * m;
    const padded = { width: pad(r.width), height: pad(r.height) };
    const label = `${r.width}x${r.height}${scale !== 1 ? `, motion at scale ${scale}` : ''}${padded.width !== r.width || padded.height !== r.height ? ` (run at ${padded.width}x${padded.height})` : ''}`;
    return new OrtRunner({ label, model, shapes: { batch: 1, image: padded }, ...(scales.length > 1 ? { values: { scale } } : {}) });
  }));
  const ms = await measure(runners, { warmup, iterations });
  const rows: BenchRow[] = ms.map((m) => {
    const stats = summarize(m.samplesMs);
    return {
      label: m.label, model, threads: 0, batch: 1, inputs: m.inputs, createMs: m.createMs, firstRunMs: m.firstRunMs, stats,
      inferencesPerS: 1000 / stats.mean, itemsPerS: 1000 / stats.mean, ratio: stats.median / summarize(ms[0].samplesMs).median, memory: null, samplesMs: m.samplesMs,
      inputBytes: Object.values(runners[ms.indexOf(m)].feeds).reduce((a, t) => a + (t.data as ArrayBufferView).byteLength, 0),
    };
  });
  const report = benchReport(rows, env, { model: path.relative(REPO, model), provider: 'cpu', threads: 'default', batch: 1, warmup, iterations }, [
    'One interpolated frame per inference (batch 1): inferences/s is the interpolation FPS. Ratio = median time ÷ the 640×480 median (motion at full resolution).',
    `Frames are padded to a multiple of ${multiple} (the model's kiln.size_multiple, default ${DEFAULT_MULTIPLE}), or of ${multiple} / scale with a motion scale, as kiln interpolate does.`,
    ...[sharedCpuNote(ms)].filter((n): n is string => n !== null),
    ...(scales.length > 1 ? ['Motion at scale 0.5 (`kiln interpolate --scale 0.5`): the model estimates motion on the frames resized by 0.5 and runs only its two final warps at full size.'] : []),
  ]);
  return { ...report, title: `VFI model ${path.basename(model)} at three resolutions` };
}
