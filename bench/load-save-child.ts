// Child process of load-save.bench.ts: one measurement in a fresh process, so that its peak RSS
// (getrusage maxrss) belongs to that measurement alone. Reads a job as JSON on stdin, prints the
// result as JSON on stdout. Modules are imported before the baseline is taken, so start-up
// (tsx compiling TypeScript, loading onnxruntime) is not charged to the model.
import { readFileSync, rmSync } from 'node:fs';

interface Job {
  what: 'kiln' | 'ort';
  file: string;
  /** kiln: where to save the loaded model. */
  out?: string;
  externalData?: 'auto' | 'always' | 'never';
}

const job = JSON.parse(readFileSync(0, 'utf8')) as Job;
// Peak RSS from /proc/self/status VmHWM, not getrusage: on Linux a spawned child's ru_maxrss
// starts at the PARENT's RSS at fork time (exec keeps the old mm's high-water mark in
// signal->maxrss), so a large parent hides every small child's peak. VmHWM is the new mm's own.
const maxRss = (): number => {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
};
const result: Record<string, number> = {};
if (job.what === 'kiln') {
  const { loadModel } = await import('../src/onnx/read.js');
  const { saveModel } = await import('../src/onnx/write.js');
  result.baselineBytes = process.memoryUsage().rss;
  result.peakBeforeBytes = maxRss();
  const t0 = performance.now();
  const model = await loadModel(job.file);
  const t1 = performance.now();
  const saved = await saveModel(model, job.out!, { externalData: job.externalData ?? 'auto' });
  const t2 = performance.now();
  result.loadMs = t1 - t0;
  result.saveMs = t2 - t1;
  result.savedBytes = saved.bytes;
  result.nodes = model.nodeCount;
  result.peakBytes = maxRss();
  rmSync(job.out!, { force: true });
  if (saved.externalFile) rmSync(saved.externalFile, { force: true });
} else {
  const { createSession } = await import('../src/runtime/session.js');
  result.baselineBytes = process.memoryUsage().rss;
  result.peakBeforeBytes = maxRss();
  const t0 = performance.now();
  const session = await createSession(job.file, { optLevel: 'disabled', threads: 1 });
  result.createMs = performance.now() - t0;
  result.peakBytes = maxRss();
  await session.release();
}
process.stdout.write(JSON.stringify(result));
