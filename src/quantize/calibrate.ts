// Calibration: where the samples come from (an image folder decoded by the system ffmpeg, tensor
// files, or random data for speed tests) and how an activation's range is chosen from what the
// FP32 model computes on them (MinMax, Percentile, Entropy/KL).
//
// Min and max come from ReduceMin/ReduceMax nodes added to a copy of the model, one run per
// sample; the histogram calibrators (a second pass over the range the first found) get the
// tensors themselves as extra outputs, as many at a time as fit exposeBudgetBytes(). Memory stays
// bounded whatever the sample count and the model's size.
import { filledTensor } from '../bench/inputs.js';
import { inputDefaults } from '../runtime/input-defaults.js';
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { KilnError, UsageError } from '../errors.js';
import { DataType } from '../ir/dtype.js';
import type { Model, Value } from '../ir/graph.js';
import { readNpy, readTensorProto, toOrtTensor } from '../onnx/tensor-file.js';
import { createSession, run, ort, type SessionOptions } from '../runtime/session.js';
import { ffmpegPath, ffprobePath, runTool, tail } from '../video/ffmpeg.js';
import type { Tensor } from '../ir/tensor.js';
import { chunkByBytes, cloneModel, exposeBudgetBytes, withExtraOutputs, type Sample, type ValueInfo } from './graph-util.js';
import { encodeModel } from '../onnx/write.js';
export { rng } from '../random.js';
import { rng } from '../random.js';

// ---------------------------------------------------------------------------------------------
// Samples

export interface Preprocess {
  /** Target width × height; needed when the model's spatial dims are symbolic. */
  size?: [number, number];
  /** Per-channel mean and std applied to pixels scaled to [0, 1]: x = (p/255 − mean) / std. */
  mean: [number, number, number];
  std: [number, number, number];
}

/** Named preprocessings: `unit` keeps pixels in [0, 1], `imagenet` is torchvision's normalization. */
export const PRESETS: Readonly<Record<string, Omit<Preprocess, 'size'>>> = {
  unit: { mean: [0, 0, 0], std: [1, 1, 1] },
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  // Pixels as 0..255 floats (some exported nets expect this).
  raw255: { mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] },
};

export type SampleSource =
  | { kind: 'random'; count: number; seed?: number }
  | { kind: 'images'; dir: string; count?: number; preprocess: Preprocess }
  | { kind: 'tensors'; path: string; count?: number }
  | { kind: 'given'; samples: Sample[] };

export interface SampleSet {
  samples: Sample[];
  /** One line saying what the samples are (for the report). */
  description: string;
  warnings: string[];
}

export interface InputDesc {
  name: string;
  dims: (number | string | null)[];
  /** onnxruntime type name: float32 (calibrated), or bool/int32/int64 (control inputs, passed through). */
  type: 'float32' | 'bool' | 'int32' | 'int64';
  /** The value the model declares for this input (metadata `kiln.input_defaults`): fed as is. */
  fill?: number;
}

const INPUT_TYPES: Partial<Record<number, InputDesc['type']>> = { [DataType.FLOAT]: 'float32', [DataType.BOOL]: 'bool', [DataType.INT32]: 'int32', [DataType.INT64]: 'int64' };

/** The model's fed inputs (initializers that are also inputs excluded), with their types. */
export function inputsOf(model: Model): InputDesc[] {
  const inits = new Set(model.graph.initializers);
  const declared = inputDefaults(model.metadataProps, model.source || 'model');
  return model.graph.inputs
    .filter((v) => !inits.has(v))
    .map((v: Value) => {
      const t = v.tensorType;
      if (!t) throw new KilnError(`${model.source || 'model'}: input '${v.name}' has no tensor type`);
      const type = INPUT_TYPES[t.elemType];
      if (!type) throw new UsageError(`${model.source || 'model'}: input '${v.name}' is ${DataType[t.elemType]?.toLowerCase() ?? t.elemType}; kiln feeds float32, bool, int32 and int64 inputs only`);
      const fill = declared.get(v.name);
      return { name: v.name, dims: [...(t.shape ?? [])], type, ...(fill === undefined ? {} : { fill }) };
    });
}


