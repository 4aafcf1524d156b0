// The differential check: run the original and the rewritten model in onnxruntime on the same
// inputs (seeded random ones, or the user's .npy / .pb files) and compare every output with a
// tolerance named for its precision. NaN-aware: NaN matches NaN, ±∞ must match exactly.
//
// Tolerances (allclose form: |a − e| ≤ ABS + REL·|e|). FP32: folding BN into conv weights
// reorders a few float32 roundings per multiply-add chain; over ResNet-50 that moved logits by
// up to ~2e-5 in our runs, so 1e-4 absolute leaves room without hiding real bugs (a wrong
// rewrite moves outputs by ≥ 1e-2). FP16 keeps 10 mantissa bits: one half-ulp at 1.0 is ~5e-4,
// and a few re-roundings stay under 1e-2. Integers and bools must match exactly.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError, UsageError } from '../errors.js';
import { fromHalfBits, randomTensor } from '../bench/inputs.js';
import { inputDefaults } from '../runtime/input-defaults.js';
import { DataType, dtypeInfo, dtypeName } from '../ir/dtype.js';
import type { Model } from '../ir/graph.js';
import { readNpy, readTensorProto, toOrtTensor } from '../onnx/tensor-file.js';
import { createSession, ort, run, type OptLevel } from '../runtime/session.js';

export const FP32_ABS = 1e-4;
export const FP32_REL = 1e-3;
export const FP16_ABS = 1e-2;
export const FP16_REL = 1e-2;
export const FP64_ABS = 1e-9;
export const FP64_REL = 1e-7;

export interface Tolerance {
  name: string;
  abs: number;
  rel: number;
}

export function toleranceFor(type: string): Tolerance {
  switch (type) {
    case 'float32': return { name: 'FP32', abs: FP32_ABS, rel: FP32_REL };
    case 'float16': return { name: 'FP16', abs: FP16_ABS, rel: FP16_REL };
    case 'float64': return { name: 'FP64', abs: FP64_ABS, rel: FP64_REL };
    default: return { name: 'EXACT', abs: 0, rel: 0 };
  }
}

export interface OutputComparison {
  name: string;
  type: string;
  shape: number[];
  maxAbs: number;
  maxRel: number;
  tolerance: Tolerance;
  ok: boolean;
  /** First element outside tolerance, when there is one. */
  worst?: { index: number; actual: number; expected: number };
  problem?: string;
}

export interface CheckResult {
  ok: boolean;
  outputs: OutputComparison[];
  inputs: { name: string; type: string; shape: number[]; source: string }[];
  seed: number;
}

export interface FeedOptions {
  inputShapes?: Record<string, readonly number[]>;
  seed?: number;
  /** Folder of `<input name>.npy` / `.pb` files, or backend-test style input_<i>.pb. */
  inputsDir?: string;
}

export interface Feeds {
  feeds: Record<string, ort.Tensor>;
  info: CheckResult['inputs'];
}

const ORT_TYPE = (dt: DataType): string => dtypeInfo(dt).ort ?? dtypeName(dt);

/**
 * Inputs for a model: files from `inputsDir` where given, else the value the model declares
 * (metadata `kiln.input_defaults`), else seeded random tensors.
 */
