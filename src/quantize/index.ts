// quantizeModel(model, opts) → { model, report }: FP32 → static INT8 (QDQ), dynamic INT8, FP16,
// or 'auto' (static INT8 with the fewest layers kept float that meet a quality budget). The
// report holds what a user must see before shipping the result: per-output error against the
// FP32 input on held-out samples, the layers left float and why, the integer kernels
// onnxruntime actually fused, and the speed of both models measured interleaved in this run.
import { KilnError, ModelError, UsageError } from '../errors.js';
import { DataType } from '../ir/dtype.js';
import type { Model, Node } from '../ir/graph.js';
import { verify } from '../ir/verify.js';
import { encodeModel } from '../onnx/write.js';
import { createSession, run, type SessionOptions } from '../runtime/session.js';
import { collectRanges, inputsOf, loadSamples, randomSamples, type Calibrator, type Range, type SampleSource } from './calibrate.js';
import { quantizeDynamic } from './dynamic.js';
import { Evaluator, INTEGER_OPS, integerOps, measureSpeed, optimizedOps, type OutputError } from './evaluate.js';
import { optimizeModel } from '../passes/index.js';
import { convertFp16, DEFAULT_FP16_BLOCK } from './fp16.js';
import { cloneModel, computedValues, probeTypes, withExtraOutputs, type Sample, type ValueInfo } from './graph-util.js';
import { activationParams, applyQdq, defaultWeightBits, weightBitsNote, nodeKey, planQdq, type ActType, type KeptFloat, type PlanOptions } from './qdq.js';
import { analyze, defaultBudget, quality, tensorSqnr, type Budget, type SensitivityResult } from './sensitivity.js';

export type Mode = 'int8' | 'int8-dynamic' | 'fp16' | 'auto';
export const MODES: readonly Mode[] = ['int8', 'int8-dynamic', 'fp16', 'auto'];

export interface QuantizeOptions {
  mode: Mode;
  /** Calibration (and evaluation) samples; default: random data, with a warning for INT8. */
  calib?: SampleSource;
  /** Samples held out of calibration to score the result (default: a quarter, at least 2, when there are ≥ 8). */
  heldOut?: number;
  calibrator?: Calibrator;
  percentile?: number;
  activations?: ActType;
  /** Weight width: 7 (reduce range) or 8; default defaultWeightBits() — 7 on x86 without VNNI. */
  weightBits?: 7 | 8;
  /** MatMul weight scales per tensor (default) or per output column. */
  matmulScales?: 'tensor' | 'column';
  /** `op:GridSample`, `node:NAME` (comma lists allowed). */
  exclude?: readonly string[];
  keepIoTypes?: boolean;
  /** FP16 op block list (default DEFAULT_FP16_BLOCK). */
  fp16Block?: readonly string[];
  /** Quality budget for the keep-float search (int8 and auto; auto defaults it from the outputs). */
  budget?: Budget;
  /** Print the per-layer table even without a budget. */
  sensitivity?: boolean;
  /** Interleaved timing runs per model (0 skips the speed comparison). */
  speedRuns?: number;
  threads?: number;
  /** Run kiln's optimizer first (default true). */
  optimize?: boolean;
  onProgress?: (msg: string) => void;
}

export interface QuantizeReport {
  mode: Mode;
  model: string;
  calibration?: { source: string; samples: number; heldOut: number; calibrator?: Calibrator; percentile?: number; activations?: ActType; weightBits?: number };
  warnings: string[];
  notes: string[];
  foldedBatchNorm: number;
  quantizedNodes: string[];
  /** Relu/Clip that onnxruntime folds into the preceding quantized op's Q. */
  absorbed: string[];
  keptFloat: KeptFloat[];
  /** What onnxruntime runs after its own optimizations (its optimized model, saved and read back). */
  ort: { integerOps: Record<string, number>; quantizeLinear: number; dequantizeLinear: number; floatCompute: Record<string, number> };
  /** Per output, quantized vs FP32 on the evaluation samples. */
  outputs: OutputError[];
  evaluatedOn: string;
  speed?: { fp32Ms: number; quantizedMs: number; speedup: number; runs: number; threads: number | 'default'; inputs: string };
  sensitivity?: SensitivityResult;
  fp16?: { outOfRange: { tensor: string; absMax: number; where: string }[]; underflow: { tensor: string; count: number }[]; casts: number; blockOps: string[] };
}

