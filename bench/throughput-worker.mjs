// One model thread of bench/vfi-throughput.bench.ts: opens a session with the given intra-op
// threads, warms up, then on each "go" runs `runs` inferences back to back and reports the time.
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

const { model, threads, feeds: spec } = workerData;
const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  extra: { session: { intra_op: { allow_spinning: '0' } } },
});
const feeds = Object.fromEntries(spec.map((f) => [f.name, new ort.Tensor('float32', Float32Array.from(f.data), f.dims)]));
await session.run(feeds);
parentPort.postMessage({ ready: true });
parentPort.on('message', async (m) => {
  if (m.stop) {
    await session.release();
    process.exit(0);
  }
  const t0 = performance.now();
  for (let i = 0; i < m.runs; i++) await session.run(feeds);
  parentPort.postMessage({ ms: performance.now() - t0 });
});
