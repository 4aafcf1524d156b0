// kiln bench through the real command line: exit codes, messages, --json and --html output.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Report } from '../../src/report/types.js';
import { kiln } from '../bench/cli.js';
import { benchModels } from '../bench/models.js';

test('kiln bench: bad usage exits 2 with a message naming the problem', (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const cases: [string[], RegExp][] = [
    [['--iterations', '0'], /--iterations must be a positive integer, got '0'/],
    [['--threads', '-1'], /--threads expects .* non-negative integers, got '-1'/],
    [['--threads', '1,-2'], /--threads expects/],
    [['--profile', 'nope'], /unknown profile 'nope'; known profiles: server-cpu, server-gpu, edge, browser-wasm/],
    [['--ep', 'tpu'], /--ep must be one of cpu, cuda, tensorrt, webgpu/],
    [['--iterations', '5', '--duration', '1'], /either --iterations or --duration/],
    [['--batch', '0'], /--batch expects/],
    [['--latency-budget', '5'], /only applies with --batch auto/],
  ];
  for (const [args, message] of cases) {
    const r = kiln('bench', m.tinyCnn, '--no-memory', ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}, stderr ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
  const dyn = kiln('bench', m.tinyCnnDyn, '--no-memory');
  assert.equal(dyn.status, 2);
  assert.match(dyn.stderr, /dynamic input dimensions need values: x\[0\] \(N\).*x\[2\] \(H\).*x\[3\] \(W\)/);
});

test('kiln bench: a provider that is not installed fails (exit 1) naming it', (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const cuda = kiln('bench', m.tinyCnn, '--ep', 'cuda', '--no-memory');
  if (cuda.status === 0) return t.skip('CUDA provider is installed here');
  assert.equal(cuda.status, 1);
  assert.match(cuda.stderr, /'cuda' execution provider is not installed \(missing .*libonnxruntime_providers_cuda\.so\)/);
  const wasm = kiln('bench', m.tinyCnn, '--profile', 'browser-wasm', '--no-memory');
  assert.equal(wasm.status, 1);
  assert.match(wasm.stderr, /onnxruntime-node has no 'wasm' execution provider/);
});

test('kiln bench: table on stdout, --json report, --html and --markdown files', (t) => {
  const m = benchModels();
  if (typeof m === 'string') return t.skip(m);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-cli-bench-'));
  try {
    const html = path.join(dir, 'r.html');
    const md = path.join(dir, 'r.md');
    const r = kiln('bench', m.tinyCnn, m.addOne, '--iterations', '5', '--warmup', '1', '--no-memory', '--json', '--html', html, '--markdown', md);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.schema, 'kiln-report/1');
    const rows = report.sections[0].table?.rows ?? [];
    assert.deepEqual(rows.map((x) => x.model), ['tiny_cnn.onnx', 'add_one.onnx']);
    assert.equal((report.raw?.runs as { samplesMs: number[] }[])[1].samplesMs.length, 5);
    assert.ok(readFileSync(html, 'utf8').includes('<script type="application/json" id="kiln-report">'));
    assert.match(readFileSync(md, 'utf8'), /\| tiny_cnn\.onnx \| default \| 1 \|/);
    assert.deepEqual(existsSync(html) && existsSync(md), true);

    const text = kiln('bench', m.tinyCnn, '--iterations', '3', '--no-memory');
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^machine: .*onnxruntime-node 1\.30\.0/m);
    assert.match(text.stdout, /^tiny_cnn\.onnx\s+default\s+1\s+/m);
    assert.match(text.stderr, /kiln bench: measuring tiny_cnn\.onnx/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