const QUANTIZED_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'QLinearConv', 'QLinearMatMul', 'ConvInteger', 'MatMulInteger']);
const FLOAT_COMPUTE = ['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'com.microsoft.FusedConv', 'com.microsoft.FusedMatMul', 'com.microsoft.FusedGemm', 'com.microsoft.nchwc.Conv'];

/** Refuses models this cannot help: already quantized, already FP16 (for FP16), no float weights. */
export function checkInput(model: Model, mode: Mode): void {
  const file = model.source || 'model';
  for (const n of model.graph.allNodes()) {
    if (QUANTIZED_OPS.has(n.opType) || n.opType.startsWith('QLinear') || (n.domain === 'com.microsoft' && /^(Q|DynamicQuantize|MatMulInteger)/.test(n.opType)))
      throw new ModelError(file, `is already quantized (${n} found); quantize the FP32 model instead`);
  }
  let floatWeights = 0;
  let halfWeights = 0;
  for (const v of model.graph.initializers) {
    const t = v.initializer!;
    if (t.size <= 1) continue;
    if (t.dataType === DataType.FLOAT) floatWeights++;
    if (t.dataType === DataType.FLOAT16) halfWeights++;
    if ((t.dataType === DataType.INT8 || t.dataType === DataType.UINT8) && v.uses.some((u) => ['Conv', 'MatMul', 'Gemm', 'ConvTranspose'].includes(u.node.opType) && u.index === 1))
      throw new ModelError(file, `is already quantized (${v} holds ${t.dataType === DataType.INT8 ? 'int8' : 'uint8'} weights)`);
  }
  for (const n of model.graph.nodes) {
    const t = n.opType === 'Constant' ? n.getTensor('value') : undefined;
    if (t && t.size > 1 && t.dataType === DataType.FLOAT) floatWeights++;
    if (t && t.size > 1 && t.dataType === DataType.FLOAT16) halfWeights++;
  }
  if (halfWeights && !floatWeights) throw new ModelError(file, mode === 'fp16' ? 'is already float16' : 'has float16 weights; quantize from the FP32 model');
  if (!floatWeights) throw new ModelError(file, 'has no float32 weights to quantize');
}

/**
 * `op:GridSample,node:conv1,node:/net/flow*` → sets; a node name ending in `*` is a prefix (every
 * node whose name starts with it: a whole sub-network of an exported PyTorch model). Names
 * that match nothing in the model are an error.
 */
export function parseExclude(specs: readonly string[] | undefined, model: Model): { ops: Set<string>; nodes: Set<string> } {
  const ops = new Set<string>();
  const nodes = new Set<string>();
  const all = [...model.graph.allNodes()];
  const opTypes = new Set(all.map((n) => n.opType));
  const names = new Set(all.map(nodeKey));
  for (const item of (specs ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)) {
    const m = /^(op|node):(.+)$/.exec(item);
    if (!m) throw new UsageError(`--exclude expects op:TYPE or node:NAME, got '${item}'`);
    if (m[1] === 'op') {
      if (!opTypes.has(m[2])) throw new UsageError(`--exclude op:${m[2]}: no ${m[2]} node in ${model.source || 'the model'} (its ops: ${[...opTypes].sort().join(', ')})`);
      ops.add(m[2]);
    } else if (m[2].endsWith('*')) {
      const prefix = m[2].slice(0, -1);
      const hits = [...names].filter((n) => n.startsWith(prefix));
      if (!hits.length) throw new UsageError(`--exclude node:${m[2]}: no node name in ${model.source || 'the model'} starts with '${prefix}'`);
      for (const h of hits) nodes.add(h);
    } else {
      if (!names.has(m[2])) {
        const near = [...names].filter((n) => n.toLowerCase().includes(m[2].toLowerCase())).slice(0, 5);
        throw new UsageError(`--exclude node:${m[2]}: no node named '${m[2]}' in ${model.source || 'the model'}${near.length ? ` (similar: ${near.join(', ')})` : ''}`);
      }
      nodes.add(m[2]);
    }
  }
  return { ops, nodes };
}

function split(samples: Sample[], heldOut: number | undefined, warnings: string[]): { calib: Sample[]; evalSet: Sample[]; held: number } {
  const n = samples.length;
  const held = heldOut ?? (n >= 8 ? Math.max(2, Math.floor(n / 4)) : 0);
  if (held < 0 || held >= n) throw new UsageError(`cannot hold out ${held} of ${n} samples (at least one must remain for calibration)`);
  if (held === 0) {
    warnings.push(`only ${n} sample(s): the error is measured on the calibration samples themselves (give ≥ 8 for a held-out evaluation)`);
    return { calib: samples, evalSet: samples, held: 0 };
  }
  return { calib: samples.slice(0, n - held), evalSet: samples.slice(n - held), held };
}

const shapeText = (s: Sample): string => Object.entries(s).map(([k, t]) => `${k}=${t.dims.join('x')}`).join(' ');

export async function quantizeModel(model: Model, opts: QuantizeOptions): Promise<{ model: Model; report: QuantizeReport }> {
  if (!MODES.includes(opts.mode)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}, got '${opts.mode}'`);
  checkInput(model, opts.mode);
  const progress = opts.onProgress ?? (() => {});
  const session: SessionOptions = opts.threads !== undefined ? { threads: opts.threads } : {};
  const ex = parseExclude(opts.exclude, model);
  const original = encodeModel(model);
  const warnings: string[] = [];
  const notes: string[] = [];
  // kiln's optimizer first: Conv+BN folding above all (quantizing W and then applying a float BN
  // would quantize the wrong range and leave a float op behind every conv). Not verified here:
  // the quantized result is scored against the original model below, which covers it.
  // fold-shapes is skipped: it specialises Shape computations to the shapes it infers, and a
  // dynamic-size VFI model folded that way fails at other sizes (kiln-vfi, December 2026).
  progress('optimizing (kiln passes)');
  const opt = opts.optimize === false ? null : await optimizeModel(cloneModel(model), { verify: false, skip: ['fold-shapes'] });
  let work = opt ? opt.model : cloneModel(model);
  work.source = model.source;
  const changed = opt ? opt.report.passes.filter((p) => p.changes) : [];
  let folded = changed.filter((p) => p.name === 'fuse-conv-bn').reduce((a, p) => a + p.changes, 0);
  if (opt && changed.length) notes.push(`kiln optimizer ran first: ${opt.report.before.nodes} → ${opt.report.after.nodes} nodes (${changed.map((p) => `${p.name} ×${p.changes}`).join(', ')})`);
  const present = new Set([...work.graph.allNodes()].map(nodeKey));
  for (const n of ex.nodes) if (!present.has(n)) warnings.push(`--exclude node:${n}: the optimizer removed or merged that node (e.g. a BatchNormalization folded into its Conv); exclude the node it was merged into`);
  const source = opts.calib ?? { kind: 'random' as const, count: opts.mode === 'int8-dynamic' || opts.mode === 'fp16' ? 4 : 16 };
  progress('loading samples');
  const set = source.kind === 'random' && (opts.mode === 'int8-dynamic' || opts.mode === 'fp16')
    ? { ...randomSamples(inputsOf(work), source.count, source.seed ?? 1), warnings: [] as string[] }
    : await loadSamples(work, source);
  warnings.push(...set.warnings);
  if (source.kind === 'random' && (opts.mode === 'int8-dynamic' || opts.mode === 'fp16')) notes.push('error measured on random inputs (no --calib given)');
  const { calib, evalSet, held } = split(set.samples, opts.heldOut, warnings);
  if (changed.length) {
    // The optimizer's result must compute what the input model computes on these very samples.
    const why = await optimizerProblem(original, encodeModel(work), calib[0], session);
    if (why) {
      warnings.push(`kiln's optimizer changed the model on the calibration data (${why}); quantizing the unoptimized model instead (BatchNormalization not folded)`);
      notes.splice(0, notes.length, ...notes.filter((n) => !n.startsWith('kiln optimizer ran first')));
      work = cloneModel(model);
      folded = 0;
    }
  }
  progress('probing value types');
  const info = await probeTypes(work, calib[0], session);
  const evaluator = await Evaluator.create(original, evalSet, session);
  const report: QuantizeReport = {
    mode: opts.mode,
    model: model.source || '<model>',
    calibration: { source: set.description, samples: calib.length, heldOut: held },
    warnings,
    notes,
    foldedBatchNorm: folded,
    quantizedNodes: [],
    absorbed: [],
    keptFloat: [],
    ort: { integerOps: {}, quantizeLinear: 0, dequantizeLinear: 0, floatCompute: {} },
    outputs: [],
    evaluatedOn: held ? `${held} held-out sample(s) not used for calibration` : `the ${calib.length} calibration sample(s)`,
  };
  let result: Model;
  // Weight width of every INT8 mode (see defaultWeightBits for why it depends on the CPU).
  const bits = opts.weightBits ?? defaultWeightBits();
  if (bits !== 7 && bits !== 8) throw new UsageError(`weight bits must be 7 or 8, got ${bits}`);
  const bitsNote = opts.mode === 'fp16' ? null : weightBitsNote(bits, opts.weightBits !== undefined);
  if (bitsNote) notes.push(bitsNote);
  if (opts.mode === 'int8-dynamic') {
    const r = quantizeDynamic(work, info, { excludeOps: ex.ops, excludeNodes: ex.nodes, weightBits: bits });
    result = r.model;
    warnings.push(...r.warnings);
    notes.push(...r.notes);
    report.quantizedNodes = r.quantized;
    report.keptFloat = r.kept;
    delete report.calibration!.calibrator;
    report.calibration!.weightBits = bits;
  } else if (opts.mode === 'fp16') {
    progress('measuring activation ranges for float16');
    const names = computedValues(work).filter((v) => info.get(v.name)?.dtype === 'float32').map((v) => v.name);
    const ranges = await collectRanges(work, calib, names, { calibrator: 'minmax', session, info });
    const absMax = new Map([...ranges].map(([k, r]) => [k, Math.max(Math.abs(r.min), Math.abs(r.max))]));
    const block = new Set(opts.fp16Block ?? DEFAULT_FP16_BLOCK);
    for (const o of ex.ops) block.add(o);
    const r = convertFp16(work, info, { keepIoTypes: opts.keepIoTypes, blockOps: block, blockNodes: ex.nodes, activationAbsMax: absMax });
    result = r.model;
    report.keptFloat = r.kept;
    report.fp16 = { outOfRange: r.outOfRange, underflow: r.underflow, casts: r.casts, blockOps: [...block] };
    for (const o of r.outOfRange) warnings.push(`${o.where} '${o.tensor}' reaches |x| = ${o.absMax.toExponential(3)}, beyond float16's ±65504: kept in float32`);
    for (const u of r.underflow) warnings.push(`constant '${u.tensor}' has ${u.count} non-zero value(s) below float16's smallest subnormal (2^-24); they become 0`);
    if (!opts.keepIoTypes) notes.push('inputs and outputs are float16 now (use --keep-io-types to keep them float32)');
  } else {
    const act = opts.activations ?? 'uint8';
    const calibrator = opts.calibrator ?? 'minmax';
    if (opts.matmulScales !== undefined && opts.matmulScales !== 'tensor' && opts.matmulScales !== 'column') throw new UsageError(`MatMul weight scales must be 'tensor' or 'column', got '${opts.matmulScales}'`);
    Object.assign(report.calibration!, { calibrator, activations: act, weightBits: bits, ...(calibrator === 'percentile' ? { percentile: opts.percentile ?? 99.99 } : {}) });
    const base: PlanOptions = { activations: act, excludeOps: ex.ops, excludeNodes: ex.nodes };
    const ranges = new Map<string, Range>();
    const ensure = async (owners: Iterable<string>): Promise<void> => {
      const missing = [...new Set(owners)].filter((o) => !ranges.has(o));
      if (!missing.length) return;
      progress(`calibrating ${missing.length} tensor(s) on ${calib.length} sample(s) (${calibrator})`);
      for (const [k, r] of await collectRanges(work, calib, missing, { calibrator, percentile: opts.percentile, session, info })) ranges.set(k, r);
    };
    const build = async (keepFloat: ReadonlySet<string>, only?: ReadonlySet<string>): Promise<{ model: Model; plan: ReturnType<typeof planQdq>; warnings: string[] }> => {
      const target = cloneModel(work);
      const plan = planQdq(target, info, { ...base, keepLayers: keepFloat, onlyNodes: only });
      await ensure(plan.tensors.values());
      const w: string[] = [];
      return { model: applyQdq(target, plan, ranges, act, w, { bits, matmulScales: opts.matmulScales }), plan, warnings: w };
    };
    const full = planQdq(work, info, base);
    if (!full.quantized.length) throw new KilnError(`${model.source || 'model'}: nothing to quantize statically (${full.kept.slice(0, 3).map((k) => `${k.op} '${k.node}': ${k.reason}`).join('; ') || 'no Conv/MatMul/Gemm'})`);
    let keep = new Set<string>();
    const needDefault = !opts.budget && (opts.mode === 'auto' || opts.sensitivity);
    const fallback = needDefault ? defaultBudget(await evaluator.score(encodeModel((await build(new Set())).model))) : undefined;
    const budget = opts.budget ?? (opts.mode === 'auto' ? fallback : undefined);
    if (budget || opts.sensitivity) {
      const metric = budget?.metric ?? fallback!.metric;
      const anchors = full.quantized.filter((n) => ['Conv', 'ConvTranspose', 'Gemm', 'MatMul'].includes(n.opType));
      await ensure(full.tensors.values());
      const sq = await layerSqnr(work, evalSet, anchors, full.outputOf, ranges, act, session);
      const res = await analyze({
        layers: anchors.map((n) => ({ node: nodeKey(n), op: n.opType, tensor: full.outputOf.get(nodeKey(n))!, tensorSqnr: sq.get(nodeKey(n)) ?? NaN })),
        evaluate: async (k, only) => {
          const errs = await evaluator.score(encodeModel((await build(k, only)).model));
          return { q: quality(errs, metric), sqnr: Math.min(...errs.map((e) => e.sqnr)) };
        },
        onProgress: progress,
      }, metric, budget);
      report.sensitivity = res;
      keep = new Set(res.keptFloat);
      if (budget && !res.met) warnings.push(`the budget ${budget.metric} ≥ ${budget.min} was not met even with ${res.keptFloat.length} layer(s) kept float (best ${res.final.toFixed(2)})`);
      if (budget) notes.push('layers kept float were chosen greedily by their measured gain (fewest found, not a proven minimum)');
    }
    const built = await build(keep);
    result = built.model;
    warnings.push(...built.warnings);
    report.quantizedNodes = built.plan.quantized.map(nodeKey);
    report.absorbed = built.plan.absorbed.map(nodeKey);
    report.keptFloat = [...built.plan.kept];
  }
  const problems = verify(result);
  if (problems.length) throw new KilnError(`internal: the quantized model fails verification: ${problems.slice(0, 3).join('; ')}`);
  const bytes = encodeModel(result);
  progress('checking the graph onnxruntime runs');
  const ops = await optimizedOps(bytes, session);
  report.ort = {
    integerOps: integerOps(ops),
    quantizeLinear: ops.get('QuantizeLinear') ?? 0,
    dequantizeLinear: ops.get('DequantizeLinear') ?? 0,
    floatCompute: Object.fromEntries(FLOAT_COMPUTE.filter((k) => ops.get(k)).map((k) => [k, ops.get(k)!])),
  };
  if (opts.mode === 'int8' || opts.mode === 'auto') {
    const anchorsPlanned = report.quantizedNodes.filter((n) => {
      const node = result.graph.nodes.find((x) => nodeKey(x) === n);
      return !node || ['Conv', 'ConvTranspose', 'Gemm', 'MatMul'].includes(node.opType);
    });
    const fusedAnchors = ['QLinearConv', 'com.microsoft.QLinearConv', 'QLinearMatMul', 'com.microsoft.QGemm', 'com.microsoft.QLinearConvTranspose', 'com.microsoft.MatMulIntegerToFloat'].reduce((a, k) => a + (ops.get(k) ?? 0), 0);
    if (fusedAnchors < anchorsPlanned.length) warnings.push(`onnxruntime fused ${fusedAnchors} of the ${anchorsPlanned.length} layers quantized (the rest run as DequantizeLinear → float op)`);
  }
  progress('scoring against FP32');
  const halfInputs = new Set(result.graph.inputs.filter((v) => v.elemType === DataType.FLOAT16).map((v) => v.name));
  report.outputs = await evaluator.score(bytes, `${opts.mode} model`, halfInputs);
  if (report.outputs.some((o) => o.nonFinite)) warnings.push('the quantized model produces NaN/Inf where FP32 does not');
  const runs = opts.speedRuns ?? 20;
  if (runs > 0) {
    progress(`timing FP32 and ${opts.mode} interleaved (${runs} runs each)`);
    const sp = await measureSpeed([original, bytes], evalSet[0], { runs, session, halfInputs: [undefined, halfInputs] });
    report.speed = { fp32Ms: sp.medianMs[0], quantizedMs: sp.medianMs[1], speedup: sp.medianMs[0] / sp.medianMs[1], runs, threads: sp.threads, inputs: shapeText(evalSet[0]) };
  }
  result.producerName = 'kiln';
  return { model: result, report };
}

