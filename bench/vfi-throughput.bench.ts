// Frames per second the project's VFI model gets through at 640×480 when frame pairs run on
// several model threads at once (what `kiln interpolate --workers` does, src/vfi/pool.ts) against
// one session on all cores. Each configuration runs `runs` inferences per model thread, all
// threads at once; configurations alternate round by round (A B C, C B A, …) and the ratio to
// the one-session row is taken per round. The model is the kiln-optimized shipped model (the
// optimizer specialised to 640×480), spin-waiting off as in `kiln interpolate`.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { environment } from '../src/bench/env.js';
import { pairedRatio, summarize } from '../src/bench/stats.js';
import { loadModel } from '../src/onnx/read.js';
import { encodeModel } from '../src/onnx/write.js';
import { optimizeModel } from '../src/passes/index.js';
import { makeFeeds } from '../src/passes/check.js';
import { REPORT_SCHEMA, type Report } from '../src/report/types.js';
import { BenchSkipped, REPO, type BenchContext } from './lib.js';

const MODEL = path.join(REPO, 'models/kiln-vfi.onnx');

async function openThreads(model: string, workers: number, threads: number, spin: boolean, feeds: { name: string; dims: number[]; data: number[] }[]): Promise<Worker[]> {
  const ws = Array.from({ length: workers }, () => new Worker(new URL('./throughput-worker-entry.mjs', import.meta.url), { workerData: { model, threads, spin, feeds } }));
  await Promise.all(ws.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))));
  return ws;
}

/** Wall ms per inference with every model thread running `runs` inferences at once. */
async function round(ws: Worker[], runs: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all(ws.map((w) => new Promise((resolve) => { w.once('message', resolve); w.postMessage({ runs }); })));
  return (performance.now() - t0) / (ws.length * runs);
}

export async function run(ctx: BenchContext): Promise<Report> {
  const file = process.env.KILN_VFI_MODEL ?? MODEL;
  if (!existsSync(file)) throw new BenchSkipped(`no model at ${file}`);
  const env = environment();
  const cores = os.availableParallelism();
  const rounds = ctx.quick ? 2 : 8;
  const runs = ctx.quick ? 3 : 10;
  const shapes = { img0: [1, 3, 480, 640], img1: [1, 3, 480, 640] };
  const src = await loadModel(file);
  const { model: optimized } = await optimizeModel(encodeModel(src), { inputShapes: shapes });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-throughput-'));
  const opt = path.join(dir, 'opt.onnx');
  writeFileSync(opt, optimized);
  const feeds = Object.entries(makeFeeds(src, { inputShapes: shapes, seed: 1 }).feeds).map(([name, t]) => ({ name, dims: [...t.dims], data: Array.from(t.data as Float32Array) }));
  for (const f of feeds) if (f.name === 'timestep') f.data = f.data.map(() => 0.5);
  for (const f of feeds) if (f.name === 'scale') f.data = f.data.map(() => 1);
  // spin: onnxruntime's default spin-waiting, which `kiln interpolate` turns off (ffmpeg needs the cores)
  const configs = [
    { workers: 1, threads: cores, spin: false },
    { workers: 1, threads: cores, spin: true },
    { workers: cores, threads: 1, spin: false },
    { workers: cores + 1, threads: 1, spin: false },
  ];
  const sets: Worker[][] = [];
  try {
    // A spinning session's idle threads would take the cores from the others (README, "spin-waiting"):
    // it is opened for its own turn only and closed again.
    for (const c of configs) sets.push(c.spin ? [] : await openThreads(opt, c.workers, c.threads, c.spin, feeds));
    const ms: number[][] = configs.map(() => []);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...configs.keys()].reverse() : [...configs.keys()];
      for (const k of order) {
        const c = configs[k];
        if (!c.spin) {
          ms[k].push(await round(sets[k], runs));
          continue;
        }
        const ws = await openThreads(opt, c.workers, c.threads, c.spin, feeds);
        ms[k].push(await round(ws, runs));
        await Promise.all(ws.map((w) => w.terminate()));
      }
      ctx.log(`round ${r + 1}/${rounds}: ${configs.map((c, k) => `${c.workers}x${c.threads}${c.spin ? ' spin' : ''} ${ms[k][r].toFixed(1)} ms`).join(', ')}`);
    }
    const rows = configs.map((c, k) => ({
      config: `${c.workers} model thread${c.workers > 1 ? 's' : ''} × ${c.threads} onnxruntime thread${c.threads > 1 ? 's' : ''}${c.spin ? ', spin-waiting on' : ''}`,
      msPerFrame: summarize(ms[k]).median,
      fps: 1000 / summarize(ms[k]).median,
      ratio: pairedRatio(ms[k], ms[0]),
      best: summarize(ms[k]).min,
    }));
    return {
      schema: REPORT_SCHEMA,
      kind: 'custom',
      title: 'kiln-vfi throughput at 640×480: one session on all cores vs frame pairs on several model threads',
      env,
      settings: { provider: 'cpu', model: path.relative(REPO, file), optimized: 'kiln optimize --input-shape img0=1x3x480x640', rounds, runsPerThread: runs, spinning: 'off' },
      sections: [
        {
          id: 'throughput',
          title: 'Inference throughput (wall ms per interpolated frame, all model threads busy)',
          text: [`${rows[2].config}: ${rows[2].ratio.toFixed(3)}× the time per frame of ${rows[0].config} (median of per-round ratios), ${(rows[2].ratio / rows[1].ratio).toFixed(3)}× that of the same session with onnxruntime's default spin-waiting (which \`kiln interpolate\` turns off: the ffmpeg processes need the cores). One small-batch inference leaves its threads waiting at every op boundary; separate sessions on separate frames do not wait for each other.`],
          table: {
            columns: [
              { key: 'config', title: 'configuration' }, { key: 'msPerFrame', title: 'median', unit: 'ms/frame' }, { key: 'best', title: 'best round', unit: 'ms/frame' },
              { key: 'fps', title: 'frames per second', unit: '1/s', digits: 3 }, { key: 'ratio', title: 'time ÷ one session', unit: '×', digits: 3 },
            ],
            rows,
          },
        },
      ],
      notes: ['Model time only: the video pipeline adds decoding, frame conversion and encoding on the same cores (the interpolate bench measures that end to end).'],
      raw: { configs, ms },
    };
  } finally {
    for (const ws of sets) for (const w of ws) w.postMessage({ stop: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
