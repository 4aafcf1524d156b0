// Corpus proof: every pass, alone and as the default pipeline, on every real-architecture model
// that scripts/export-corpus.py writes to .cache/corpus (ResNet-18, MobileNetV3, EfficientNet-B0,
// LSTM, attention block, dynamic-shape ResNet-18) and on the project's VFI model when present.
// Each rewrite that changed something is verified on onnxruntime against the original, and
// onnx.checker (Debian's python3-onnx) accepts every optimized file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verify } from '../../src/ir/verify.js';
import { decodeModel, loadModel } from '../../src/onnx/read.js';
import { encodeModel, saveModel } from '../../src/onnx/write.js';
import { compareModels, formatComparison, makeFeeds } from '../../src/passes/check.js';
import { PASSES, optimizeGraph, optimizeModel } from '../../src/passes/index.js';

const REPO = new URL('../../', import.meta.url).pathname;
const CORPUS = join(REPO, '.cache', 'corpus');
const VFI = join(REPO, 'models', 'kiln-vfi.onnx');
const PYTHON = '/usr/bin/python3';

interface Entry {
  name: string;
  file: string;
  inputs: { name: string; shape: number[] }[];
}

function corpus(): Entry[] | string {
  const index = join(CORPUS, 'corpus.json');
  if (!existsSync(index)) return `${index} is missing: run /usr/bin/python3 scripts/export-corpus.py --out .cache/corpus (or the onnx corpus test, which exports it)`;
  const models = (JSON.parse(readFileSync(index, 'utf8')) as { models: Entry[] }).models;
  return models.filter((e) => existsSync(join(CORPUS, e.file)));
}

/**
 * onnx.checker's verdict per file: 'ok', its error, or `newer: …` for a file beyond what this onnx
 * can check (Debian 12's onnx 1.12 knows IR ≤ 8 and opset ≤ 17; kiln-vfi is opset 19 for its
 * DeformConv), which onnxruntime alone then verifies.
 */
function checker(files: string[]): Map<string, string> {
  const script = [
    'import onnx,sys,json',
    'top = onnx.defs.onnx_opset_version()',
    'for f in sys.argv[1:]:',
    '  m = onnx.load(f)',
    '  opset = max([o.version for o in m.opset_import if o.domain in ("", "ai.onnx")] or [0])',
    '  if m.ir_version > onnx.IR_VERSION or opset > top:',
    '    print(json.dumps([f, f"newer: IR {m.ir_version}, opset {opset}; onnx {onnx.__version__} checks IR <= {onnx.IR_VERSION}, opset <= {top}"])); continue',
    '  try:',
    '    onnx.checker.check_model(m); print(json.dumps([f, "ok"]))',
    '  except Exception as e:',
    '    print(json.dumps([f, str(e)[:500]]))',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`onnx.checker failed to run: ${r.stderr}`);
  return new Map(r.stdout.trim().split('\n').map((l) => JSON.parse(l) as [string, string]));
}

test('every pass on every corpus model: verified on onnxruntime, accepted by onnx.checker', { timeout: 20 * 60_000 }, async (t) => {
  const entries = corpus();
  if (typeof entries === 'string') return t.skip(entries);
  const models: { name: string; file: string; inputShapes: Record<string, number[]> }[] = entries.map((e) => ({
    name: e.name,
    file: join(CORPUS, e.file),
    inputShapes: Object.fromEntries(e.inputs.map((i) => [i.name, i.shape])),
  }));
  if (existsSync(VFI)) {
    const m = await loadModel(VFI);
    // VFI inputs are frames: NCHW at 1×3×96×128 unless the file fixes its own dims.
    models.push({ name: 'kiln-vfi', file: VFI, inputShapes: Object.fromEntries(m.graph.inputs.filter((v) => !v.isConstant).map((v) => [v.name, (v.shape ?? []).map((d, i) => (typeof d === 'number' ? d : [1, 3, 96, 128][i] ?? 1))])) });
  } else console.log(`${VFI} not present; the VFI model is not part of this run`);
  const checkerOk = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;
  const dir = mkdtempSync(join(tmpdir(), 'kiln-corpus-passes-'));
  const written: string[] = [];
  try {
    for (const e of models) {
      await t.test(e.name, async () => {
        const original = await loadModel(e.file);
        const bytes = encodeModel(original);
        const reference = decodeModel(bytes);
        const feeds = makeFeeds(reference, { inputShapes: e.inputShapes, seed: 11 });
        const applied: string[] = [];
        for (const pass of PASSES) {
          const m = decodeModel(bytes);
          const r = optimizeGraph(m, { passes: [pass.name], inputShapes: e.inputShapes });
          assert.deepEqual(verify(m), [], `${e.name} after ${pass.name}`);
          if (!r.changes) continue;
          applied.push(`${pass.name}×${r.changes}`);
          const c = await compareModels(encodeModel(reference), encodeModel(m), feeds);
          assert.ok(c.ok, `${e.name} after ${pass.name}: ${c.outputs.map(formatComparison).join('; ')}`);
        }
        const { model, report } = await optimizeModel(original, { inputShapes: e.inputShapes, seed: 11 });
        assert.ok(report.verification?.ok);
        assert.equal(model.irVersion, original.irVersion, 'ir_version kept as loaded');
        assert.deepEqual(model.graph.inputs.map((v) => v.name), original.graph.inputs.map((v) => v.name));
        assert.deepEqual(model.graph.outputs.map((v) => v.name), original.graph.outputs.map((v) => v.name));
        const out = join(dir, `${e.name}.onnx`);
        await saveModel(model, out);
        written.push(out);
        const worst = Math.max(...report.verification!.outputs.map((o) => o.maxAbs));
        console.log(`${e.name}: ${report.before.nodes} → ${report.after.nodes} nodes; passes alone: ${applied.join(', ') || 'none applied'}; max abs error ${worst.toExponential(2)}`);
      });
    }
    if (!checkerOk) return t.skip(`${PYTHON} cannot import onnx: onnx.checker not run`);
    const results = checker(written);
    for (const f of written) {
      const verdict = results.get(f) ?? 'no verdict';
      if (verdict.startsWith('newer: ')) console.log(`onnx.checker not run on ${f} (${verdict.slice(7)}): verified on onnxruntime only`);
      else assert.equal(verdict, 'ok', `onnx.checker rejects ${f}: ${verdict}`);
    }
    assert.ok(written.some((f) => results.get(f) === 'ok'), 'onnx.checker checked none of the files');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
