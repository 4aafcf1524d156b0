// The README's main job must keep working: `kiln demo` on a fresh checkout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { kiln } from '../helpers/cli.js';

const missing = (): string | null => {
  if (spawnSync('ffmpeg', ['-version']).error) return 'ffmpeg absent (apt-get install ffmpeg)';
  if (!existsSync('/usr/share/backgrounds/mate/nature/Storm.jpg') && !existsSync('/usr/share/backgrounds/mate/nature/Wood.jpg')) return 'mate-backgrounds absent';
  if (!existsSync(new URL('../../models/kiln-vfi.onnx', import.meta.url))) return 'models/kiln-vfi.onnx absent';
  return null;
};

test('kiln demo optimizes the shipped model (verified) and doubles the sample clip’s frame rate', { timeout: 600_000 }, (t) => {
  const why = missing();
  if (why) return t.skip(why);
  const r = kiln(['demo', '--json'], { timeoutMs: 590_000 });
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.ok(j.optimization.after.nodes < j.optimization.before.nodes, 'the optimizer removed nodes');
  assert.equal(j.optimization.verification.ok, true);
  assert.equal(j.interpolation.outputRate, '60');
  assert.equal(j.interpolation.framesOut, 2 * j.interpolation.framesIn);
  assert.deepEqual(j.interpolation.streamsCopied, ['audio #1 (aac)']);
  assert.ok(existsSync(j.interpolation.output));
});
