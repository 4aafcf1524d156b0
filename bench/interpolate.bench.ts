// `kiln interpolate` end to end: 2× of a 10 s 640×480 30 fps clip (pan and zoom over a real
// photo, H.264), and of 1280×720 and 1920×1080 versions, each run as the CLI in a child process
// (wall time, output fps, decode/infer/encode busy shares, peak RSS of the kiln process). Side
// by side on the 640×480 clip: ffmpeg's minterpolate=mi_mode=mci (wall, fps, peak RSS). PSNR
// of the interpolated frames against the frames that were dropped (the clip is rendered at
// 60 fps, every other frame kept), for both and for plain frame averaging. A model with a
// `scale` input runs at its default `--scale auto` (1 at 640×480, 0.5 at 1280×720 and 1920×1080:
// motion at half size) and also at 1280×720 and 1920×1080 with --scale 1.
//
//   npm run bench -- interpolate            (through the runner, also rebuilds RESULTS.md)
//   npx tsx bench/interpolate.bench.ts      (standalone: writes bench/results/interpolate.json only)
//   KILN_VFI_MODEL=path.onnx ...            (another model; default: models/kiln-vfi.onnx, else
//                                            the fixture models, labelled as such)
// --quick: 2 s clips.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { environment } from '../src/bench/env.js';
import type { Report, Section } from '../src/report/types.js';
import { decodeFrames } from '../src/video/decode.js';
import { FramePool } from '../src/video/frames.js';
import { SHIPPED_MODEL } from '../src/vfi/models.js';
import { CLIP_DIR, photosMissing, renderClip } from '../test/fixtures/vfi/clips.js';
import { fixtureModels, model as fixture, whyNoModels } from '../test/fixtures/vfi/models.js';
import { BenchSkipped, hasScaleInput, REPO, type BenchContext } from './lib.js';

/** Clip length per size: the 10 s clip the issue asks for at 640×480; shorter at 720p and 1080p,
 *  where a few seconds already give a steady rate and 10 s would take most of an hour here. */
const SIZES = [
  { width: 640, height: 480, seconds: 10, quickSeconds: 2 },
  { width: 1280, height: 720, seconds: 3, quickSeconds: 1 },
  { width: 1920, height: 1080, seconds: 2, quickSeconds: 1 },
];
const MINTERPOLATE = 'minterpolate=fps=60:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1';

interface Row {
  method: string;
  size: string;
  seconds: number;
  framesIn: number;
  framesOut: number;
  wallS: number;
  fps: number;
  streamFps: number | null;
  decode: number | null;
  infer: number | null;
  encode: number | null;
  bottleneck: string | null;
  rssMB: number | null;
  psnr: number | null;
  psnrAvg: number;
}

/**
 * Mean PSNR of out[j] against truth[j] over the interpolated (odd) j, and of the average of the
 * neighbouring input frames (input k sits at output 2k). Stops before the output's trailing
 * frame, which repeats the last input frame. Streams: three decoders in lockstep.
 */
async function psnrOdd(truthFile: string, outFile: string, inputFile: string, width: number, height: number): Promise<{ model: number; avg: number }> {
  const bytes = width * height * 3;
  const truth = decodeFrames(truthFile, width, height, new FramePool(bytes, 2));
  const out = decodeFrames(outFile, width, height, new FramePool(bytes, 2));
  const input = decodeFrames(inputFile, width, height, new FramePool(bytes, 2));
  const readInput = async (): Promise<Uint8Array | null> => {
    const r = await input.next();
    if (r.done) return null;
    const copy = r.value.data.slice();
    r.value.release();
    return copy;
  };
  let sum = 0;
  let sumAvg = 0;
  let n = 0;
  let cur: Uint8Array | null = null;
  let nxt = await readInput();
  for (let j = 0; ; j++) {
    const [x, y] = await Promise.all([truth.next(), out.next()]);
    if (x.done || y.done) {
      if (!x.done) x.value.release();
      if (!y.done) y.value.release();
      break;
    }
    if (j % 2 === 0) {
      cur = nxt;
      nxt = await readInput();
    } else if (cur && nxt) {
      sum += psnr(x.value.data, y.value.data);
      sumAvg += psnr(x.value.data, averageOf(cur, nxt));
      n++;
    }
    x.value.release();
    y.value.release();
  }
  await Promise.all([truth.return(undefined), out.return(undefined), input.return(undefined)]);
  return { model: sum / n, avg: sumAvg / n };
}

function psnr(x: Uint8Array, y: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - y[i];
    se += d * d;
  }
  return se === 0 ? 99 : 10 * Math.log10((255 * 255 * x.length) / se);
}

function averageOf(x: Uint8Array, y: Uint8Array): Uint8Array {
  const o = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) o[i] = (x[i] + y[i] + 1) >> 1;
  return o;
}

