import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { compareOutputs, pipeline } from '../../src/bench/pipeline.js';
import { torchUnavailable } from '../../src/bench/peers/torch.js';
import { STAGES } from '../../src/bench/stages.js';
import { KilnError } from '../../src/errors.js';
import { getProfile } from '../../src/runtime/profiles.js';
import { benchModels } from './models.js';

/** Sigmoid outputs in [0, 1] through two 3×3 convs in half precision: measured 3.3e-5 here. */
const FP16_ABS = 1e-3;

test('compareOutputs: max/mean abs error, SNR, NaN counts as the worst error', () => {
  const ref = [Float64Array.from([1, 2, 3, 4])];
  assert.deepEqual(compareOutputs([Float64Array.from([1, 2, 3, 4])], ref), { maxAbs: 0, meanAbs: 0, snrDb: null });
  const q = compareOutputs([Float64Array.from([1, 2, 3, 5])], ref);
  assert.equal(q.maxAbs, 1);
  assert.equal(q.meanAbs, 0.25);
  assert.ok(Math.abs((q.snrDb as number) - 10 * Math.log10(30)) < 1e-12);
  assert.equal(compareOutputs([Float64Array.from([1, 2, 3, NaN])], ref).maxAbs, Infinity);
  assert.throws(() => compareOutputs([], ref), /0 outputs/);
});

