// The pass registry (key = pass name = file name) and the library entry point
// `optimizeModel(model, opts) → { model, report }`: runs the selected passes to a fixed point,
// then (by default) proves the result on onnxruntime against the original; a result outside
// tolerance is never returned — the pipeline is bisected to name the rewrite that broke it.
import { KilnError, UsageError } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { inferShapes } from '../ir/shape-inference.js';
import { decodeModel } from '../onnx/read.js';
import { encodeModel } from '../onnx/write.js';
import type { OptLevel } from '../runtime/session.js';
import { compareModels, formatComparison, makeFeeds, referenceOutputs, type CheckResult } from './check.js';
import { ortLevelNote, ortOptimize } from './ort-offline.js';
import { runPasses, type AppliedChange, type Note, type PassStats } from './manager.js';
import type { Pass } from './types.js';

import convertConstantToInitializer from './convert-constant-to-initializer.js';
import convertGridsampleToDeformconv from './convert-gridsample-to-deformconv.js';
import eliminateCommonSubexpressions from './eliminate-common-subexpressions.js';
import eliminateDeadNodes from './eliminate-dead-nodes.js';
import eliminateDropout, { rules as dropoutRules } from './eliminate-dropout.js';
import eliminateDuplicateInitializers from './eliminate-duplicate-initializers.js';
import eliminateIdentity, { rules as identityRules } from './eliminate-identity.js';
import eliminateNopCast, { rules as castRules } from './eliminate-nop-cast.js';
import eliminateNopConcat, { rules as concatRules } from './eliminate-nop-concat.js';
import eliminateNopExpand, { rules as expandRules } from './eliminate-nop-expand.js';
import eliminateNopPad, { rules as padRules } from './eliminate-nop-pad.js';
import eliminateNopReshape, { rules as reshapeRules } from './eliminate-nop-reshape.js';
import eliminateNopSlice, { rules as sliceRules } from './eliminate-nop-slice.js';
import eliminateNopSplit, { rules as splitRules } from './eliminate-nop-split.js';
import eliminateNopTranspose, { rules as transposeRules } from './eliminate-nop-transpose.js';
import eliminateUnusedInitializers from './eliminate-unused-initializers.js';
import foldConstants from './fold-constants.js';
import foldShapes from './fold-shapes.js';
import foldTransposeIntoConstant from './fold-transpose-into-constant.js';
import fuseConvAdd from './fuse-conv-add.js';
import fuseConvBn from './fuse-conv-bn.js';
import fuseConvMul from './fuse-conv-mul.js';
import fuseConvtransposeBn from './fuse-convtranspose-bn.js';
import fuseMatmulAdd from './fuse-matmul-add.js';
import fusePadIntoConv from './fuse-pad-into-conv.js';
import fuseReshapes from './fuse-reshapes.js';
import fuseSqueezeUnsqueeze from './fuse-squeeze-unsqueeze.js';
import fuseTransposeIntoGemm from './fuse-transpose-into-gemm.js';
import fuseTransposes from './fuse-transposes.js';
import { rulePass, type Rule } from './rules.js';
import { completeShapes } from '../runtime/named-dims.js';

/** Every local "x → y" rule of the eliminate passes, concatenated: one walk applies them all. */
export const SIMPLIFY_RULES: readonly Rule[] = [
  ...identityRules, ...dropoutRules, ...transposeRules, ...castRules, ...concatRules, ...splitRules,
  ...padRules, ...reshapeRules, ...expandRules, ...sliceRules,
];

/** The default pipeline, in order. Folding first so that fusions see constants. */
export const PASSES: readonly Pass[] = [
  convertConstantToInitializer,
  eliminateIdentity,
  eliminateDropout,
  foldShapes,
  foldConstants,
  foldTransposeIntoConstant,
  eliminateNopTranspose,
  eliminateNopCast,
  eliminateNopReshape,
  eliminateNopExpand,
  eliminateNopPad,
  eliminateNopSlice,
  eliminateNopConcat,
  eliminateNopSplit,
  fuseConvBn,
  fuseConvtransposeBn,
  fuseConvAdd,
  fuseConvMul,
  fusePadIntoConv,
  fuseMatmulAdd,
  fuseTransposes,
  fuseTransposeIntoGemm,
  fuseReshapes,
  fuseSqueezeUnsqueeze,
  convertGridsampleToDeformconv,
  eliminateCommonSubexpressions,
  eliminateDuplicateInitializers,
  eliminateDeadNodes,
  eliminateUnusedInitializers,
];

