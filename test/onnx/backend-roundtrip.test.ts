// Round-trip proof over Debian's libonnx-testdata (the ONNX backend node tests plus the
// pytorch-converted, pytorch-operator and simple model sets, each with reference inputs/outputs).
//
// For every model: load → encode → load → encode must be lossless and idempotent; the re-encoded
// model, run in onnxruntime-node, must reproduce test_data_set_0/output_*.pb; and onnx.checker
// must accept the re-encoded file at least as strictly as it accepts the original. Where
// onnxruntime fails or disagrees with the reference, the original file is run too: only a
// difference between original and round trip counts against kiln.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { decodeModel } from '../../src/onnx/read.js';
import { encodeModel } from '../../src/onnx/write.js';
import { fromOrtTensor, ortSupportsType, readTensorProto, toOrtTensor } from '../../src/onnx/tensor-file.js';
import { createSession, ort } from '../../src/runtime/session.js';
import type { Model } from '../../src/ir/graph.js';
import type { Tensor } from '../../src/ir/tensor.js';
import { startChecker } from './checker.js';
import { BACKEND_TOL, compareTensors } from './compare.js';

const ROOT = '/usr/share/libonnx-testdata/data';
const FOLDERS = ['node', 'pytorch-converted', 'pytorch-operator', 'simple', 'real'];

interface Case {
  id: string;
  file: string;
  dir: string;
}

type Verdict =
  | { kind: 'ok' }
  | { kind: 'kiln-failure'; detail: string }
  | { kind: 'unfeedable'; detail: string }
  | { kind: 'ort-unsupported'; detail: string }
  | { kind: 'ort-disagrees'; detail: string };

function findCases(): Case[] {
  const cases: Case[] = [];
  for (const folder of FOLDERS) {
    const root = join(ROOT, folder);
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort()) {
      const file = join(root, name, 'model.onnx');
      if (existsSync(file)) cases.push({ id: `${folder}/${name}`, file, dir: join(root, name) });
    }
  }
  return cases;
}

/** input_0.pb, input_1.pb, … in numeric order. */
function dataFiles(dir: string, prefix: 'input' | 'output'): string[] {
  const set = join(dir, 'test_data_set_0');
  if (!existsSync(set)) return [];
  return readdirSync(set)
    .map((f) => new RegExp(`^${prefix}_(\\d+)\\.pb$`).exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => join(set, m[0]));
}

/** Why onnxruntime-node cannot be fed / cannot return this model's values, or null. */
function unfeedable(model: Model, nInputs: number): string | null {
  const ins = model.graph.inputs.filter((v) => !v.initializer).slice(0, nInputs);
  for (const v of [...ins, ...model.graph.outputs]) {
    const t = v.type;
    if (!t || t.kind === 'opaque') return `${v} is a sequence, map or optional value (onnxruntime-node passes only tensors)`;
    if (!ortSupportsType(t.elemType)) return `${v} has an element type onnxruntime-node cannot hold (${t.elemType})`;
  }
  return null;
}

/** Runs model bytes in onnxruntime; returns the first problem (vs. the reference) or the outputs. */
async function runOrt(bytes: Uint8Array, inputs: Tensor[], expected: Tensor[], label: string): Promise<{ error?: string; mismatch?: string; outputs?: Tensor[] }> {
  let session: ort.InferenceSession;
  try {
    session = await createSession(bytes, { threads: 1, optLevel: 'disabled' }, label);
  } catch (e) {
    return { error: firstLine((e as Error).message) };
  }
  try {
    const feeds: Record<string, ort.Tensor> = {};
    const byName = inputs.every((t) => t.name && session.inputNames.includes(t.name));
    inputs.forEach((t, i) => (feeds[byName ? t.name : session.inputNames[i]] = toOrtTensor(t)));
    let result: Record<string, ort.Tensor>;
    try {
      result = await session.run(feeds);
    } catch (e) {
      return { error: firstLine((e as Error).message) };
    }
    const outputs = session.outputNames.map((n) => fromOrtTensor(result[n]));
    for (let i = 0; i < expected.length; i++) {
      const why = compareTensors(outputs[i], expected[i], BACKEND_TOL);
      if (why) return { mismatch: `output ${i} '${session.outputNames[i]}': ${why}`, outputs };
    }
    return { outputs };
  } finally {
    await session.release();
  }
}

const firstLine = (s: string): string => s.split('\n')[0].slice(0, 300);

async function judge(c: Case, original: Uint8Array, roundTripped: Uint8Array, model: Model): Promise<Verdict> {
  const inputFiles = dataFiles(c.dir, 'input');
  const outputFiles = dataFiles(c.dir, 'output');
  if (!outputFiles.length) return { kind: 'unfeedable', detail: 'no reference outputs' };
  const why = unfeedable(model, inputFiles.length);
  if (why) return { kind: 'unfeedable', detail: why };
  const inputs = inputFiles.map(readTensorProto);
  const expected = outputFiles.map(readTensorProto);
  const rt = await runOrt(roundTripped, inputs, expected, `${c.id} (re-encoded)`);
  if (!rt.error && !rt.mismatch) return { kind: 'ok' };
  const orig = await runOrt(original, inputs, expected, c.id);
  if (orig.error) return { kind: 'ort-unsupported', detail: orig.error };
  if (rt.error) return { kind: 'kiln-failure', detail: `onnxruntime runs the original but not the re-encoded model: ${rt.error}` };
  if (!orig.mismatch) return { kind: 'kiln-failure', detail: `the original matches the reference, the re-encoded model does not: ${rt.mismatch}` };
  // Both disagree with the reference: onnxruntime's numerics (or a random op). They must at least
  // agree with each other, unless the op is nondeterministic (then the checker's proto comparison
  // is the proof).
  const same = orig.outputs!.every((t, i) => compareTensors(rt.outputs![i], t, BACKEND_TOL) === null);
  return { kind: 'ort-disagrees', detail: `${orig.mismatch}${same ? '' : ' (and the two runs differ from each other: nondeterministic op?)'}` };
}