const concrete = (dims: (number | string | null)[], fill: (i: number) => number): number[] => dims.map((d, i) => (typeof d === 'number' && d > 0 ? d : fill(i)));

export async function loadSamples(model: Model, source: SampleSource): Promise<SampleSet> {
  const inputs = inputsOf(model);
  if (source.kind === 'given') {
    if (!source.samples.length) throw new UsageError('no calibration samples (count 0)');
    const samples = source.samples.map((s) => withDeclared(inputs, s));
    for (const [i, s] of samples.entries()) checkSample(model, inputs, s, `sample ${i}`);
    return { samples, description: `${samples.length} given samples`, warnings: [] };
  }
  if (source.kind === 'random') return randomSamples(inputs, source.count, source.seed ?? 1);
  if (source.kind === 'tensors') return tensorSamples(model, inputs, source.path, source.count);
  return imageSamples(model, inputs, source.dir, source.preprocess, source.count);
}

/**
 * Uniform [0, 1) samples, dynamic dims set to 1 (batch) or 64 (spatial). Bool inputs get random
 * bits (both branches of an If are exercised); integer inputs get 0, with a warning.
 */
export function randomSamples(inputs: InputDesc[], count: number, seed: number): SampleSet {
  if (!(count > 0)) throw new UsageError('calibration sample count must be at least 1');
  const r = rng(seed);
  const samples: Sample[] = [];
  for (let k = 0; k < count; k++) {
    const s: Sample = {};
    for (const inp of inputs) {
      const dims = concrete(inp.dims, (i) => (i === 0 ? 1 : 64));
      s[inp.name] = inp.fill === undefined ? randomTensor(inp.type, dims, r) : filledTensor(inp.type, dims, inp.fill);
    }
    samples.push(s);
  }
  const ints = inputs.filter((i) => i.type === 'int32' || i.type === 'int64').map((i) => `'${i.name}'`);
  return {
    samples,
    description: `${count} random uniform [0,1) samples (seed ${seed})`,
    warnings: [...(ints.length ? [`integer input(s) ${ints.join(', ')} are 0 in the random samples; give --calib tensors for real values`] : []), 'calibrating on random data: the scales it picks fit noise, not real inputs — use the result for speed tests only, calibrate with --calib DIR for accuracy'],
  };
}

function randomTensor(type: InputDesc['type'], dims: number[], r: () => number): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  if (type === 'float32') return new ort.Tensor('float32', Float32Array.from({ length: n }, () => r()), dims);
  if (type === 'bool') return new ort.Tensor('bool', Uint8Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0)), dims);
  if (type === 'int32') return new ort.Tensor('int32', new Int32Array(n), dims);
  return new ort.Tensor('int64', new BigInt64Array(n), dims);
}

/** The sample with the model's declared value for each declared input it does not give. */
function withDeclared(inputs: InputDesc[], s: Sample): Sample {
  const missing = inputs.filter((i) => i.fill !== undefined && !s[i.name]);
  if (!missing.length) return s;
  return { ...s, ...Object.fromEntries(missing.map((i) => [i.name, filledTensor(i.type, concrete(i.dims, () => 1), i.fill!)])) };
}

function checkSample(model: Model, inputs: InputDesc[], s: Sample, where: string): void {
  for (const inp of inputs) {
    const t = s[inp.name];
    if (!t) throw new UsageError(`${where}: no tensor for input '${inp.name}'`);
    if (t.type !== inp.type) throw new UsageError(`${where}: input '${inp.name}' is ${t.type}, the model wants ${inp.type}`);
    if (t.dims.length !== inp.dims.length || inp.dims.some((d, i) => typeof d === 'number' && d > 0 && d !== t.dims[i]))
      throw new UsageError(`${where}: input '${inp.name}' has shape [${t.dims.join(',')}], ${model.source || 'the model'} wants [${inp.dims.map((d) => d ?? '?').join(',')}]`);
  }
}

const TENSOR_EXT = new Set(['.npy', '.pb']);

function readTensor(file: string): Tensor {
  return extname(file) === '.npy' ? readNpy(file) : readTensorProto(file);
}

