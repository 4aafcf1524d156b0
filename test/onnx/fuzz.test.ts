// Loader fuzz test: thousands of seeded, mutated copies of real models (bit flips, truncations,
// byte insertions and overwrites, and wire-format field swaps / retags / re-typing / duplication /
// drops / extreme varints) fed to decodeModel and loadModel. Every case must either load (and
// then save and load again) or fail with a ModelError: no other exception, no hang (a watchdog
// bounds each case; a worker thread lets it stop a stuck one), no unhandled rejection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { MUTATIONS, caseOf, mutate, rng, type FuzzInput, type FuzzMessage } from './fuzz-mutate.js';
import { addModel, convModel, externalTensor } from './proto-helpers.js';

const SEED = Number(process.env.KILN_FUZZ_SEED ?? 20261201);
const CASES = Number(process.env.KILN_FUZZ_CASES ?? 3000);
/** A single decode of these small models takes well under 50 ms; 10 s means stuck. */
const CASE_LIMIT_MS = 10_000;
const TESTDATA = '/usr/share/libonnx-testdata/data';
// Workers do not inherit `--import tsx`; a tiny ESM bootstrap registers tsx, then loads the worker.
const WORKER_BOOT = new URL(
  `data:text/javascript,${encodeURIComponent(`import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(new URL('./fuzz-worker.ts', import.meta.url).href)});`)}`,
);
// Small models that between them hold subgraphs (If, Loop, Scan), recurrent ops, strings,
// sequences/optionals, typed-field tensors, float16/bfloat16, functions expanded inline.
const BACKEND = [
  'node/test_conv_with_strides_padding', 'node/test_lstm_defaults', 'node/test_if', 'node/test_loop11', 'node/test_scan9_sum',
  'node/test_cast_FLOAT_to_STRING', 'node/test_constant', 'node/test_resize_upsample_scales_linear', 'node/test_optional_get_element_sequence',
  'node/test_castlike_FLOAT_to_BFLOAT16_expanded', 'node/test_range_float_type_positive_delta_expanded', 'node/test_slice', 'pytorch-converted/test_Conv2d',
  'simple/test_sequence_model1',
];

test(`loader fuzz: ${CASES} mutated models → load or ModelError, never a crash or hang (seed ${SEED})`, { timeout: 10 * 60_000 }, async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'kiln-fuzz-'));
  try {
    // An external-data model whose data file really exists, so mutations reach the file checks.
    writeFileSync(join(scratch, 'w.bin'), new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer));
    const sources: FuzzInput['sources'] = [
      { name: 'conv (kiln-built)', bytes: convModel(7) },
      { name: 'external data', bytes: addModel(externalTensor('W', [2, 3], 'w.bin', 0, 24)) },
    ];
    for (const b of BACKEND) {
      const f = join(TESTDATA, b, 'model.onnx');
      if (existsSync(f)) sources.push({ name: b, bytes: readFileSync(f) });
    }
    if (sources.length < 5) console.log(`libonnx-testdata not found under ${TESTDATA}: fuzzing kiln-built models only`);

    // The mutator itself: structure-aware mutations start from an exact re-serialization.
    const same = mutate(sources[0].bytes, 'swap', () => 0);
    assert.equal(same.byteLength, sources[0].bytes.byteLength, 'swapping a field with itself keeps the size');
    assert.deepEqual(caseOf({ sources, seed: SEED }, 5).bytes, caseOf({ sources, seed: SEED }, 5).bytes, 'cases are deterministic');
    assert.notDeepEqual(mutate(sources[0].bytes, 'bitflip', rng(1)), sources[0].bytes);

    const failures: string[] = [];
    const unhandled: string[] = [];
    let accepted = 0, done = 0, slowest = 0;
    const perKind = new Map<string, { n: number; accepted: number }>();
    let next = 0;
    while (next < CASES) {
      // Run [next, CASES) in a worker; if a case hangs, record it and continue after it.
      const from = next;
      const input: FuzzInput = { sources, seed: SEED, from, to: CASES, fileEvery: 10, scratch };
      await new Promise<void>((resolve, reject) => {
        const worker = new Worker(WORKER_BOOT, { workerData: input });
        let current = from;
        let started = false;
        let timer: NodeJS.Timeout | undefined;
        worker.on('message', (m: FuzzMessage) => {
          if (m.type === 'start') {
            current = m.i;
            started = true;
            timer = setTimeout(() => {
              const c = caseOf(input, m.i);
              failures.push(`case ${m.i} (${c.kind} of ${c.source}): no answer after ${CASE_LIMIT_MS / 1000} s (hang)`);
              next = m.i + 1;
              void worker.terminate();
            }, CASE_LIMIT_MS);
          } else if (m.type === 'done') {
            clearTimeout(timer);
            done++;
            next = m.i + 1;
            slowest = Math.max(slowest, m.ms);
            const c = caseOf(input, m.i);
            const k = perKind.get(c.kind) ?? { n: 0, accepted: 0 };
            k.n++;
            if (m.accepted) {
              accepted++;
              k.accepted++;
            }
            perKind.set(c.kind, k);
            if (m.failure) failures.push(`case ${m.i} (${c.kind} of ${c.source}): ${m.failure}`);
          } else unhandled.push(m.detail);
        });
        worker.on('error', (e) => {
          clearTimeout(timer);
          if (!started) return reject(new Error(`the fuzz worker did not start: ${e.stack ?? e}`));
          const c = caseOf(input, current);
          failures.push(`case ${current} (${c.kind} of ${c.source}): the worker crashed: ${e.stack ?? e}`);
          next = current + 1;
        });
        worker.on('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const kinds = MUTATIONS.map((k) => `${k} ${perKind.get(k)?.accepted ?? 0}/${perKind.get(k)?.n ?? 0}`).join(', ');
    console.log(`fuzz: ${done} cases over ${sources.length} models, ${accepted} still loadable (by mutation: ${kinds}); slowest case ${slowest.toFixed(1)} ms`);
    assert.deepEqual(unhandled, [], 'no unhandled rejections');
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failing cases (rerun one with KILN_FUZZ_SEED=${SEED})`);
    assert.equal(done, CASES);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
