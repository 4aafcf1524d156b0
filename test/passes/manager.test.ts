// The fixed-point driver, the registry, optimizeModel's verification and bisection, and the
// differential comparison itself.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Tensor } from '../../src/ir/tensor.js';
import { encodeNpy, encodeTensorProto } from '../../src/onnx/tensor-file.js';
import { join } from 'node:path';
import { UsageError } from '../../src/errors.js';
import { DataType } from '../../src/ir/dtype.js';
import { Graph, tensorType, type Node } from '../../src/ir/graph.js';
import { ModelBuilder, attr } from '../../src/ir/builder.js';
import { verify } from '../../src/ir/verify.js';
import { encodeModel } from '../../src/onnx/write.js';
import { compareTensors, FP32_ABS } from '../../src/passes/check.js';
import { PASSES, REGISTRY, VerificationError, optimizeGraph, optimizeModel, selectPasses } from '../../src/passes/index.js';
import { nodePass } from '../../src/passes/types.js';
import { retarget } from '../../src/passes/util.js';
import { ort } from '../../src/runtime/session.js';
import { apply, assertEquivalent, build, count, ops, rand } from './helpers.js';

const F = DataType.FLOAT;

/** A model where every default pass has something to do. */
function busy() {
  return build((b) => {
    const x = b.input('x', F, ['N', 3, 8, 8]);
    let y = b.op('Identity', [x]);
    y = b.op('Pad', [y, b.ints('p', [0, 0, 1, 1, 0, 0, 1, 1])]);
    y = b.op('Conv', [y, b.floats('w', [4, 3, 3, 3], rand(108)), b.floats('b', [4], rand(4, 2))]);
    y = b.op('BatchNormalization', [y, b.floats('g', [4], rand(4, 3)), b.floats('be', [4], rand(4, 4)), b.floats('mu', [4], rand(4, 5)), b.floats('var', [4], rand(4, 6).map((v) => v + 2))]);
    y = b.op('Mul', [y, b.floats('s', [1, 4, 1, 1], rand(4, 7))]);
    y = b.op('Add', [y, b.floats('c', [4, 1, 1], rand(4, 8))]);
    const r1 = b.op('Relu', [y]);
    const r2 = b.op('Relu', [y]);
    y = b.op('Add', [r1, r2]);
    const n = b.op('Unsqueeze', [b.op('Gather', [b.op('Shape', [y]), b.ints('zero', [0], [])], { axis: 0 }), b.ints('ax', [0])]);
    y = b.op('Reshape', [y, b.op('Concat', [n, b.ints('m1', [-1])], { axis: 0 })]);
    y = b.op('MatMul', [y, b.op('Transpose', [b.floats('fc', [10, 256], rand(2560, 9))], { perm: [1, 0] })]);
    y = b.op('Add', [b.op('Dropout', [y]), b.floats('fcb', [10], rand(10, 10))]);
    b.floats('unused', [5], rand(5));
    b.op('Sigmoid', [x]);
    b.output(y, F);
  });
}