/** Registry: name → pass. `simplify` is the rule table alone (not in the default pipeline). */
export const REGISTRY: ReadonlyMap<string, Pass> = new Map(
  [...PASSES, rulePass('simplify', 'all eliminate-nop/identity/dropout rules in one walk', SIMPLIFY_RULES)].map((p) => [p.name, p]),
);

/** The passes `--passes a,b` / `--skip c` select, in pipeline order. */
export function selectPasses(only?: readonly string[], skip: readonly string[] = []): Pass[] {
  for (const n of [...(only ?? []), ...skip]) {
    if (!REGISTRY.has(n)) throw new UsageError(`unknown pass '${n}'; passes are: ${[...REGISTRY.keys()].join(', ')}`);
  }
  const base = only ? [...REGISTRY.values()].filter((p) => only.includes(p.name)) : [...PASSES];
  return base.filter((p) => !skip.includes(p.name));
}

export interface OptimizeOptions {
  passes?: readonly string[];
  /** Explicit pass objects instead of registry names (library callers with their own passes, tests). */
  pipeline?: readonly Pass[];
  skip?: readonly string[];
  /** Fix graph input dims (`--input-shape`); the optimized model is specialised to them. */
  inputShapes?: Record<string, readonly number[]>;
  /** Input shapes to verify at when `inputShapes` is not given: dims stay dynamic in the result. */
  verifyShapes?: Record<string, readonly number[]>;
  /** Prove the result on onnxruntime (default true). */
  verify?: boolean;
  seed?: number;
  inputsDir?: string;
  foldLimit?: number;
  /** Bisect a failing pipeline to name the culprit rewrite (default true). */
  bisect?: boolean;
  /** Also run onnxruntime's offline optimizer at this level after kiln's passes. */
  ortLevel?: OptLevel;
}

export interface GraphSummary {
  nodes: number;
  initializers: number;
  ops: Record<string, number>;
}

export interface OptimizeReport {
  before: GraphSummary;
  after: GraphSummary;
  passes: PassStats[];
  rounds: number;
  converged: boolean;
  changes: number;
  notes: Note[];
  ms: number;
  shapeWarnings: string[];
  verification?: CheckResult;
  /** Set with ortLevel: what onnxruntime's optimizer did and whether the file is portable. */
  ort?: { level: OptLevel; note: string; nodesAfter: number; ops: Record<string, number>; verification?: CheckResult };
}

export function summarize(model: Model): GraphSummary {
  const ops: Record<string, number> = {};
  let nodes = 0;
  for (const n of model.graph.allNodes()) {
    const k = n.domain ? `${n.domain}.${n.opType}` : n.opType;
    ops[k] = (ops[k] ?? 0) + 1;
    nodes++;
  }
  return { nodes, initializers: model.graph.initializers.length, ops };
}

/** Thrown when the optimized model is not equivalent to the original; carries the evidence. */
export class VerificationError extends KilnError {
  override name = 'VerificationError';
  constructor(
    message: string,
    readonly report: OptimizeReport,
    readonly culprit?: AppliedChange,
  ) {
    super(message);
  }
}

/** The passes alone, in place, without verification (for callers that check themselves). */
export function optimizeGraph(model: Model, opts: OptimizeOptions & { limit?: number; trace?: boolean } = {}) {
  const passes = opts.pipeline ?? selectPasses(opts.passes, opts.skip);
  const warnings: string[] = [];
  const infer = (m: Model): void => {
    const r = inferShapes(m);
    warnings.push(...r.problems);
  };
  inferShapes(model, { inputShapes: opts.inputShapes as Record<string, number[]> | undefined });
  const r = runPasses(model, passes, { inputShapes: opts.inputShapes, foldLimit: opts.foldLimit, inferShapes: infer, limit: opts.limit, trace: opts.trace });
  return { ...r, shapeWarnings: [...new Set(warnings)] };
}