export function makeFeeds(model: Model, opts: FeedOptions = {}): Feeds {
  const seed = opts.seed ?? 1;
  const declared = inputDefaults(model.metadataProps, model.source || 'model');
  const files = opts.inputsDir ? readInputsDir(opts.inputsDir) : new Map<string, { file: string; tensor: ort.Tensor }>();
  const feeds: Record<string, ort.Tensor> = {};
  const info: Feeds['info'] = [];
  const inputs = model.graph.inputs.filter((v) => !v.isConstant);
  inputs.forEach((v, i) => {
    const fromFile = files.get(v.name) ?? files.get(`#${i}`);
    if (fromFile) {
      feeds[v.name] = fromFile.tensor;
      info.push({ name: v.name, type: fromFile.tensor.type, shape: [...fromFile.tensor.dims], source: fromFile.file });
      return;
    }
    if (opts.inputsDir) throw new UsageError(`--inputs ${opts.inputsDir} has no file for input '${v.name}' (expected ${v.name}.npy, ${v.name}.pb or input_${i}.pb)`);
    const t = v.tensorType;
    if (!t || t.elemType === undefined) throw new UsageError(`input '${v.name}' has no tensor type; cannot make a test input`);
    const given = opts.inputShapes?.[v.name];
    const decl = t.shape;
    if (!decl && !given) throw new UsageError(`input '${v.name}' has unknown rank; give --input-shape ${v.name}=…`);
    const shape = (given ?? decl!).map((d, k) => {
      if (typeof d === 'number' && d >= 0) return d;
      if (k === 0) return 1; // a symbolic leading dim is the batch almost always
      throw new UsageError(`input '${v.name}' dim ${k} (${d ?? '?'}) is dynamic; give --input-shape ${v.name}=${(decl ?? []).map((x, j) => (typeof x === 'number' ? x : j === 0 ? 1 : 'N')).join('x')}`);
    });
    const fill = declared.get(v.name);
    feeds[v.name] = randomOrt(t.elemType, shape, seed * 7919 + i, v.name, fill);
    info.push({ name: v.name, type: ORT_TYPE(t.elemType), shape, source: fill === undefined ? `random (seed ${seed})` : `${fill} (declared by the model)` });
  });
  return { feeds, info };
}

function readInputsDir(dir: string): Map<string, { file: string; tensor: ort.Tensor }> {
  const out = new Map<string, { file: string; tensor: ort.Tensor }>();
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch (e) {
    throw new UsageError(`--inputs ${dir}: ${(e as Error).message}`);
  }
  for (const f of entries) {
    const file = join(dir, f);
    if (f.endsWith('.npy')) out.set(f.slice(0, -4), { file, tensor: toOrtTensor(readNpy(file)) });
    else if (f.endsWith('.pb')) {
      const t = readTensorProto(file);
      const m = /^input_(\d+)\.pb$/.exec(f);
      const entry = { file, tensor: toOrtTensor(t) };
      if (t.name) out.set(t.name, entry);
      out.set(f.slice(0, -3), entry);
      if (m) out.set(`#${m[1]}`, entry);
    }
  }
  return out;
}

/**
 * Seeded random input, the same generator the benchmarks use (src/bench/inputs.ts): floats in
 * [0, 1) like normalised images (inputs far outside a model's domain can make a discontinuous
 * model — floor/compare on flows — flip on 1-ulp differences), integers in [0, 10), bools 0/1.
 */
function randomOrt(dt: DataType, shape: number[], seed: number, name: string, fill?: number): ort.Tensor {
  const type = dtypeInfo(dt).ort;
  if (!type || type === 'string' || type === 'int4' || type === 'uint4') throw new UsageError(`input '${name}' is ${dtypeName(dt)}; kiln cannot make random inputs of that type (give --inputs DIR)`);
  return randomTensor({ name, type, shape, ...(fill === undefined ? {} : { fill }) }, seed);
}

function values(t: ort.Tensor): Float64Array {
  const d = t.data;
  if (t.type === 'float16') return Float64Array.from(d as Uint16Array, fromHalfBits);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, Number);
  if (Array.isArray(d)) throw new KilnError('string outputs are compared for equality only');
  return Float64Array.from(d as ArrayLike<number>);
}

