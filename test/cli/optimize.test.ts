// `kiln optimize` end to end through the real CLI entry: output written atomically, input never
// overwritten, graph I/O names and order kept, report on stdout (text and --json), exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType } from '../../src/ir/dtype.js';
import { loadModel } from '../../src/onnx/read.js';
import { encodeModel } from '../../src/onnx/write.js';
import { build, rand } from '../passes/helpers.js';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const F = DataType.FLOAT;

function kiln(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Two inputs, two outputs (order deliberately not alphabetical), a conv+BN, identities and a dynamic reshape. */
function fixture(dir: string): string {
  const m = build((b) => {
    const z = b.input('z_image', F, ['N', 3, 'H', 'W']);
    const a = b.input('a_scale', F, [1]);
    let y = b.op('Identity', [z]);
    y = b.op('Conv', [y, b.floats('w', [4, 3, 3, 3], rand(108))], { pads: [1, 1, 1, 1] });
    y = b.op('BatchNormalization', [y, b.floats('g', [4], rand(4, 2)), b.floats('be', [4], rand(4, 3)), b.floats('mu', [4], rand(4, 4)), b.floats('v', [4], rand(4, 5).map((x) => x + 2))]);
    const n = b.op('Unsqueeze', [b.op('Gather', [b.op('Shape', [y]), b.ints('zero', [0], [])], { axis: 0 }), b.ints('ax', [0])]);
    const flat = b.op('Reshape', [y, b.op('Concat', [n, b.ints('m1', [-1])], { axis: 0 })], {}, { output: 'flat' });
    b.output(b.op('Mul', [flat, a], {}, { output: 'y_scaled' }), F);
    b.output(b.op('Identity', [y], {}, { output: 'b_features' }), F);
  });
  const file = join(dir, 'model.onnx');
  writeFileSync(file, encodeModel(m));
  return file;
}

test('kiln optimize writes a verified, smaller model with the same I/O names and order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-opt-cli-'));
  try {
    const file = fixture(dir);
    const out = join(dir, 'out.onnx');
    const r = kiln('optimize', file, '-o', out, '--input-shape', 'z_image=1x3x8x8');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /model\.onnx: \d+ → \d+ nodes/);
    assert.match(r.stdout, /BatchNormalization\s+1\s+0/, 'op histogram before/after');
    assert.match(r.stdout, /fuse-conv-bn\s+fuse\s+1/, 'per-pass change count');
    assert.match(r.stdout, /y_scaled: max abs .* ok/);
    assert.match(r.stdout, /b_features: max abs .* ok/);
    const before = await loadModel(file), after = await loadModel(out);
    assert.deepEqual(after.graph.inputs.map((v) => v.name), before.graph.inputs.map((v) => v.name));
    assert.deepEqual(after.graph.outputs.map((v) => v.name), ['y_scaled', 'b_features']);
    assert.ok(after.nodeCount < before.nodeCount);
    assert.ok(![...after.graph.allNodes()].some((n) => ['Shape', 'Gather', 'Concat', 'BatchNormalization'].includes(n.opType)), 'shape chain folded, BN fused');
    assert.equal(after.irVersion, before.irVersion, 'ir_version kept as loaded');
    assert.deepEqual(readdirSync(dir).sort(), ['model.onnx', 'out.onnx'], 'no temp files left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kiln optimize --json, --passes, --skip, --no-verify', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-opt-cli-'));
  try {
    const file = fixture(dir);
    const out = join(dir, 'o.onnx');
    const r = kiln('optimize', file, '-o', out, '--input-shape', 'z_image=1x3x8x8', '--passes', 'eliminate-identity,eliminate-dead-nodes', '--json');
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.written, true);
    assert.deepEqual(j.report.passes.map((p: { name: string }) => p.name), ['eliminate-identity', 'eliminate-dead-nodes']);
    assert.equal(j.report.passes[0].changes, 1, 'the Identity before the conv goes; the one producing a graph output stays');
    assert.ok(j.report.verification.ok);
    assert.ok(j.report.notes.some((n: { reason: string }) => /graph output/.test(n.reason)));
    const s = kiln('optimize', file, '-o', out, '--input-shape', 'z_image=1x3x8x8', '--skip', 'fuse-conv-bn', '--no-verify', '--json');
    assert.equal(s.code, 0, s.stderr);
    const k = JSON.parse(s.stdout);
    assert.ok(!k.report.passes.some((p: { name: string }) => p.name === 'fuse-conv-bn'));
    assert.equal(k.report.verification, undefined);
    assert.equal(k.report.after.ops.BatchNormalization, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kiln optimize refuses to overwrite its input and rejects bad usage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-opt-cli-'));
  try {
    const file = fixture(dir);
    const bytes = readFileSync(file);
    const same = kiln('optimize', file, '-o', join(dir, '.', 'model.onnx'));
    assert.equal(same.code, 2);
    assert.match(same.stderr, /refusing to overwrite the input/);
    assert.deepEqual(readFileSync(file), bytes);
    const unknown = kiln('optimize', file, '-o', join(dir, 'x.onnx'), '--passes', 'fuse-everything');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown pass 'fuse-everything'; passes are: /);
    const dyn = kiln('optimize', file, '-o', join(dir, 'x.onnx'));
    assert.equal(dyn.code, 2, 'dynamic H/W without --input-shape cannot be verified');
    assert.match(dyn.stderr, /give --input-shape z_image=1x3xNxN/);
    assert.ok(!existsSync(join(dir, 'x.onnx')));
    const list = kiln('optimize', '--list-passes');
    assert.equal(list.code, 0);
    assert.match(list.stdout, /fuse-conv-bn\s+fuse\s+yes/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kiln optimize --ort-level all says the output is tied to this hardware', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-opt-cli-'));
  try {
    const file = fixture(dir);
    const r = kiln('optimize', file, '-o', join(dir, 'o.onnx'), '--input-shape', 'z_image=1x3x8x8', '--ort-level', 'all');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /onnxruntime all: \d+ → \d+ nodes/);
    assert.match(r.stdout, /tied to this hardware/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