describe('manager', () => {
  test('runs the default pipeline to a fixed point and counts per pass', async () => {
    const m = busy();
    const r = optimizeGraph(m, { inputShapes: { x: [2, 3, 8, 8] } });
    assert.deepEqual(verify(m), []);
    assert.ok(r.converged);
    assert.ok(r.rounds >= 2, 'the last round confirms nothing is left');
    const by = Object.fromEntries(r.stats.map((s) => [s.name, s.changes]));
    for (const p of ['eliminate-identity', 'eliminate-dropout', 'fold-shapes', 'fold-constants', 'fuse-conv-bn', 'fuse-conv-mul', 'fuse-conv-add', 'fuse-pad-into-conv', 'fuse-matmul-add', 'eliminate-common-subexpressions', 'eliminate-dead-nodes', 'eliminate-unused-initializers'])
      assert.ok(by[p] > 0, `${p} changed something (${by[p]})`);
    assert.equal(r.changes, r.stats.reduce((s, p) => s + p.changes, 0));
    assert.ok(r.stats.every((s) => s.ms >= 0 && s.walks >= 1));
    assert.deepEqual(ops(m), ['Conv', 'Relu', 'Add', 'Reshape', 'Gemm']);
    // A second run finds nothing more.
    assert.equal(optimizeGraph(m, {}).changes, 0);
  });

  test('limit stops after exactly k rewrites, reproducing a prefix of the full run', () => {
    const full = optimizeGraph(busy(), { inputShapes: { x: [2, 3, 8, 8] }, trace: true });
    for (const k of [0, 1, 5, full.changes - 1]) {
      const m = busy();
      const r = optimizeGraph(m, { inputShapes: { x: [2, 3, 8, 8] }, limit: k, trace: true });
      assert.equal(r.changes, k);
      assert.deepEqual(r.trace, full.trace.slice(0, k));
      assert.deepEqual(verify(m), []);
    }
  });

  test('selectPasses keeps pipeline order and rejects unknown names', () => {
    assert.deepEqual(selectPasses(['eliminate-dead-nodes', 'fuse-conv-bn']).map((p) => p.name), ['fuse-conv-bn', 'eliminate-dead-nodes']);
    assert.ok(!selectPasses(undefined, ['fold-constants']).some((p) => p.name === 'fold-constants'));
    assert.throws(() => selectPasses(['no-such-pass']), (e: unknown) => e instanceof UsageError && /unknown pass 'no-such-pass'/.test(e.message));
  });

  test('registry key = pass name = file name, and every pass opens with Before/After/Preconditions/Formula', async () => {
    const dir = new URL('../../src/passes/', import.meta.url).pathname;
    const files = readdirSync(dir).filter((f) => /^(eliminate|fold|fuse|convert)-.*\.ts$/.test(f) && f !== 'fuse-bn-common.ts');
    const { readFileSync } = await import('node:fs');
    for (const f of files) {
      const name = f.replace(/\.ts$/, '');
      assert.ok(REGISTRY.has(name), `${f} is registered as ${name}`);
      assert.equal(REGISTRY.get(name)!.name, name);
      const head = readFileSync(join(dir, f), 'utf8').split('\n').slice(0, 12).join('\n');
      for (const k of ['Before:', 'After:', 'Preconditions:', 'Formula:']) assert.ok(head.includes(k) || (k === 'After:' && /After: /.test(head)), `${f} opens with ${k}`);
    }
    assert.equal(files.length, PASSES.length, 'every pass file is in the default pipeline');
  });
});

/** Deliberately wrong: turns every Relu into Neg. */
const breakRelu = nodePass<{ node: Node }>({
  name: 'break-relu',
  kind: 'convert',
  summary: 'test only',
  oneRun: true,
  match: (_c, n) => (n.opType === 'Relu' ? { node: n } : null),
  rewrite: (c, m) => retarget(c.graph, m.node, { op: 'Neg', inputs: [m.node.input(0)] }),
});