/** Runs a command, sampling its RSS (and its children's) from /proc every 100 ms. */
async function timed(cmd: string, args: string[]): Promise<{ wallS: number; stdout: string; stderr: string; code: number | null; peakMB: number }> {
  const t0 = performance.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let peak = 0;
  const rss = (pid: number): number => {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  };
  const timer = setInterval(() => {
    if (child.pid) peak = Math.max(peak, rss(child.pid));
  }, 100);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  clearInterval(timer);
  return { wallS: (performance.now() - t0) / 1000, stdout, stderr, code, peakMB: Math.round(peak / 1024) };
}

function clipsFor(size: { width: number; height: number }, seconds: number) {
  // 8 px of pan per input frame at 640 wide (scaled with the width) and a slow zoom: motion of
  // the size ordinary footage has, enough that averaging visibly fails.
  const spec = { width: size.width, height: size.height, rate: '60', frames: seconds * 60, dx: size.width / 160, dy: size.width / 320, zoom: 0.0015 };
  const name = `bench-${size.width}x${size.height}-${seconds}s`;
  return {
    truth: renderClip({ ...spec, name: `${name}-truth`, codec: 'x264', extraArgs: ['-crf', '10'] }),
    input: renderClip({ ...spec, name: `${name}-input`, evenOnly: true, codec: 'x264' }),
  };
}

