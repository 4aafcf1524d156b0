import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Report } from '../../src/report/types.js';
import { benchModels } from '../bench/models.js';
import { kiln } from '../bench/cli.js';

test('kiln profile: op-type and node tables, --json, --html with a chart', (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-cli-profile-'));
  try {
    const html = path.join(dir, 'p.html');
    const r = kiln('profile', m.tinyCnnDyn, '--input-shape', 'x=1x3x32x32', '--iterations', '3', '--warmup', '1', '--html', html);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Time by op type/);
    assert.match(r.stdout, /^Conv\s+CPU\s+2\s+/m);
    assert.match(readFileSync(html, 'utf8'), /id="chart-ops"/);
    const j = kiln('profile', m.tinyCnn, '--iterations', '2', '--json', '--top', '1');
    assert.equal(j.status, 0, j.stderr);
    const report = JSON.parse(j.stdout) as Report;
    assert.equal(report.kind, 'profile');
    assert.equal(report.sections.find((s) => s.id === 'nodes')?.table?.rows.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kiln profile: dynamic dims and a missing file are reported', (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const dyn = kiln('profile', m.tinyCnnDyn);
  assert.equal(dyn.status, 2);
  assert.match(dyn.stderr, /x\[0\] \(N\)/);
  const missing = kiln('profile', 'no/such/model.onnx');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no\/such\/model\.onnx/);
});
