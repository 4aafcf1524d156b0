// Round trip of real architectures that kiln exports itself (scripts/export-corpus.py: ResNet-18,
// MobileNetV3, EfficientNet-B0, an LSTM, an attention block, and ResNet-18 with dynamic
// batch/height/width): each loads, survives load → save → load losslessly, passes onnx.checker,
// and the re-encoded model run in onnxruntime reproduces PyTorch's outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, decodeModel } from '../../src/onnx/read.js';
import { encodeModel } from '../../src/onnx/write.js';
import { fromOrtTensor, readNpy, toOrtTensor } from '../../src/onnx/tensor-file.js';
import { createSession, run } from '../../src/runtime/session.js';
import { verify } from '../../src/ir/verify.js';
import { PYTHON, startChecker } from './checker.js';
import { FP32_TOL, compareTensors } from './compare.js';

const REPO = new URL('../../', import.meta.url).pathname;
const CORPUS = join(REPO, '.cache', 'corpus');
const SCRIPT = join(REPO, 'scripts', 'export-corpus.py');

interface Entry {
  name: string;
  file: string;
  inputs: { name: string; shape: number[]; file: string }[];
  outputs: { name: string; file: string }[];
  dynamicAxes: Record<string, Record<string, string>>;
}

/** The manifest, if it was written by this version of the script and all its files exist. */
function upToDate(): Entry[] | null {
  const manifest = join(CORPUS, 'corpus.json');
  if (!existsSync(manifest)) return null;
  const m = JSON.parse(readFileSync(manifest, 'utf8')) as { script?: string; models: Entry[] };
  if (m.script !== createHash('sha256').update(readFileSync(SCRIPT)).digest('hex')) return null;
  const files = m.models.flatMap((e) => [e.file, ...e.inputs.map((i) => i.file), ...e.outputs.map((o) => o.file)]);
  return files.every((f) => existsSync(join(CORPUS, f))) ? m.models : null;
}

/** Exports the corpus if it is missing or stale (the script skips models already there). */
function ensureCorpus(): Entry[] | string {
  const ready = upToDate();
  if (ready) return ready;
  if (!existsSync(PYTHON)) return `${PYTHON} not found (python3-torch, python3-torchvision)`;
  if (spawnSync(PYTHON, ['-c', 'import torch, torchvision, onnx'], { stdio: 'ignore' }).status !== 0) return `${PYTHON} lacks torch/torchvision/onnx (apt-get install python3-torch python3-torchvision python3-onnx)`;
  const r = spawnSync(PYTHON, [SCRIPT, '--out', CORPUS], { encoding: 'utf8', timeout: 10 * 60_000 });
  if (r.status !== 0) throw new Error(`export-corpus.py failed (${r.status}):\n${r.stderr.slice(-3000)}`);
  return (JSON.parse(readFileSync(join(CORPUS, 'corpus.json'), 'utf8')) as { models: Entry[] }).models;
}

test('real-architecture corpus round-trips: lossless, onnx.checker, onnxruntime = PyTorch', { timeout: 15 * 60_000 }, async (t) => {
  const corpus = ensureCorpus();
  if (typeof corpus === 'string') return t.skip(corpus);
  assert.ok(corpus.length >= 6, 'the corpus lists its six models');
  const tmp = mkdtempSync(join(tmpdir(), 'kiln-corpus-rt-'));
  const checker = startChecker();
  const checked: string[] = [];
  try {
    for (const e of corpus) {
      await t.test(e.name, async () => {
        const file = join(CORPUS, e.file);
        const model = await loadModel(file);
        assert.ok(model.nodeCount > 0);
        const bytes = encodeModel(model);
        const reloaded = decodeModel(bytes, { file: `${file} (re-encoded)` });
        assert.deepEqual(verify(reloaded), []);
        assert.equal(Buffer.compare(Buffer.from(encodeModel(reloaded)), Buffer.from(bytes)), 0, 'the round trip is idempotent');
        assert.equal(reloaded.nodeCount, model.nodeCount);
        assert.equal(reloaded.graph.initializers.length, model.graph.initializers.length);
        for (const v of model.graph.initializers) assert.ok(reloaded.graph.ownValue(v.name)?.initializer?.equals(v.initializer!), `initializer ${v} survives byte for byte`);

        // Declared I/O, symbolic dims included, survive.
        const io = (m: typeof model): string => JSON.stringify([...m.graph.inputs, ...m.graph.outputs].map((v) => [v.name, v.elemType, v.shape]));
        assert.equal(io(reloaded), io(model));
        for (const [name, axes] of Object.entries(e.dynamicAxes)) {
          const v = reloaded.graph.lookup(name);
          assert.ok(v, `dynamic-axes value ${name} exists`);
          for (const [axis, sym] of Object.entries(axes)) assert.equal(v!.shape?.[Number(axis)], sym, `${name} dim ${axis} is symbolic '${sym}'`);
        }

        const rtFile = join(tmp, e.file);
        writeFileSync(rtFile, bytes);
        if (!('unavailable' in checker)) {
          checker.add(file, rtFile);
          checked.push(e.name);
        }

        const session = await createSession(bytes, { threads: 2, optLevel: 'disabled' }, `${e.name} (re-encoded)`);
        try {
          const feeds = Object.fromEntries(e.inputs.map((i) => [i.name, toOrtTensor(readNpy(join(CORPUS, i.file)))]));
          const out = await run(session, feeds, e.name);
          for (const o of e.outputs) {
            const why = compareTensors(fromOrtTensor(out[o.name]), readNpy(join(CORPUS, o.file)), FP32_TOL);
            assert.equal(why, null, `${e.name} output '${o.name}' vs PyTorch: ${why}`);
          }
        } finally {
          await session.release();
        }
      });
    }
    if ('unavailable' in checker) t.diagnostic(`onnx.checker skipped: ${checker.unavailable}`);
    else {
      const results = await checker.finish();
      results.forEach((r, i) => {
        assert.ok(r.orig >= 1, `${checked[i]}: onnx.checker accepts the exported original: ${r.orig_error}`);
        assert.ok(r.rt >= r.orig, `${checked[i]}: onnx.checker accepts the re-encoded model as it does the original: ${r.rt_error}`);
        assert.ok(r.same, `${checked[i]}: re-encoded model is the same protobuf:\n${r.diff}`);
      });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