/**
 * Tensor files: a single .npy/.pb file, a folder of them (single-input models; a file whose
 * leading dim is N times the model's batch is split into N samples), or a folder of ONNX
 * test-data sets (`test_data_set_K/input_I.pb`, I in the order of the model's inputs).
 */
function tensorSamples(model: Model, inputs: InputDesc[], path: string, count?: number): SampleSet {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`calibration data ${path}: no such file or folder`);
  }
  const samples: Sample[] = [];
  const push = (given: Sample, where: string): void => {
    const s = withDeclared(inputs, given);
    checkSample(model, inputs, s, where);
    samples.push(s);
  };
  const splitInto = (file: string): void => {
    if (inputs.length !== 1) throw new UsageError(`${file}: the model has ${inputs.length} inputs; give a folder of test_data_set_K/input_I.pb sets`);
    const t = readTensor(file);
    const o = toOrtTensor(t);
    if (o.type !== 'float32' || inputs[0].type !== 'float32') throw new UsageError(`${file}: holds ${o.type}, the model input '${inputs[0].name}' is ${inputs[0].type}`);
    const want = inputs[0].dims;
    const batch = typeof want[0] === 'number' && want[0] > 0 ? want[0] : 1;
    if (o.dims.length === want.length && o.dims[0] % batch === 0 && o.dims[0] > batch) {
      const per = (o.data as Float32Array).length / (o.dims[0] / batch);
      for (let k = 0; k < o.dims[0] / batch; k++) {
        const part = (o.data as Float32Array).slice(k * per, (k + 1) * per);
        push({ [inputs[0].name]: new ort.Tensor('float32', part, [batch, ...o.dims.slice(1)]) }, `${file}[${k}]`);
      }
    } else if (o.dims.length === want.length - 1 && batch === 1) {
      push({ [inputs[0].name]: new ort.Tensor('float32', o.data as Float32Array, [1, ...o.dims]) }, file);
    } else push({ [inputs[0].name]: o }, file);
  };
  if (st.isFile()) splitInto(path);
  else {
    const entries = readdirSync(path).sort(natural);
    const sets = entries.filter((e) => statSync(join(path, e)).isDirectory());
    if (sets.length) {
      for (const d of sets) {
        const s: Sample = {};
        inputs.forEach((inp, i) => {
          const f = join(path, d, `input_${i}.pb`);
          const t = readTensorProto(f);
          s[inp.name] = toOrtTensor(t);
        });
        push(s, join(path, d));
      }
    } else {
      const files = entries.filter((e) => TENSOR_EXT.has(extname(e)));
      const other = entries.filter((e) => !TENSOR_EXT.has(extname(e)) && !e.startsWith('.'));
      if (other.length) throw new UsageError(`calibration folder ${path} holds ${other.length} file(s) that are not .npy/.pb tensors (e.g. '${other[0]}')`);
      for (const f of files) splitInto(join(path, f));
    }
  }
  if (!samples.length) throw new UsageError(`calibration data ${path} holds no samples (count 0)`);
  const used = count ? samples.slice(0, count) : samples;
  return { samples: used, description: `${used.length} tensor samples from ${path}`, warnings: [] };
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff', '.ppm', '.pgm', '.gif']);

const natural = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

/** Image files under `dir` (recursively, sorted), refusing anything that is not an image. */
export function listImages(dir: string): string[] {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new UsageError(`calibration folder ${dir}: no such folder`);
  }
  if (!st.isDirectory()) throw new UsageError(`--calib ${dir}: not a folder (give a folder of images, a .npy/.pb tensor file, or 'random')`);
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((x, y) => natural(x.name, y.name))) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (IMAGE_EXT.has(extname(e.name).toLowerCase())) out.push(p);
      else if (e.isFile() || e.isSymbolicLink()) {
        if (e.isSymbolicLink()) {
          try {
            if (statSync(p).isDirectory()) continue;
          } catch {
            throw new UsageError(`calibration folder ${dir}: ${p} is a broken link`);
          }
          if (IMAGE_EXT.has(extname(p).toLowerCase())) {
            out.push(p);
            continue;
          }
        }
        throw new UsageError(`calibration folder ${dir}: ${p} is not an image (expected ${[...IMAGE_EXT].join(' ')})`);
      }
    }
  };
  walk(dir);
  if (!out.length) throw new UsageError(`calibration folder ${dir} holds no images (count 0)`);
  return out;
}

