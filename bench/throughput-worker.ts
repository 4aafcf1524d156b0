// One model thread of bench/vfi-throughput.bench.ts: opens a session (kiln's runtime; spin-waiting
// off as in `kiln interpolate` unless asked), warms up, then on each request runs `runs` inferences back to
// back and reports the time.
import { parentPort, workerData } from 'node:worker_threads';
import { createSession, ort } from '../src/runtime/session.js';

const { model, threads, spin, feeds: spec } = workerData as { model: string; threads: number; spin: boolean; feeds: { name: string; dims: number[]; data: number[] }[] };
const session = await createSession(model, { threads, config: { 'session.intra_op.allow_spinning': spin ? '1' : '0' } });
const feeds = Object.fromEntries(spec.map((f) => [f.name, new ort.Tensor('float32', Float32Array.from(f.data), f.dims)]));
await session.run(feeds);
parentPort!.postMessage({ ready: true });
parentPort!.on('message', async (m: { runs?: number; stop?: boolean }) => {
  if (m.stop) {
    await session.release();
    process.exit(0);
  }
  const t0 = performance.now();
  for (let i = 0; i < m.runs!; i++) await session.run(feeds);
  parentPort!.postMessage({ ms: performance.now() - t0 });
});