export async function run(ctx: BenchContext): Promise<Report> {
  const why = photosMissing();
  if (why) throw new BenchSkipped(why);
  const env = environment();
  const models: { label: string; file: string; scale?: number; args?: string[] }[] = [];
  const chosen = process.env.KILN_VFI_MODEL ?? (existsSync(SHIPPED_MODEL) ? SHIPPED_MODEL : null);
  if (chosen) {
    models.push({ label: path.basename(chosen), file: chosen });
    // the default runs frame pairs on several model threads (src/vfi/pool.ts); this row is one session on all cores
    models.push({ label: `${path.basename(chosen)}, --workers 1`, file: chosen, args: ['--workers', '1'] });
    if (await hasScaleInput(chosen)) models.push({ label: `${path.basename(chosen)}, --scale 1`, file: chosen, scale: 1 });
  }
  else {
    if (!fixtureModels()) throw new BenchSkipped(`no shipped model and no fixture models: ${whyNoModels()}`);
    models.push({ label: 'fixture kiln_flow (global shift + 2 GridSample warps)', file: fixture('kiln_flow') });
  }
  if (fixtureModels()) models.push({ label: 'fixture kiln_blend (pipeline ceiling: a trivial model)', file: fixture('kiln_blend') });
  const kiln = path.join(REPO, 'bin/kiln.js');
  const outDir = path.join(CLIP_DIR, 'bench-out');
  mkdirSync(outDir, { recursive: true });
  const rows: Row[] = [];
  for (const size of SIZES) {
    const seconds = ctx.quick ? size.quickSeconds : size.seconds;
    const label = `${size.width}x${size.height}`;
    ctx.log(`rendering ${seconds} s clips at ${label}`);
    const { truth, input } = clipsFor(size, seconds);
    for (const m of models) {
      // The flow fixture is a toy (a global shift found by brute force): only at 640x480.
      if (m.file === fixture('kiln_flow') && size.width !== 640) continue;
      // at 640×480 the default --scale auto is 1 already
      if (m.scale !== undefined && size.width === 640) continue;
      if (m.args && size.width !== 640) continue;
      const out = path.join(outDir, `kiln-${label}.mp4`);
      ctx.log(`kiln interpolate ${label} with ${m.label}`);
      const r = await timed(process.execPath, [kiln, 'interpolate', input, '-o', out, '--model', m.file, ...(m.scale !== undefined ? ['--scale', String(m.scale)] : []), ...(m.args ?? []), '--json']);
      if (r.code !== 0) throw new Error(`kiln interpolate failed: ${r.stderr}`);
      const s = JSON.parse(r.stdout);
      const q = await psnrOdd(truth, out, input, size.width, size.height);
      rows.push({
        method: `kiln, ${m.label}`, size: label, seconds, framesIn: s.framesIn, framesOut: s.framesOut, wallS: r.wallS, fps: s.framesOut / r.wallS, streamFps: s.streamFps,
        decode: s.share.decode, infer: s.share.infer, encode: s.share.encode, bottleneck: s.bottleneck, rssMB: r.peakMB, psnr: q.model, psnrAvg: q.avg,
      });
      ctx.log(`  ${s.framesOut} frames in ${r.wallS.toFixed(1)} s = ${(s.framesOut / r.wallS).toFixed(1)} fps, PSNR ${q.model.toFixed(2)} dB (averaging ${q.avg.toFixed(2)})`);
    }
    if (size.width === 640) {
      const out = path.join(outDir, `minterpolate-${label}.mp4`);
      ctx.log(`ffmpeg ${MINTERPOLATE} ${label}`);
      const r = await timed('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', input, '-vf', MINTERPOLATE, '-c:v', 'libx264', '-crf', '18', '-preset', 'veryfast', '-an', out]);
      if (r.code !== 0) throw new Error(`minterpolate failed: ${r.stderr}`);
      const frames = Number(spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', out], { encoding: 'utf8' }).stdout.trim());
      const q = await psnrOdd(truth, out, input, size.width, size.height);
      rows.push({
        method: 'ffmpeg minterpolate (mci, aobmc, bidir, vsbmc)', size: label, seconds, framesIn: seconds * 30, framesOut: frames, wallS: r.wallS, fps: frames / r.wallS, streamFps: null,
        decode: null, infer: null, encode: null, bottleneck: null, rssMB: r.peakMB, psnr: q.model, psnrAvg: q.avg,
      });
      ctx.log(`  ${frames} frames in ${r.wallS.toFixed(1)} s = ${(frames / r.wallS).toFixed(1)} fps, PSNR ${q.model.toFixed(2)} dB`);
    }
  }
  const pct = (x: number | null) => (x === null ? null : Math.round(x * 100));
  const table: Section = {
    id: 'interpolate-2x',
    title: '2× frame interpolation, 30 fps → 60 fps',
    table: {
      columns: [
        { key: 'method', title: 'method' },
        { key: 'size', title: 'size' },
        { key: 'seconds', title: 'clip', unit: 's' },
        { key: 'framesOut', title: 'frames out' },
        { key: 'wallS', title: 'wall', unit: 's', digits: 3 },
        { key: 'fps', title: 'output fps', unit: '1/s', digits: 3 },
        { key: 'streamFps', title: 'fps once running', unit: '1/s', digits: 3 },
        { key: 'decode', title: 'decode', unit: '%' },
        { key: 'infer', title: 'infer', unit: '%' },
        { key: 'encode', title: 'encode', unit: '%' },
        { key: 'rssMB', title: 'peak RSS', unit: 'MiB' },
        { key: 'psnr', title: 'PSNR vs dropped', unit: 'dB', digits: 4 },
        { key: 'psnrAvg', title: 'averaging PSNR', unit: 'dB', digits: 4 },
      ],
      rows: rows.map((r) => ({ ...r, decode: pct(r.decode), infer: pct(r.infer), encode: pct(r.encode) })),
    },
  };
  return {
    schema: 'kiln-report/1',
    kind: 'custom',
    title: 'kiln interpolate end to end (2×)',
    env,
    settings: { provider: 'cpu', threads: 'default', workers: 'default (2 model threads on 2+ cores, the cores split between them)', clipSeconds: SIZES.map((z) => `${z.width}x${z.height}: ${ctx.quick ? z.quickSeconds : z.seconds}`).join(', '), encoder: 'libx264 crf 18 veryfast', minterpolate: MINTERPOLATE, loadAverage: os.loadavg().map((x) => x.toFixed(1)).join(' ') },
    sections: [table],
    notes: [
      'Wall and output fps are of the whole command (process start, probe, model load, decode ‖ infer ‖ encode, mux); "fps once running" leaves out the setup before the first frame (kiln\'s setupMs). Stage shares are each stage\'s busy time ÷ the sum of the three (they overlap in time).',
      'Peak RSS is the kiln process (main thread + model threads: two by default, one with --workers 1), sampled from /proc every 100 ms; ffmpeg children are not included. For minterpolate it is the ffmpeg process.',
      'PSNR: the clip is rendered at 60 fps (H.264 crf 10) and every other frame kept (H.264 crf 16) as the 30 fps input; PSNR of each interpolated output frame against the dropped one, on RGB uint8, mean over frames; "averaging" is the mean of the two neighbouring input frames.',
      'The fixture models are test models (src: test/fixtures/vfi/make_models.py), not the shipped one: kiln_blend gives the pipeline\'s own ceiling (decode, conversion, encode) with a near-free model.',
      "The shipped model's rows without --scale run kiln's default --scale auto (motion estimated at 1 on 640×480, at 0.5 on 1280×720 and 1920×1080: the power of two that brings the short side nearest 480 px); the --scale 1 rows are the model's training form.",
    ],
    raw: { rows },
  };
}

// Standalone: write bench/results/interpolate.json without touching RESULTS.md.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  const report = await run({ quick, log: (m) => console.error(`bench interpolate: ${m}`) });
  const file = path.join(REPO, 'bench/results/interpolate.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  console.error(`bench interpolate: wrote ${path.relative(REPO, file)}`);
}
