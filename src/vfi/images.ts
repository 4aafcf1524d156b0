// Image mode: the frame at t between two pictures (`-o MID.png --t 0.5`), or N evenly spaced
// frames (`--frames N -o out_%03d.png`, files numbered 1..N at t = k/(N+1)). Pictures are read
// and written through ffmpeg (any format it knows); every output is written to a temporary file
// and all are renamed only after the last one succeeded.
import { KilnError, UsageError } from '../errors.js';
import { checkOutput, commit, discard, tempBeside } from '../video/atomic.js';
import { decodeFrames } from '../video/decode.js';
import { ffmpegPath, runTool, tail } from '../video/ffmpeg.js';
import { FramePool } from '../video/frames.js';
import { probe } from '../video/probe.js';
import type { InterpolatorOptions } from './interpolator.js';
import { LocalSlots } from './slots.js';

export interface ImageJob extends InterpolatorOptions {
  a: string;
  b: string;
  output: string;
  model: string;
  /** One frame at t (default 0.5). */
  t?: number;
  /** N evenly spaced frames; `output` then holds one printf-style %d (e.g. out_%03d.png). */
  frames?: number;
  signal?: AbortSignal;
}

export interface ImageSummary {
  inputs: [string, string];
  width: number;
  height: number;
  model: string;
  adapter: string;
  /** Motion scale the model ran at. */
  motionScale: number;
  outputs: { file: string; t: number }[];
  approximatedTimesteps: number;
  wallMs: number;
  modelMs: number;
}

const PATTERN = /%(0?\d*)d/g;

/** out_%03d.png, 7 → out_007.png */
export function expandPattern(pattern: string, k: number): string {
  return pattern.replace(PATTERN, (_, width: string) => String(k).padStart(Number(width || 0), '0'));
}

export async function readPicture(file: string, signal?: AbortSignal): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const info = await probe(file, { signal, checkVfr: false });
  const pool = new FramePool(info.width * info.height * 3, 2);
  for await (const f of decodeFrames(file, info.width, info.height, pool, { signal, noAutorotate: false })) {
    const rgb = f.data.slice();
    f.release();
    return { rgb, width: info.width, height: info.height };
  }
  throw new KilnError(`${file}: has no picture ffmpeg can decode`);
}

export async function writePicture(file: string, rgb: Uint8Array, width: number, height: number, signal?: AbortSignal): Promise<void> {
  const args = ['-nostdin', '-hide_banner', '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-i', 'pipe:0', '-frames:v', '1', '-update', '1', file];
  const r = await runTool(ffmpegPath(), args, { input: Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), signal });
  if (r.code !== 0) throw new KilnError(`${file}: ffmpeg could not write the picture (${tail(r.stderr) || `exit ${r.code}`})`);
}

export async function interpolateImages(job: ImageJob): Promise<ImageSummary> {
  const t0 = performance.now();
  const n = job.frames;
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 255)) throw new UsageError(`--frames must be an integer from 1 to 255, got ${n}`);
  if (n !== undefined && job.t !== undefined) throw new UsageError('give either --t or --frames, not both');
  const t = job.t ?? 0.5;
  if (!(t > 0 && t < 1)) throw new UsageError(`--t must be strictly between 0 and 1, got ${job.t}`);
  const many = n !== undefined && n > 1;
  const patterned = (job.output.match(PATTERN) ?? []).length;
  if (many && patterned !== 1) throw new UsageError(`--frames ${n} writes ${n} files: -o needs one %d in its name, e.g. out_%03d.png (got '${job.output}')`);
  if (!many && patterned > 0 && n === undefined) throw new UsageError(`-o '${job.output}' has a %d pattern; add --frames N, or give one file name`);

  const steps = n !== undefined ? Array.from({ length: n }, (_, i) => ({ k: i + 1, t: (i + 1) / (n + 1) })) : [{ k: 1, t }];
  const targets = steps.map((s) => ({ file: patterned ? expandPattern(job.output, s.k) : job.output, t: s.t }));
  for (const tg of targets) checkOutput(tg.file, [job.a, job.b]);

  const A = await readPicture(job.a, job.signal);
  const B = await readPicture(job.b, job.signal);
  if (A.width !== B.width || A.height !== B.height) throw new KilnError(`${job.b}: is ${B.width}x${B.height} but ${job.a} is ${A.width}x${A.height}; both pictures must have the same size`);

  const slots = await LocalSlots.open(job.model, A.width, A.height, job);
  const temps: string[] = [];
  try {
    await slots.prepare(A.rgb, 0);
    await slots.prepare(B.rgb, 1);
    const out = new Uint8Array(A.rgb.length);
    for (const tg of targets) {
      if (job.signal?.aborted) throw job.signal.reason ?? new KilnError('interrupted');
      await slots.interpolate(0, 1, tg.t, out);
      const temp = tempBeside(tg.file);
      temps.push(temp);
      await writePicture(temp, out, A.width, A.height, job.signal);
    }
    if (job.signal?.aborted) throw job.signal.reason ?? new KilnError('interrupted');
    targets.forEach((tg, i) => commit(temps[i], tg.file));
    temps.length = 0;
    const stats = await slots.stats();
    return {
      inputs: [job.a, job.b],
      width: A.width,
      height: A.height,
      model: job.model,
      adapter: slots.info.adapter,
      motionScale: slots.info.scale,
      outputs: targets,
      approximatedTimesteps: stats.approximated,
      wallMs: Math.round(performance.now() - t0),
      modelMs: Math.round(stats.runMs),
    };
  } finally {
    for (const tmp of temps) discard(tmp);
    await slots.close();
  }
}