/** Null when `optimized` reproduces `original` on `sample` (relative error ≤ 1e-3), else what differs. */
async function optimizerProblem(original: Uint8Array, optimized: Uint8Array, sample: Sample, opts: SessionOptions): Promise<string | null> {
  try {
    const ev = await Evaluator.create(original, [sample], opts);
    const errs = await ev.score(optimized, 'optimized model');
    const bad = errs.find((e) => e.nonFinite || e.sqnr < 60);
    return bad ? `output '${bad.name}' SQNR ${bad.sqnr.toFixed(1)} dB` : null;
  } catch (e) {
    return (e as Error).message.split('\n')[0].slice(0, 200);
  }
}

/** SQNR of each layer's quantized output tensor vs FP32, over the samples. */
async function layerSqnr(model: Model, samples: readonly Sample[], anchors: readonly Node[], outputOf: ReadonlyMap<string, string>, ranges: ReadonlyMap<string, Range>, act: ActType, opts: SessionOptions): Promise<Map<string, number>> {
  const names = [...new Set(anchors.map((n) => outputOf.get(nodeKey(n))!).filter(Boolean))];
  const s = await createSession(withExtraOutputs(model, names), { ...opts, memArena: false }, 'FP32 model (sensitivity)'); // see rangesOf
  const acc = new Map<string, { sig: number; noise: number }>();
  try {
    for (const sample of samples) {
      const res = await run(s, sample, 'sensitivity');
      for (const n of names) {
        const x = res[n].data as Float32Array;
        const p = activationParams(ranges.get(n)!, act);
        const db = tensorSqnr(x, p, act);
        let sig = 0;
        for (let i = 0; i < x.length; i++) sig += x[i] * x[i];
        const e = acc.get(n) ?? { sig: 0, noise: 0 };
        e.sig += sig;
        e.noise += Number.isFinite(db) ? sig / 10 ** (db / 10) : 0;
        acc.set(n, e);
      }
    }
  } finally {
    await s.release();
  }
  const out = new Map<string, number>();
  for (const n of anchors) {
    const e = acc.get(outputOf.get(nodeKey(n))!);
    if (e) out.set(nodeKey(n), e.noise === 0 ? Infinity : 10 * Math.log10(e.sig / e.noise));
  }
  return out;
}

export type { ValueInfo, Budget, ActType, Calibrator, SampleSource };
export { INTEGER_OPS };
