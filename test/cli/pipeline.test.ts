import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { torchUnavailable } from '../../src/bench/peers/torch.js';
import type { Report } from '../../src/report/types.js';
import { benchModels } from '../bench/models.js';
import { kiln } from '../bench/cli.js';

test('kiln pipeline: needs a known --profile (exit 2)', (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const none = kiln('pipeline', m.tinyCnn);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /needs --profile/);
  const bad = kiln('pipeline', m.tinyCnn, '--profile', 'phone');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown profile 'phone'/);
  const torch = kiln('pipeline', m.tinyCnn, '--profile', 'edge', '--torch', 'model.onnx');
  assert.equal(torch.status, 2);
  assert.match(torch.stderr, /--torch expects path\/to\/model\.py/);
});

test('kiln pipeline: writes report.json, report.md and report.html with every stage', (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-cli-pipeline-'));
  try {
    const torch = torchUnavailable() ? [] : ['--torch', m.torchDef];
    const r = kiln('pipeline', m.tinyCnnDyn, '--profile', 'edge', '--input-shape', 'x=1x3x24x24', '--iterations', '3', '--warmup', '1', '--holdout', '1', '--no-arena', '-o', dir, ...torch);
    assert.equal(r.status, 0, r.stderr);
    for (const f of ['report.json', 'report.md', 'report.html']) assert.ok(existsSync(path.join(dir, f)), f);
    const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as Report;
    const stages = (report.raw?.stages as { id: string }[]).map((s) => s.id);
    for (const id of ['original', 'ort-defaults', 'optimize', 'quantize', 'tune', 'combined']) assert.ok(stages.includes(id), id);
    const md = readFileSync(path.join(dir, 'report.md'), 'utf8');
    assert.match(md, /\| onnxruntime defaults \|/);
    // --no-arena: every row without the arena, and the tuned row says so too
    assert.match(md, /Every onnxruntime row \("defaults" included\) ran with memArena = false/);
    assert.match(md, /arena off/);
    assert.match(r.stdout, /report: .*report\.html/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