test('pipeline: every stage is a row; stages that ran are measured and compared with PyTorch eager', async (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const noTorch = torchUnavailable();
  const r = await pipeline({ model: m.tinyCnnDyn, profile: getProfile('edge'), torch: noTorch ? undefined : m.torchDef, shapes: { x: [1, 3, 32, 48] }, warmup: 1, iterations: 5, holdout: 2 });
  assert.equal(r.kind, 'pipeline');
  const rows = r.sections[0].table?.rows ?? [];
  const stages = r.raw?.stages as { id: string; skipped: string | null; samplesMs: number[] | null }[];
  assert.deepEqual(stages.map((s) => s.id), ['original', ...(noTorch ? [] : ['torchscript']), 'ort-defaults', ...STAGES.map((s) => s.id), 'combined']);
  for (const [i, s] of stages.entries()) {
    if (s.skipped) {
      // a stage that did not run has no numbers and says why
      assert.equal(rows[i].fps, null);
      assert.match(String(rows[i].note), /^not run: /);
      assert.equal(s.samplesMs, null);
    } else {
      assert.equal(s.samplesMs?.length, 5);
      assert.ok((rows[i].fps as number) > 0);
    }
  }
  const byId = (id: string) => rows[stages.findIndex((s) => s.id === id)];
  assert.ok(!stages.find((s) => s.id === 'tune')?.skipped, 'the tuned-session stage always runs');
  if (!noTorch) {
    assert.equal(byId('original').speedup, 1);
    // the PyTorch rows say how many threads PyTorch used (its default need not be onnxruntime's)
    assert.match(String(byId('original').note), /; \d+ threads? \(PyTorch's default\)$/);
    // FP32 onnxruntime vs PyTorch eager on held-out inputs: same function up to float rounding
    for (const id of ['ort-defaults', 'tune']) assert.ok((byId(id).maxAbs as number) < 1e-4, `${id} max abs ${byId(id).maxAbs}`);
  }
  // Rewrites that ran must keep the function: FP32 passes to float rounding, FP16 to half precision.
  const ran = (id: string) => !stages.find((s) => s.id === id)?.skipped;
  const ref = noTorch ? null : 'original';
  if (ref && ran('optimize')) assert.ok((byId('optimize').maxAbs as number) < 1e-4, `optimize max abs ${byId('optimize').maxAbs}`);
  // tinyCnnDyn has dynamic H and W: the specialised and the dynamic optimized forms were both
  // verified and timed against each other, and the note says which one was kept and why
  if (ran('optimize')) assert.match(String(byId('optimize').note), /verified; (specialised to the input shapes \([\d.]+× the speed of keeping dims dynamic|input dims kept dynamic \(specialised to the input shapes it ran [\d.]+× slower), 8 paired runs at the measured size\)$/);
  if (ref && ran('quantize')) assert.ok((byId('quantize').maxAbs as number) < FP16_ABS, `fp16 max abs ${byId('quantize').maxAbs}`);
  // INT8 needs --calib, so without it the quantize stage cannot run for server-cpu
  const edgeQuant = stages.find((s) => s.id === 'quantize');
  if (edgeQuant?.skipped) assert.ok(r.notes.some((n) => n.includes('INT8 / FP16: not run')));
});

test('pipeline skip: a stage left out says why, and the combined row goes on without it', async (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const r = await pipeline({ model: m.tinyCnnDyn, profile: getProfile('edge'), shapes: { x: [1, 3, 32, 48] }, warmup: 0, iterations: 2, holdout: 1, skip: { optimize: 'too large for this machine' } });
  const stages = r.raw?.stages as { id: string; skipped: string | null; note: string }[];
  assert.equal(stages.find((s) => s.id === 'optimize')?.skipped, 'skipped: too large for this machine');
  const combined = stages.find((s) => s.id === 'combined')!;
  assert.equal(combined.skipped, null);
  assert.match(combined.note, /without optimize: skipped: too large for this machine/);
  assert.ok(!/optimize →/.test(combined.note.split(' (without')[0]), combined.note);
});

test('pipeline: a profile whose provider is missing fails naming it', async (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  await assert.rejects(pipeline({ model: m.tinyCnn, profile: getProfile('browser-wasm'), warmup: 0 }), (e: Error) => e instanceof KilnError && /wasm/.test(e.message));
  const cpu = getProfile('server-cpu');
  const stage = STAGES.find((s) => s.id === 'quantize');
  assert.match(String(await stage?.load({ profile: cpu })), /--calib/);
});

test('pipeline server-cpu with --calib images: the INT8 stage runs (once src/quantize is there) and stays close', async (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const photos = '/usr/share/backgrounds/mate/nature';
  if (!existsSync(photos)) return t.skip(`${photos} is missing (apt-get install mate-backgrounds)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-calib-'));
  try {
    for (const f of readdirSync(photos).filter((f) => f.endsWith('.jpg')).slice(0, 5)) symlinkSync(path.join(photos, f), path.join(dir, f));
    // 5 photos, 2 held out, calibration capped at 2 of the remaining 3; stages measured one at a
    // time, every session without the memory arena (as the DAIN bench runs)
    const r = await pipeline({ model: m.tinyCnnDyn, profile: getProfile('server-cpu'), calibDir: dir, shapes: { x: [1, 3, 32, 32] }, batch: 1, warmup: 0, iterations: 3, holdout: 2, calibCount: 2, oneAtATime: true, baseSession: { memArena: false } });
    assert.ok(r.notes.some((n) => /measured one at a time .* reference median ÷ stage median/.test(n)), JSON.stringify(r.notes));
    assert.ok(r.notes.some((n) => /Every onnxruntime row \("defaults" included\) ran with memArena = false/.test(n)), JSON.stringify(r.notes));
    assert.equal(r.settings.oneAtATime, true);
    const stages = r.raw?.stages as { id: string; skipped: string | null }[];
    const q = stages.findIndex((s) => s.id === 'quantize');
    const row = r.sections[0].table?.rows[q];
    if (stages[q].skipped) {
      assert.match(stages[q].skipped ?? '', /src\/quantize\/index\.ts (does not exist yet|does not export|failed to load)|^failed: /);
      return t.skip(`quantize stage not run: ${stages[q].skipped}`);
    }
    assert.match(String(row?.note), /INT8 .*calibration: 5 images .* at 32×32, unit preprocessing \(the first 2 samples; the rest held out for quality\)/);
    // quality is measured on the 2 held-out photos, not on random noise
    assert.ok(r.notes.some((n) => /Quality: outputs on the last 2 samples of .* \(real images, held out of calibration\)/.test(n)), JSON.stringify(r.notes));
    // sigmoid outputs in [0, 1]: INT8 on held-out photos stays within a few quantization steps
    assert.ok((row?.maxAbs as number) < 0.1, `int8 max abs ${row?.maxAbs}`);
    await assert.rejects(pipeline({ model: m.tinyCnnDyn, profile: getProfile('server-cpu'), calibDir: dir, calibPreset: 'nope', shapes: { x: [1, 3, 32, 32] }, warmup: 0, iterations: 1 }), /--calib-preset must be one of/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
