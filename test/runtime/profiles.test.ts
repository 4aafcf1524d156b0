import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { getProfile, profileUnavailable, PROFILES } from '../../src/runtime/profiles.js';
import { providerUnavailable } from '../../src/runtime/session.js';

test('the four deployment profiles, edge as specified', () => {
  assert.deepEqual(PROFILES.map((p) => p.name), ['server-cpu', 'server-gpu', 'edge', 'browser-wasm']);
  const edge = getProfile('edge');
  assert.deepEqual([edge.input, edge.batch, edge.precision, edge.threads, edge.provider], [{ width: 640, height: 480 }, 1, 'fp16', 4, 'cpu']);
  for (const p of PROFILES) {
    assert.ok(p.batch > 0 && p.threads >= 0 && p.input.width > 0 && p.input.height > 0, p.name);
    assert.ok(['fp32', 'fp16', 'int8'].includes(p.precision), p.name);
  }
});

test('unknown profile is a usage error naming the known ones', () => {
  assert.throws(() => getProfile('phone'), (e: Error) => e instanceof UsageError && e.message.includes('server-cpu, server-gpu, edge, browser-wasm'));
});

test('unavailable profiles say what is missing', () => {
  assert.equal(profileUnavailable(getProfile('server-cpu')), null);
  assert.match(profileUnavailable(getProfile('browser-wasm')) ?? '', /onnxruntime-web.*no 'wasm' execution provider/);
  const gpu = profileUnavailable(getProfile('server-gpu'));
  if (providerUnavailable('cuda')) assert.match(gpu ?? '', /needs the 'cuda' provider: .*libonnxruntime_providers_cuda\.so/);
  else assert.equal(gpu, null);
});
