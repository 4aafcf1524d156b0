// Shared by the pass tests: build a small model, run one pass (or several), and check the three
// things every pass test checks — structure, equivalence on onnxruntime, unchanged when a
// precondition fails — plus verify() after every pass.
import assert from 'node:assert/strict';
import { ModelBuilder } from '../../src/ir/builder.js';
import type { Model } from '../../src/ir/graph.js';
import { verify } from '../../src/ir/verify.js';
import { decodeModel } from '../../src/onnx/read.js';
import { encodeModel } from '../../src/onnx/write.js';
import { compareModels, formatComparison, makeFeeds } from '../../src/passes/check.js';
import { optimizeGraph } from '../../src/passes/index.js';
import type { Note, PassStats } from '../../src/passes/manager.js';

export function build(f: (b: ModelBuilder) => void, opset = 17, opsets?: Record<string, number>): Model {
  const b = new ModelBuilder({ opset, opsets });
  f(b);
  return b.build();
}

/** Deterministic pseudo-random floats in [-1, 1) (weights for fixtures). */
export function rand(n: number, seed = 1): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

export interface PassRun {
  before: Uint8Array;
  after: Uint8Array;
  model: Model;
  stats: PassStats[];
  changes: number;
  notes: Note[];
}

/** Runs the named passes on `model` (in place) and checks verify() is clean afterwards. */
export function apply(model: Model, passes: string | string[], opts: { inputShapes?: Record<string, number[]> } = {}): PassRun {
  const before = encodeModel(model);
  const r = optimizeGraph(model, { passes: Array.isArray(passes) ? passes : [passes], inputShapes: opts.inputShapes });
  const problems = verify(model);
  assert.deepEqual(problems, [], `verify() after ${passes}:\n${problems.join('\n')}`);
  // The written form must load again and verify too.
  const after = encodeModel(model);
  assert.deepEqual(verify(decodeModel(after)), []);
  return { before, after, model, stats: r.stats, changes: r.changes, notes: r.notes };
}

export function ops(model: Model): string[] {
  return [...model.graph.allNodes()].map((n) => n.opType);
}

export const count = (model: Model, op: string): number => ops(model).filter((o) => o === op).length;

/** Differential check: the rewritten model computes what the original did (seeded random inputs). */
export async function assertEquivalent(run: PassRun, opts: { inputShapes?: Record<string, number[]>; seed?: number } = {}): Promise<void> {
  const reference = decodeModel(run.before);
  const feeds = makeFeeds(reference, { inputShapes: opts.inputShapes, seed: opts.seed ?? 3 });
  const r = await compareModels(run.before, run.after, feeds);
  assert.ok(r.ok, `outputs differ:\n${r.outputs.map(formatComparison).join('\n')}`);
  // Graph inputs and outputs keep their names and order.
  const m = decodeModel(run.after);
  assert.deepEqual(m.graph.inputs.map((v) => v.name), reference.graph.inputs.map((v) => v.name));
  assert.deepEqual(m.graph.outputs.map((v) => v.name), reference.graph.outputs.map((v) => v.name));
}

/** Negative test: the pass changed nothing, byte for byte. */
export function assertUnchanged(run: PassRun): void {
  assert.equal(run.changes, 0, `expected no change, got ${run.changes}`);
  assert.ok(Buffer.compare(Buffer.from(run.before), Buffer.from(run.after)) === 0, 'the written model changed');
}
