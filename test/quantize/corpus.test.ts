// Every model of the corpus (scripts/export-corpus.py → .cache/corpus) is quantized, run by
// onnxruntime, and scored on the corpus's own reference input — which calibration never saw.
// Conv nets take static INT8, sequence models (no Conv) dynamic INT8, and all of them FP16.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/onnx/read.js';
import { readNpy, toOrtTensor } from '../../src/onnx/tensor-file.js';
import { quantizeModel, type Mode } from '../../src/quantize/index.js';
import type { Sample } from '../../src/quantize/graph-util.js';

const DIR = new URL('../../.cache/corpus/', import.meta.url).pathname;
const INDEX = join(DIR, 'corpus.json');

interface Entry {
  name: string;
  file: string;
  inputs: { name: string; file: string }[];
}

const entries: Entry[] = existsSync(INDEX) ? (JSON.parse(readFileSync(INDEX, 'utf8')) as { models: Entry[] }).models : [];

if (!entries.length) test('corpus', (t) => t.skip(`${INDEX} absent: run /usr/bin/python3 scripts/export-corpus.py`));

for (const e of entries) {
  test(`corpus ${e.name}: quantized models run in onnxruntime and their reports hold measured numbers`, async (t) => {
    if (!existsSync(join(DIR, e.file))) return t.skip(`${e.file} not exported yet`);
    const model = await loadModel(join(DIR, e.file));
    const reference: Sample = Object.fromEntries(e.inputs.map((i) => [i.name, toOrtTensor(readNpy(join(DIR, i.file)))]));
    const convNet = model.graph.nodes.some((n) => n.opType === 'Conv');
    const modes: Mode[] = [convNet ? 'int8' : 'int8-dynamic', 'fp16'];
    for (const mode of modes) {
      // 3 random calibration samples + the reference input held out for scoring.
      const random = await import('../../src/quantize/calibrate.js').then((m) => m.loadSamples(model, { kind: 'random', count: 3 }));
      const { report } = await quantizeModel(model, { mode, calib: { kind: 'given', samples: [...random.samples, reference] }, heldOut: 1, speedRuns: 2, keepIoTypes: true });
      t.diagnostic(`${e.name} ${mode}: ${report.outputs.map((o) => `${o.name} SQNR ${o.sqnr.toFixed(1)} dB max|Δ| ${o.maxAbs.toExponential(2)}`).join(', ')}; ${report.speed!.speedup.toFixed(2)}× (${report.speed!.fp32Ms.toFixed(1)} → ${report.speed!.quantizedMs.toFixed(1)} ms); int ops ${JSON.stringify(report.ort.integerOps)}; float: ${report.keptFloat.length}`);
      assert.equal(report.evaluatedOn, '1 held-out sample(s) not used for calibration');
      for (const o of report.outputs) {
        assert.ok(Number.isFinite(o.maxAbs) && Number.isFinite(o.meanAbs) && o.meanAbs <= o.maxAbs, `${o.name}: ${JSON.stringify(o)}`);
        assert.equal(o.nonFinite, 0);
        assert.ok(o.sqnr > (mode === 'fp16' ? 40 : 5), `${e.name} ${mode} ${o.name}: SQNR ${o.sqnr} dB`);
      }
      assert.ok(report.speed!.fp32Ms > 0 && report.speed!.quantizedMs > 0);
      if (mode !== 'fp16') assert.ok(Object.keys(report.ort.integerOps).length > 0, `${e.name}: onnxruntime fused no integer op`);
    }
  });
}