describe('optimizeModel', () => {
  test('verifies the result and reports per-output error', async () => {
    const { model, report } = await optimizeModel(busy(), { inputShapes: { x: [2, 3, 8, 8] } });
    assert.deepEqual(verify(model), []);
    assert.ok(report.verification?.ok);
    assert.equal(report.verification!.outputs.length, 1);
    assert.ok(report.verification!.outputs[0].maxAbs <= FP32_ABS);
    assert.equal(report.after.nodes, 5);
    assert.ok(report.before.nodes > report.after.nodes);
  });

  test('bytes in, bytes out (the pipeline stage contract)', async () => {
    const bytes = encodeModel(busy());
    const r = await optimizeModel(bytes, { inputShapes: { x: [1, 3, 8, 8] } });
    assert.ok(r.model instanceof Uint8Array);
    assert.match(r.note, /verified/);
  });

  test('a wrong rewrite is caught, not returned, and bisection names it', async () => {
    const pipeline = [REGISTRY.get('eliminate-identity')!, REGISTRY.get('fuse-conv-bn')!, breakRelu, REGISTRY.get('eliminate-dead-nodes')!];
    await assert.rejects(optimizeModel(busy(), { pipeline, inputShapes: { x: [1, 3, 8, 8] } }), (e: unknown) => {
      assert.ok(e instanceof VerificationError);
      assert.equal(e.culprit?.pass, 'break-relu');
      assert.match(e.culprit!.at, /Relu/);
      assert.match(e.message, /differs from the original.*break-relu/);
      assert.equal(e.report.verification?.ok, false, 'the report carries the failed comparison');
      return true;
    });
  });

  test('dynamic dims other than the batch need --input-shape for verification', async () => {
    const m = build((b) => {
      const x = b.input('x', F, ['N', 3, 'H', 'W']);
      b.output(b.op('Relu', [b.op('Identity', [x])]), F);
    });
    await assert.rejects(optimizeModel(m), (e: unknown) => e instanceof UsageError && /dim 2 \(H\) is dynamic; give --input-shape x=1x3xNxN/.test(e.message));
  });

  test('--inputs DIR: verification runs on the given .npy / .pb tensors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-inputs-'));
    try {
      const x = Tensor.from(F, [1, 3, 8, 8], rand(192, 42));
      writeFileSync(join(dir, 'x.npy'), encodeNpy(x));
      const r = await optimizeModel(busy(), { inputShapes: { x: [1, 3, 8, 8] }, inputsDir: dir });
      assert.deepEqual(r.report.verification!.inputs.map((i) => i.source), [join(dir, 'x.npy')]);
      rmSync(join(dir, 'x.npy'));
      writeFileSync(join(dir, 'input_0.pb'), encodeTensorProto(x, 'x'));
      const p = await optimizeModel(busy(), { inputShapes: { x: [1, 3, 8, 8] }, inputsDir: dir });
      assert.deepEqual(p.report.verification!.inputs.map((i) => i.source), [join(dir, 'input_0.pb')]);
      rmSync(join(dir, 'input_0.pb'));
      await assert.rejects(optimizeModel(busy(), { inputShapes: { x: [1, 3, 8, 8] }, inputsDir: dir }), /has no file for input 'x'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ortLevel adds onnxruntime offline output with a hardware note, still verified', async () => {
    const r = await optimizeModel(busy(), { inputShapes: { x: [1, 3, 8, 8] }, ortLevel: 'all' });
    assert.equal(r.report.ort?.level, 'all');
    assert.match(r.report.ort!.note, /tied to this hardware/);
    assert.ok(r.report.ort!.verification?.ok);
    const basic = await optimizeModel(busy(), { inputShapes: { x: [1, 3, 8, 8] }, ortLevel: 'basic' });
    assert.match(basic.report.ort!.note, /portable/);
  });
});

describe('compareTensors', () => {
  const t = (v: number[]) => new ort.Tensor('float32', Float32Array.from(v), [v.length]);
  test('NaN matches NaN, not a number; infinities must match', () => {
    assert.ok(compareTensors('y', t([NaN, Infinity, 1]), t([NaN, Infinity, 1])).ok);
    const bad = compareTensors('y', t([1, 2]), t([NaN, 2]));
    assert.ok(!bad.ok);
    assert.deepEqual(bad.worst, { index: 0, actual: 1, expected: NaN });
    assert.ok(!compareTensors('y', t([-Infinity]), t([Infinity])).ok);
  });
  test('FP32 tolerance is allclose-style and reports max abs/rel', () => {
    const c = compareTensors('y', t([1 + 5e-5, 100.05]), t([1, 100]));
    assert.ok(c.ok, 'within abs 1e-4 + rel 1e-3');
    assert.equal(c.tolerance.name, 'FP32');
    assert.ok(Math.abs(c.maxAbs - 0.05) < 1e-4);
    const f = compareTensors('y', t([1.01]), t([1]));
    assert.ok(!f.ok);
    assert.equal(f.worst?.index, 0);
  });
  test('integers must match exactly; shape differences fail', () => {
    const i = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [v.length]);
    assert.ok(!compareTensors('y', i([1, 2]), i([1, 3])).ok);
    assert.equal(compareTensors('y', i([1]), i([1])).tolerance.name, 'EXACT');
    assert.match(compareTensors('y', t([1, 2]), new ort.Tensor('float32', Float32Array.from([1, 2]), [1, 2])).problem ?? '', /shape/);
  });
});

test('passes walk subgraphs (If branches) and keep the model valid', async () => {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', F, [2]);
  const c = b.input('c', DataType.BOOL, []);
  const branch = (op: string): Graph => {
    const g = new Graph(b.graph);
    g.name = `${op}_branch`;
    const id = g.addNode({ op: 'Identity', inputs: [x] }).output(0);
    const y = g.addNode({ op, inputs: [id] }).output(0);
    y.type = tensorType(F, [2]);
    g.addOutput(y);
    return g;
  };
  b.output(b.op('If', [c], { then_branch: attr.g(branch('Relu')), else_branch: attr.g(branch('Neg')) }), F, [2]);
  const m = b.build();
  const r = apply(m, 'eliminate-identity');
  assert.equal(r.changes, 2);
  assert.equal(count(m, 'Identity'), 0);
  await assertEquivalent(r);
});