export function compareTensors(name: string, actual: ort.Tensor, expected: ort.Tensor, tol = toleranceFor(expected.type)): OutputComparison {
  const base = { name, type: expected.type, shape: [...expected.dims], tolerance: tol };
  if (actual.type !== expected.type) return { ...base, maxAbs: Infinity, maxRel: Infinity, ok: false, problem: `type ${actual.type}, expected ${expected.type}` };
  if (actual.dims.length !== expected.dims.length || actual.dims.some((d, i) => d !== expected.dims[i]))
    return { ...base, maxAbs: Infinity, maxRel: Infinity, ok: false, problem: `shape [${actual.dims.join(',')}], expected [${expected.dims.join(',')}]` };
  if (expected.type === 'string') {
    const a = actual.data as string[], e = expected.data as string[];
    const bad = e.findIndex((s, i) => s !== a[i]);
    return { ...base, maxAbs: bad < 0 ? 0 : Infinity, maxRel: bad < 0 ? 0 : Infinity, ok: bad < 0 };
  }
  const a = values(actual), e = values(expected);
  let maxAbs = 0, maxRel = 0;
  let worst: OutputComparison['worst'];
  for (let i = 0; i < e.length; i++) {
    const x = a[i], y = e[i];
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      maxAbs = maxRel = Infinity;
      worst ??= { index: i, actual: x, expected: y };
      continue;
    }
    if (x === y) continue; // includes equal infinities
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      maxAbs = maxRel = Infinity;
      worst ??= { index: i, actual: x, expected: y };
      continue;
    }
    const d = Math.abs(x - y);
    const rel = d / Math.max(Math.abs(y), Number.MIN_VALUE);
    if (d > maxAbs) maxAbs = d;
    if (rel > maxRel) maxRel = rel;
    if (!(d <= tol.abs + tol.rel * Math.abs(y))) worst ??= { index: i, actual: x, expected: y };
  }
  return { ...base, maxAbs, maxRel, ok: worst === undefined, worst };
}

/** The original's outputs on `feeds`, to compare several candidates against (bisection). */
export async function referenceOutputs(original: Uint8Array, feeds: Feeds, optLevel: OptLevel = 'disabled'): Promise<{ names: string[]; outputs: Record<string, ort.Tensor> }> {
  const a = await createSession(original, { optLevel, threads: 1 }, 'original model');
  try {
    return { names: [...a.outputNames], outputs: await run(a, feeds.feeds, 'original model') };
  } finally {
    await a.release();
  }
}

/** Runs both models on the same feeds and compares every output of the original. */
export async function compareModels(original: Uint8Array | Awaited<ReturnType<typeof referenceOutputs>>, candidate: Uint8Array, feeds: Feeds, opts: { optLevel?: OptLevel; seed?: number } = {}): Promise<CheckResult> {
  const level = opts.optLevel ?? 'disabled';
  const ref = original instanceof Uint8Array ? await referenceOutputs(original, feeds, level) : original;
  const b = await createSession(candidate, { optLevel: level, threads: 1 }, 'optimized model');
  try {
    const want = ref.outputs;
    const got = await run(b, feeds.feeds, 'optimized model');
    const outputs = ref.names.map((name) => {
      const g = got[name];
      if (!g) return { name, type: want[name].type, shape: [...want[name].dims], maxAbs: Infinity, maxRel: Infinity, tolerance: toleranceFor(want[name].type), ok: false, problem: 'missing from the optimized model' };
      return compareTensors(name, g, want[name]);
    });
    return { ok: outputs.every((o) => o.ok), outputs, inputs: feeds.info, seed: opts.seed ?? 1 };
  } finally {
    await b.release();
  }
}

export function formatComparison(o: OutputComparison): string {
  const tol = `${o.tolerance.name} abs ${o.tolerance.abs} rel ${o.tolerance.rel}`;
  const head = `${o.name}: max abs ${o.maxAbs.toExponential(2)}, max rel ${o.maxRel.toExponential(2)} (${tol}) ${o.ok ? 'ok' : 'FAIL'}`;
  if (o.problem) return `${head}: ${o.problem}`;
  if (o.worst) return `${head}: element ${o.worst.index} is ${o.worst.actual}, expected ${o.worst.expected}`;
  return head;
}
