import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { fromHalfBits, randomFeeds, randomTensor, resolveInputs, toHalfBits, toNumbers } from '../../src/bench/inputs.js';
import { createSession } from '../../src/runtime/session.js';
import { benchModels } from './models.js';

test('resolveInputs lists every dynamic dim that needs a value', async (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const s = await createSession(m.tinyCnnDyn);
  try {
    assert.throws(
      () => resolveInputs(s.inputMetadata, {}, 'dyn'),
      (e: Error) => e instanceof UsageError && /x\[0\] \(N\)/.test(e.message) && /x\[2\] \(H\)/.test(e.message) && /x\[3\] \(W\)/.test(e.message) && /--input-shape x=<N>x3x<H>x<W>/.test(e.message),
    );
    // batch and image size fill the same dims; what is left is named
    assert.throws(() => resolveInputs(s.inputMetadata, { batch: 2 }, 'dyn'), (e: Error) => !/x\[0\]/.test(e.message) && /x\[2\] \(H\)/.test(e.message));
    assert.deepEqual(resolveInputs(s.inputMetadata, { batch: 2, image: { width: 64, height: 48 } }), [{ name: 'x', type: 'float32', shape: [2, 3, 48, 64] }]);
    assert.deepEqual(resolveInputs(s.inputMetadata, { shapes: { x: [1, 3, 8, 16] }, batch: 4 })[0].shape, [4, 3, 8, 16]);
    assert.throws(() => resolveInputs(s.inputMetadata, { shapes: { y: [1, 3, 8, 8] } }), /model's inputs are x/);
    assert.throws(() => resolveInputs(s.inputMetadata, { shapes: { x: [1, 3, 8] } }), /rank 3.*rank 4/);
    assert.throws(() => resolveInputs(s.inputMetadata, { shapes: { x: [1, 4, 8, 8] } }), /dim 1 to 4.*fixes it at 3/);
  } finally {
    await s.release();
  }
  const fixed = await createSession(m.tinyCnn);
  try {
    assert.deepEqual(resolveInputs(fixed.inputMetadata)[0].shape, [1, 3, 32, 32]);
    assert.throws(() => resolveInputs(fixed.inputMetadata, { batch: 2 }), /fixed batch dimension of 1/);
  } finally {
    await fixed.release();
  }
});

test('random inputs are seeded, typed and in range', () => {
  const spec = { name: 'x', type: 'float32' as const, shape: [2, 3, 4] };
  const a = randomTensor(spec, 7).data as Float32Array;
  const b = randomTensor(spec, 7).data as Float32Array;
  const c = randomTensor(spec, 8).data as Float32Array;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.ok(a.every((v) => v >= 0 && v < 1));
  // FP16 inputs carry the same values, rounded to half precision
  const h = toNumbers(randomTensor({ ...spec, type: 'float16' }, 7));
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(h[i] - a[i]) <= 2 ** -11, `index ${i}: ${h[i]} vs ${a[i]}`);
  const i64 = randomTensor({ name: 'k', type: 'int64', shape: [100] }, 1).data as BigInt64Array;
  assert.ok(i64.every((v) => v >= 0n && v < 10n));
  const u8 = randomTensor({ name: 'u', type: 'uint8', shape: [1000] }, 1).data as Uint8Array;
  assert.ok(Math.max(...u8) > 200, 'uint8 covers its range');
  const bools = randomTensor({ name: 'b', type: 'bool', shape: [100] }, 1).data as Uint8Array;
  assert.ok(bools.every((v) => v === 0 || v === 1));
  assert.throws(() => randomTensor({ name: 's', type: 'string', shape: [1] }, 1), UsageError);
  // two inputs of one model get different streams
  const feeds = randomFeeds([spec, { ...spec, name: 'y' }], 3);
  assert.notDeepEqual(feeds.x.data, feeds.y.data);
});

test('float16 conversion: known bit patterns and exact round trip of every half', () => {
  const known: [number, number][] = [[1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [1e5, 0x7c00], [2 ** -24, 0x0001], [0.1, 0x2e66], [0, 0], [-0, 0x8000], [2 ** -25, 0]];
  for (const [v, bits] of known) assert.equal(toHalfBits(v), bits, `${v} → 0x${toHalfBits(v).toString(16)}, want 0x${bits.toString(16)}`);
  assert.ok(Number.isNaN(fromHalfBits(toHalfBits(NaN))));
  for (let h = 0; h < 0x10000; h++) {
    const v = fromHalfBits(h);
    if (Number.isNaN(v)) continue;
    assert.equal(toHalfBits(v), h, `half 0x${h.toString(16)} = ${v}`);
  }
  // ties round to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10
  assert.equal(toHalfBits(1 + 2 ** -11), 0x3c00);
  assert.equal(toHalfBits(1 + 3 * 2 ** -11), 0x3c02);
});

test('a named dim given in one input fills it in the others; two values for one name are refused', async () => {
  const s = await createSession(new URL('../../models/kiln-vfi.onnx', import.meta.url).pathname);
  try {
    const specs = resolveInputs(s.inputMetadata, { shapes: { img0: [2, 3, 48, 64] } }, 'kiln-vfi');
    assert.deepEqual(specs.map((x) => [x.name, x.shape]), [['img0', [2, 3, 48, 64]], ['img1', [2, 3, 48, 64]], ['timestep', [2, 1, 1, 1]], ['scale', [1]]]);
    assert.throws(
      () => resolveInputs(s.inputMetadata, { shapes: { img0: [1, 3, 48, 64], img1: [1, 3, 32, 64] } }, 'kiln-vfi'),
      (e: Error) => e instanceof UsageError && /dim H two values: 48 \(img0\) and 32 \(img1\)/.test(e.message),
    );
    // --batch replaces every dynamic dim 0, whatever the shapes say; scale's fixed [1] stays
    const batched = resolveInputs(s.inputMetadata, { shapes: { img0: [1, 3, 48, 64] }, batch: 3 }, 'kiln-vfi');
    assert.deepEqual(batched.map((x) => x.shape), [[3, 3, 48, 64], [3, 3, 48, 64], [3, 1, 1, 1], [1]]);
  } finally {
    await s.release();
  }
});