export async function optimizeModel(model: Model, opts?: OptimizeOptions): Promise<{ model: Model; report: OptimizeReport }>;
export async function optimizeModel(model: Uint8Array, opts?: OptimizeOptions): Promise<{ model: Uint8Array; report: OptimizeReport; note: string }>;
export async function optimizeModel(input: Model | Uint8Array, given: OptimizeOptions = {}): Promise<{ model: Model | Uint8Array; report: OptimizeReport; note?: string }> {
  const t0 = performance.now();
  const originalBytes = input instanceof Uint8Array ? input : encodeModel(input);
  const source = input instanceof Uint8Array ? '<model bytes>' : input.source || '<model>';
  const fresh = (): Model => decodeModel(originalBytes, { file: source, verify: false });
  const model = fresh();
  // A shape given for one input also fixes the named dims it shares with the others.
  const declared = model.graph.inputs.filter((v) => !v.isConstant).map((v) => ({ name: v.name, shape: v.tensorType?.shape }));
  const opts: OptimizeOptions = { ...given, inputShapes: completeShapes(declared, given.inputShapes, source), verifyShapes: completeShapes(declared, given.verifyShapes, source) };
  const inNames = model.graph.inputs.map((v) => v.name), outNames = model.graph.outputs.map((v) => v.name);
  const before = summarize(model);
  const r = optimizeGraph(model, { ...opts, trace: true });
  if (model.graph.inputs.map((v) => v.name).join('\0') !== inNames.join('\0') || model.graph.outputs.map((v) => v.name).join('\0') !== outNames.join('\0'))
    throw new KilnError('internal error: a pass changed the graph inputs or outputs');
  const report: OptimizeReport = {
    before, after: summarize(model), passes: r.stats, rounds: r.rounds, converged: r.converged, changes: r.changes,
    notes: r.notes, ms: 0, shapeWarnings: r.shapeWarnings,
  };
  let bytes = encodeModel(model);
  const verifying = opts.verify ?? true;
  let refBytes: Uint8Array;
  let feeds: ReturnType<typeof makeFeeds> | undefined;
  let expected: Awaited<ReturnType<typeof referenceOutputs>> | undefined;
  if (verifying) {
    // The reference runs with the original's own input shapes fixed the same way.
    const reference = fresh();
    if (opts.inputShapes) inferShapes(reference, { inputShapes: opts.inputShapes as Record<string, number[]> });
    refBytes = encodeModel(reference);
    feeds = makeFeeds(reference, { inputShapes: (opts.inputShapes ?? opts.verifyShapes) as Record<string, number[]>, seed: opts.seed, inputsDir: opts.inputsDir });
    expected = await referenceOutputs(refBytes, feeds);
    const check = await compareModels(expected, bytes, feeds, { seed: opts.seed });
    report.verification = check;
    if (!check.ok) {
      report.ms = performance.now() - t0;
      const culprit = opts.bisect === false ? undefined : await bisect(fresh, opts, expected, feeds, r.changes, r.trace);
      const bad = check.outputs.filter((o) => !o.ok).map(formatComparison).join('; ');
      const who = culprit ? `; the first bad rewrite is step ${culprit.step}: ${culprit.pass} at ${culprit.at} (rerun with --skip ${culprit.pass})` : '';
      throw new VerificationError(`the optimized model differs from the original: ${bad}${who}`, report, culprit);
    }
  }
  let result = model;
  if (opts.ortLevel) {
    bytes = await ortOptimize(bytes, opts.ortLevel);
    result = decodeModel(bytes, { file: `${source} (onnxruntime ${opts.ortLevel})`, verify: false });
    const s = summarize(result);
    report.ort = { level: opts.ortLevel, note: ortLevelNote(opts.ortLevel), nodesAfter: s.nodes, ops: s.ops };
    if (verifying && feeds && expected) {
      const check = await compareModels(expected, bytes, feeds, { seed: opts.seed });
      report.ort.verification = check;
      if (!check.ok) {
        report.ms = performance.now() - t0;
        throw new VerificationError(`onnxruntime's ${opts.ortLevel} optimizer output differs from the original: ${check.outputs.filter((o) => !o.ok).map(formatComparison).join('; ')}`, report, { step: 0, pass: `onnxruntime ${opts.ortLevel}`, at: 'graph' });
      }
    }
  }
  report.ms = performance.now() - t0;
  const verified = verifying ? 'verified' : 'not verified';
  if (input instanceof Uint8Array) return { model: bytes, report, note: `kiln passes: ${report.before.nodes} → ${report.after.nodes} nodes, ${verified}` };
  result.source = input.source;
  return { model: result, report };
}

/** Smallest k such that the first k rewrites already break the model (binary search). */
async function bisect(fresh: () => Model, opts: OptimizeOptions, expected: Awaited<ReturnType<typeof referenceOutputs>>, feeds: ReturnType<typeof makeFeeds>, total: number, trace: AppliedChange[]): Promise<AppliedChange | undefined> {
  let lo = 0, hi = total; // invariant: after lo rewrites ok, after hi rewrites broken
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const m = fresh();
    optimizeGraph(m, { ...opts, limit: mid });
    let ok: boolean;
    try {
      ok = (await compareModels(expected, encodeModel(m), feeds)).ok;
    } catch {
      ok = false; // a model onnxruntime rejects is broken too
    }
    if (ok) lo = mid;
    else hi = mid;
  }
  return trace.find((t) => t.step === hi);
}

export { runPasses } from './manager.js';
export type { Pass } from './types.js';
export type { OptLevel };
