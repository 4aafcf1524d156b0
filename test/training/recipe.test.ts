// The Python recipe's own unit tests (training/tests: data generator, model, metrics, checkpoint
// handling, torch_def.py) run with Debian's PyTorch as part of npm test; skipped with the reason
// when that interpreter or torch is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const PYTHON = '/usr/bin/python3';
const REPO = path.resolve(import.meta.dirname, '../..');

test('training recipe unit tests (python3 -m unittest discover -s training/tests)', (t) => {
  if (!existsSync(PYTHON)) return t.skip(`${PYTHON} is absent`);
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) return t.skip(`${PYTHON} has no torch/numpy (apt-get install python3-torch python3-numpy)`);
  const r = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', 'training/tests', '-t', 'training'], { cwd: REPO, encoding: 'utf8', timeout: 300_000 });
  const summary = r.stderr.trim().split('\n').slice(-3).join(' | ') || (r.error?.message ?? 'no output');
  assert.equal(r.status, 0, `unittest failed: ${r.stderr.slice(-3000)}`);
  t.diagnostic(summary);
});