/** Decodes one image to packed RGB24 at w×h: scaled to cover, then centre-cropped. */
export async function decodeImage(file: string, w: number, h: number): Promise<Uint8Array> {
  const vf = `scale=${w}:${h}:force_original_aspect_ratio=increase:flags=area,crop=${w}:${h}`;
  const res = await runTool(ffmpegPath(), ['-v', 'error', '-nostdin', '-i', file, '-frames:v', '1', '-vf', vf, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
  if (res.code !== 0 || res.stdout.byteLength !== w * h * 3)
    throw new UsageError(`${file}: ffmpeg could not decode it as an image${res.stderr ? ` (${tail(res.stderr)})` : ''}`);
  return new Uint8Array(res.stdout.buffer, res.stdout.byteOffset, res.stdout.byteLength);
}

async function imageSize(file: string): Promise<[number, number]> {
  const res = await runTool(ffprobePath(), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0:s=x', file]);
  const m = /^(\d+)x(\d+)/.exec(res.stdout.toString().trim());
  if (res.code !== 0 || !m) throw new UsageError(`${file}: ffprobe could not read its size${res.stderr ? ` (${tail(res.stderr)})` : ''}`);
  return [Number(m[1]), Number(m[2])];
}

/** Image inputs are 4-D float with 3 channels (NCHW, or NHWC when the last dim is 3). */
function imageLayout(inp: InputDesc): 'nchw' | 'nhwc' | null {
  if (inp.type !== 'float32' || inp.dims.length !== 4) return null;
  if (inp.dims[1] === 3) return 'nchw';
  if (inp.dims[3] === 3) return 'nhwc';
  return null;
}

/**
 * Image samples. Each image input of the model takes the next file in sorted order, so a
 * two-frame interpolation net calibrates on consecutive frames of a folder of frames; other
 * float inputs (a timestep) get uniform [0, 1) values, which the report says.
 */
async function imageSamples(model: Model, inputs: InputDesc[], dir: string, pre: Preprocess, count?: number): Promise<SampleSet> {
  const files = listImages(dir);
  const imgInputs = inputs.filter((i) => imageLayout(i));
  if (!imgInputs.length) throw new UsageError(`${model.source || 'model'}: no input looks like an image (4-D float with 3 channels); calibrate with .npy/.pb tensors instead`);
  const warnings: string[] = [];
  const others = inputs.filter((i) => !imageLayout(i));
  const random = others.filter((o) => o.fill === undefined);
  if (random.length) warnings.push(`input(s) ${random.map((o) => `'${o.name}'`).join(', ')} are not images: filled with seeded uniform [0,1) values`);
  const per = imgInputs.length;
  const available = Math.floor(files.length / per);
  if (available === 0) throw new UsageError(`calibration folder ${dir} has ${files.length} image(s), the model needs ${per} per sample`);
  const n = Math.min(count ?? available, available);
  const r = rng(7);
  const samples: Sample[] = [];
  let nativeSize: [number, number] | undefined;
  for (let k = 0; k < n; k++) {
    const s: Sample = {};
    for (const [j, inp] of imgInputs.entries()) {
      const layout = imageLayout(inp)!;
      const [hi, wi] = layout === 'nchw' ? [2, 3] : [1, 2];
      const fixedH = typeof inp.dims[hi] === 'number' ? (inp.dims[hi] as number) : undefined;
      const fixedW = typeof inp.dims[wi] === 'number' ? (inp.dims[wi] as number) : undefined;
      if (pre.size && ((fixedW && fixedW !== pre.size[0]) || (fixedH && fixedH !== pre.size[1])))
        throw new UsageError(`--calib-size ${pre.size.join('x')} does not match input '${inp.name}' of ${model.source || 'the model'}, which is fixed at ${fixedW}x${fixedH}`);
      if ((!fixedW || !fixedH) && !pre.size && !nativeSize) {
        // Symbolic H/W and no --calib-size: the first image's own size (frames of one video share it).
        nativeSize = await imageSize(files[0]);
        warnings.push(`input '${inp.name}' has symbolic spatial dims: calibrating at ${nativeSize[0]}x${nativeSize[1]}, the size of ${basename(files[0])} (set --calib-size WxH to choose)`);
      }
      const w = fixedW ?? pre.size?.[0] ?? nativeSize![0];
      const h = fixedH ?? pre.size?.[1] ?? nativeSize![1];
      const batch = typeof inp.dims[0] === 'number' ? (inp.dims[0] as number) : 1;
      if (batch !== 1) throw new UsageError(`input '${inp.name}' has batch ${batch}; image calibration feeds batch 1`);
      const rgb = await decodeImage(files[k * per + j], w, h);
      const data = new Float32Array(3 * w * h);
      for (let p = 0; p < w * h; p++) {
        for (let c = 0; c < 3; c++) {
          const x = (rgb[p * 3 + c] / 255 - pre.mean[c]) / pre.std[c];
          data[layout === 'nchw' ? c * w * h + p : p * 3 + c] = x;
        }
      }
      s[inp.name] = new ort.Tensor('float32', data, layout === 'nchw' ? [1, 3, h, w] : [1, h, w, 3]);
    }
    for (const o of others) s[o.name] = o.fill === undefined ? randomTensor(o.type, concrete(o.dims, () => 1), r) : filledTensor(o.type, concrete(o.dims, () => 1), o.fill);
    samples.push(s);
  }
  const norm = pre.mean.every((m) => m === 0) && pre.std.every((x) => x === 1) ? 'pixels/255' : `(pixels/255 − [${pre.mean.join(',')}]) / [${pre.std.join(',')}]`;
  return { samples, description: `${n} sample(s) from ${n * per} image(s) in ${basename(dir)}/ (cover-resize + centre crop, ${norm})`, warnings };
}

// ---------------------------------------------------------------------------------------------
// Calibrators

export type Calibrator = 'minmax' | 'percentile' | 'entropy';
export const CALIBRATORS: readonly Calibrator[] = ['minmax', 'percentile', 'entropy'];

export interface Range {
  min: number;
  max: number;
}

export interface CalibrateOptions {
  calibrator: Calibrator;
  /** For 'percentile': the share of values kept inside the range, in percent (default 99.99). */
  percentile?: number;
  session?: SessionOptions;
  bins?: number;
  /**
   * Types and dims of the values (probeTypes): the values are then exposed a chunk of at most
   * exposeBudgetBytes() at a time, and what onnxruntime returns is checked against them.
   */
  info?: ReadonlyMap<string, ValueInfo>;
  /** Overrides exposeBudgetBytes() (tests). */
  budgetBytes?: number;
}

const HIST_BINS = 2048;

/**
 * Per-tensor ranges of `names` over `samples`, by the chosen calibrator. Min and max are computed
 * inside the graph (one run per sample whatever the model's size); the histogram calibrators
 * then need the values themselves, exposed as outputs in chunks that fit exposeBudgetBytes()
 * when `opts.info` gives their sizes.
 */
export async function collectRanges(model: Model, samples: Sample[], names: readonly string[], opts: CalibrateOptions): Promise<Map<string, Range>> {
  if (!names.length) return new Map();
  if (!samples.length) throw new UsageError('no calibration samples (count 0)');
  const mm = await minMax(model, samples, names, opts);
  for (const [n, r] of mm) if (!Number.isFinite(r.min) || !Number.isFinite(r.max)) throw new KilnError(`calibration: tensor '${n}' holds NaN or infinite values on the calibration data; it cannot be quantized`);
  if (opts.calibrator === 'minmax') return mm;
  const bytes = (n: string): number => (opts.info?.get(n)?.dims.reduce((a, d) => a * d, 1) ?? 0) * 4;
  const chunks = opts.info ? chunkByBytes(names, bytes, opts.budgetBytes ?? exposeBudgetBytes()) : [names];
  const out = new Map<string, Range>();
  for (const chunk of chunks) for (const [k, r] of await histogramRanges(model, samples, chunk, mm, opts)) out.set(k, r);
  return out;
}

/**
 * Min and max of each tensor over the samples from a ReduceMin/ReduceMax pair added per tensor,
 * with its Shape checked against opts.info (kiln's shape inference) on the way. Only scalars
 * leave onnxruntime: one run per sample (exposing DAIN's 361 calibrated tensors took seven runs
 * of 2.9 GB chunks per sample). The session runs without the memory arena, which kept the peak of
 * every run and fragmented (DAIN, 361 tensors, 3 samples: killed at 22.9 GB with the arena; one
 * sample: 14.8 GB peak for the whole quantize process without it, FP32 reference run included).
 */
async function minMax(model: Model, samples: Sample[], names: readonly string[], opts: CalibrateOptions): Promise<Map<string, Range>> {
  const copy = cloneModel(model);
  const g = copy.graph;
  const keep0 = { keepdims: { type: 'int' as const, value: 0 } };
  const probes = names.map((n) => {
    const v = g.ownValue(n);
    if (!v) throw new KilnError(`internal: no value '${n}' to calibrate`);
    const [mn, mx, sh] = [g.addNode({ op: 'ReduceMin', inputs: [v], attrs: keep0 }), g.addNode({ op: 'ReduceMax', inputs: [v], attrs: keep0 }), g.addNode({ op: 'Shape', inputs: [v] })];
    for (const x of [mn, mx, sh]) g.addOutput(x.output(0));
    return { n, min: mn.output(0).name, max: mx.output(0).name, shape: sh.output(0).name };
  });
  const session = await createSession(encodeModel(copy), { ...opts.session, memArena: false }, `${model.source || 'model'} (calibration)`);
  try {
    const mm = new Map<string, Range>(names.map((n) => [n, { min: Infinity, max: -Infinity }]));
    for (const s of samples) {
      const res = await run(session, s, 'calibration');
      for (const p of probes) {
        const want = opts.info?.get(p.n);
        const dims = Array.from(res[p.shape].data as BigInt64Array, Number);
        if (want && (res[p.min].type !== want.dtype || dims.join() !== want.dims.join()))
          throw new KilnError(`internal: value '${p.n}' is ${res[p.min].type} ${dims.join('×')} in onnxruntime but ${want.dtype} ${want.dims.join('×')} by kiln's shape inference`);
        const r = mm.get(p.n)!;
        const lo = Number(res[p.min].data[0]);
        const hi = Number(res[p.max].data[0]);
        // NaN propagates through the reductions: keep it, so the caller reports the tensor
        r.min = Number.isNaN(lo) || lo < r.min ? lo : r.min;
        r.max = Number.isNaN(hi) || hi > r.max ? hi : r.max;
      }
    }
    return mm;
  } finally {
    await session.release();
  }
}

/** Histogram pass of the percentile and entropy calibrators over the ranges `mm`. */
async function histogramRanges(model: Model, samples: Sample[], names: readonly string[], mm: ReadonlyMap<string, Range>, opts: CalibrateOptions): Promise<Map<string, Range>> {
  const out = new Map<string, Range>();
  // No arena: the exposed tensors are handed to JavaScript and freed back into onnxruntime's arena,
  // which then grows again on the next run instead of reusing them (DAIN, 2.9 GB exposed: 21 GB
  // resident with the arena, 13 GB peak and 5 GB between runs without).
  const session = await createSession(withExtraOutputs(model, names), { ...opts.session, memArena: false }, `${model.source || 'model'} (calibration)`);
  try {
    // Percentile histograms values, Entropy their magnitudes (the KL search is over a symmetric
    // threshold, as in TensorRT).
    const bins = opts.bins ?? HIST_BINS;
    const hists = new Map<string, Float64Array>(names.map((n) => [n, new Float64Array(bins)]));
    for (const s of samples) {
      const res = await run(session, s, 'calibration');
      for (const n of names) {
        const r = mm.get(n)!;
        const h = hists.get(n)!;
        const d = res[n].data as Float32Array;
        if (opts.calibrator === 'percentile') {
          const w = (r.max - r.min) / bins || 1;
          for (let i = 0; i < d.length; i++) h[Math.min(bins - 1, Math.floor((d[i] - r.min) / w))]++;
        } else {
          const w = Math.max(Math.abs(r.min), Math.abs(r.max)) / bins || 1;
          for (let i = 0; i < d.length; i++) h[Math.min(bins - 1, Math.floor(Math.abs(d[i]) / w))]++;
        }
      }
    }
    for (const n of names) {
      const r = mm.get(n)!;
      const h = hists.get(n)!;
      out.set(n, opts.calibrator === 'percentile' ? percentileRange(h, r, opts.percentile ?? 99.99) : entropyRange(h, r));
    }
    return out;
  } finally {
    await session.release();
  }
}

/**
 * Keeps `pct` % of the values: when the tensor is one-sided (min ≥ 0, e.g. after ReLU) the
 * whole excess is cut from the top; otherwise half from each tail.
 */
export function percentileRange(h: Float64Array, r: Range, pct: number): Range {
  if (!(pct > 0 && pct <= 100)) throw new UsageError(`percentile must be in (0, 100], got ${pct}`);
  const total = h.reduce((a, b) => a + b, 0);
  const w = (r.max - r.min) / h.length;
  const cut = (1 - pct / 100) * total;
  const oneSided = r.min >= 0;
  const lowCut = oneSided ? 0 : cut / 2;
  const highCut = oneSided ? cut : cut / 2;
  let lo = r.min;
  let hi = r.max;
  let acc = 0;
  for (let i = 0; i < h.length; i++) {
    acc += h[i];
    if (acc > lowCut) {
      lo = oneSided ? r.min : r.min + i * w;
      break;
    }
  }
  acc = 0;
  for (let i = h.length - 1; i >= 0; i--) {
    acc += h[i];
    if (acc > highCut) {
      hi = r.min + (i + 1) * w;
      break;
    }
  }
  return { min: Math.max(r.min, lo), max: Math.min(r.max, hi) };
}

/**
 * The KL-divergence threshold of TensorRT's entropy calibration: for each candidate threshold
 * (bin i of the |x| histogram), P is the histogram up to i with the clipped tail folded into
 * its last bin, Q is P quantized to 128 levels and expanded back over P's non-empty bins; the
 * threshold minimising KL(P‖Q) wins.
 */
export function entropyRange(h: Float64Array, r: Range, levels = 128): Range {
  const bins = h.length;
  const absMax = Math.max(Math.abs(r.min), Math.abs(r.max));
  if (absMax === 0) return { ...r };
  const w = absMax / bins;
  let best = bins;
  let bestKl = Infinity;
  const p = new Float64Array(bins);
  // Every 4th candidate: the threshold moves by 1/512 of the range at most, and the search is 4× faster.
  for (let i = levels; i <= bins; i += 4) {
    let tail = 0;
    for (let j = i; j < bins; j++) tail += h[j];
    for (let j = 0; j < i; j++) p[j] = h[j];
    p[i - 1] += tail;
    const pSum = p.subarray(0, i).reduce((a, b) => a + b, 0);
    if (pSum === 0) continue;
    // Merge h[0:i] (without the tail) into `levels` groups, spread each over its non-empty bins.
    const q = new Float64Array(i);
    const per = i / levels;
    for (let k = 0; k < levels; k++) {
      const a = Math.floor(k * per);
      const b = k === levels - 1 ? i : Math.floor((k + 1) * per);
      let sum = 0;
      let nonzero = 0;
      for (let j = a; j < b; j++) {
        sum += h[j];
        if (h[j] > 0) nonzero++;
      }
      if (nonzero) for (let j = a; j < b; j++) if (h[j] > 0) q[j] = sum / nonzero;
    }
    const qSum = q.reduce((a, b) => a + b, 0);
    let kl = 0;
    for (let j = 0; j < i; j++) {
      if (p[j] === 0) continue;
      const pj = p[j] / pSum;
      const qj = q[j] / (qSum || 1);
      kl += qj > 0 ? pj * Math.log(pj / qj) : pj * 20; // an empty Q bin under mass in P: a large penalty
    }
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  const t = (best + 0.5) * w;
  return { min: Math.max(r.min, -t), max: Math.min(r.max, t) };
}
