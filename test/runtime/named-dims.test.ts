import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { completeShapes, namedDimValues } from '../../src/runtime/named-dims.js';

const VFI = [
  { name: 'img0', shape: ['N', 3, 'H', 'W'] },
  { name: 'img1', shape: ['N', 3, 'H', 'W'] },
  { name: 'timestep', shape: ['N', 1, 1, 1] },
  { name: 'scale', shape: [1] },
  { name: 'other', shape: [null, 'H'] },
];

test('named dims bind from any given input; conflicts name both inputs', () => {
  assert.deepEqual([...namedDimValues(VFI, { img0: [2, 3, 48, 64] }, 'm')], [['N', 2], ['H', 48], ['W', 64]]);
  assert.deepEqual([...namedDimValues(VFI, { img0: [2, 3, 48, 64] }, 'm', true)], [['H', 48], ['W', 64]]);
  assert.throws(() => namedDimValues(VFI, { img0: [1, 3, 48, 64], timestep: [2, 1, 1, 1] }, 'm'), (e: Error) => e instanceof UsageError && /m: --input-shape gives dim N two values: 1 \(img0\) and 2 \(timestep\)/.test(e.message));
  // a given shape of the wrong rank binds nothing (the caller reports the rank)
  assert.equal(namedDimValues(VFI, { img0: [1, 3, 48] }, 'm').size, 0);
});

test('completeShapes adds every input the bound names determine, and only those', () => {
  assert.equal(completeShapes(VFI, undefined, 'm'), undefined);
  assert.deepEqual(completeShapes(VFI, { img0: [1, 3, 48, 64] }, 'm'), { img0: [1, 3, 48, 64], img1: [1, 3, 48, 64], timestep: [1, 1, 1, 1] });
  // scale has no symbolic dim (nothing to add); 'other' has an unnamed dim (stays for the caller)
  assert.deepEqual(completeShapes(VFI, { img1: [1, 3, 8, 8], other: [5, 8] }, 'm'), { img1: [1, 3, 8, 8], other: [5, 8], img0: [1, 3, 8, 8], timestep: [1, 1, 1, 1] });
});
