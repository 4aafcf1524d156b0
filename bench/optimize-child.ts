// Child process of optimize.bench.ts: load → passes → save of one model in a process of its
// own, so its peak RSS is the optimizer's. Prints one JSON line. Verification (onnxruntime) is
// measured apart by the parent: it is onnxruntime's memory, not the optimizer's.
import { statSync } from 'node:fs';
import { loadModel } from '../src/onnx/read.js';
import { saveModel } from '../src/onnx/write.js';
import { optimizeGraph, summarize } from '../src/passes/index.js';

const [file, out, shapesJson] = process.argv.slice(2);
const maxRss = (): number => process.resourceUsage().maxRSS * 1024;
const baselineBytes = process.memoryUsage().rss;
const peakBefore = maxRss();
const rss: Record<string, number> = {};
const t0 = performance.now();
const model = await loadModel(file);
const t1 = performance.now();
rss.load = process.memoryUsage().rss;
const before = summarize(model);
const r = optimizeGraph(model, { inputShapes: JSON.parse(shapesJson || '{}') });
const t2 = performance.now();
rss.passes = process.memoryUsage().rss;
await saveModel(model, out, { protect: [file] });
const t3 = performance.now();
rss.save = process.memoryUsage().rss;
const peakBytes = maxRss();
// As in src/bench/memory-child.ts: if the work raised the process's peak, it cost peak −
// baseline; if start-up (tsx compiling TypeScript) had set a higher peak, that hides the work,
// and the largest resident size sampled between phases is the honest lower bound.
const costBytes = Math.max(0, (peakBytes > peakBefore ? peakBytes : Math.max(...Object.values(rss))) - baselineBytes);
process.stdout.write(`${JSON.stringify({
  fileBytes: statSync(file).size, loadMs: t1 - t0, passesMs: t2 - t1, saveMs: t3 - t2, totalMs: t3 - t0,
  baselineBytes, peakBytes, peakBefore, costBytes, peakHidden: peakBytes <= peakBefore, rss, rounds: r.rounds, changes: r.changes,
  before, after: summarize(model),
})}\n`);