test('libonnx-testdata models survive load → save → load (onnxruntime outputs, onnx.checker, lossless proto)', { timeout: 15 * 60_000 }, async (t) => {
  if (!existsSync(ROOT)) return t.skip(`${ROOT} not found (apt-get install libonnx-testdata)`);
  const cases = findCases();
  assert.ok(cases.length > 900, `expected ~1,000 models under ${ROOT}, found ${cases.length}`);
  const tmp = mkdtempSync(join(tmpdir(), 'kiln-backend-rt-'));
  const t0 = performance.now();
  try {
    const checker = startChecker();
    const checked: { c: Case; rtFile: string }[] = [];
    const verdicts = new Map<string, Verdict>();
    for (const c of cases) {
      const original = readFileSync(c.file);
      let roundTripped: Uint8Array;
      let model: Model;
      try {
        model = decodeModel(original, { file: c.file, baseDir: dirname(c.file) });
        roundTripped = encodeModel(model);
        const again = encodeModel(decodeModel(roundTripped, { file: `${c.file} (re-encoded)`, baseDir: dirname(c.file) }));
        if (Buffer.compare(Buffer.from(roundTripped), Buffer.from(again)) !== 0) {
          verdicts.set(c.id, { kind: 'kiln-failure', detail: 'encode(decode(encode(decode(file)))) differs from encode(decode(file)): the round trip is not idempotent' });
          continue;
        }
      } catch (e) {
        verdicts.set(c.id, { kind: 'kiln-failure', detail: `load/save failed: ${firstLine((e as Error).message)}` });
        continue;
      }
      const rtFile = join(tmp, `${c.id.replace('/', '__')}.onnx`);
      writeFileSync(rtFile, roundTripped);
      if (!('unavailable' in checker)) {
        checker.add(c.file, rtFile);
        checked.push({ c, rtFile });
      }
      verdicts.set(c.id, await judge(c, original, roundTripped, model));
    }
    const ortMs = performance.now() - t0;

    const failures: string[] = [];
    let checkerSkipped = 0, notSame = 0, origRejected = 0;
    if ('unavailable' in checker) {
      checkerSkipped = cases.length;
      t.diagnostic(`onnx.checker skipped: ${checker.unavailable}`);
    } else {
      const results = await checker.finish();
      assert.equal(results.length, checked.length, 'the checker answered for every model');
      results.forEach((r, i) => {
        const { c } = checked[i];
        if (r.orig === 0) origRejected++;
        if (r.rt < r.orig) failures.push(`${c.id}: onnx.checker accepts the original (level ${r.orig}) but not the re-encoded model (level ${r.rt}): ${r.rt_error || r.orig_error}`);
        if (!r.same) {
          notSame++;
          failures.push(`${c.id}: the re-encoded model is not the same protobuf as the original:\n${r.diff}`);
        }
      });
    }
    for (const [id, v] of verdicts) if (v.kind === 'kiln-failure') failures.push(`${id}: ${v.detail}`);

    const count = (k: Verdict['kind']): number => [...verdicts.values()].filter((v) => v.kind === k).length;
    const list = (k: Verdict['kind']): string => [...verdicts].filter(([, v]) => v.kind === k).map(([id, v]) => `    ${id}: ${'detail' in v ? v.detail : ''}`).join('\n');
    const summary = [
      `libonnx-testdata round trip: ${cases.length} models; onnxruntime ran and matched the reference for ${count('ok')}`,
      `  ort-unsupported (onnxruntime rejects the ORIGINAL too): ${count('ort-unsupported')}`,
      `  ort-disagrees (original and re-encoded both differ from the reference): ${count('ort-disagrees')}`,
      `  unfeedable (sequence/optional/bfloat16 I/O onnxruntime-node cannot pass): ${count('unfeedable')}`,
      `  onnx.checker: ${checkerSkipped ? `skipped for ${checkerSkipped}` : `${checked.length} checked, ${origRejected} originals rejected by the checker, ${notSame} not proto-identical`}`,
      `  kiln failures: ${failures.length}; time ${(ortMs / 1000).toFixed(1)} s for load/save/ort, ${((performance.now() - t0) / 1000).toFixed(1)} s total`,
    ].join('\n');
    console.log(summary);
    if (process.env.KILN_VERBOSE_TESTS) console.log(`ort-unsupported:\n${list('ort-unsupported')}\nort-disagrees:\n${list('ort-disagrees')}\nunfeedable:\n${list('unfeedable')}`);
    assert.deepEqual(failures.slice(0, 40), [], `${failures.length} round-trip failures`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
