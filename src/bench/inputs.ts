// Model inputs for measurement: concrete shapes from the session's input metadata plus the
// user's overrides, and seeded random tensors by element type. The same seed gives the same
// values whatever the element type (floats are drawn as float32 and then converted), so an
// FP32 model and its FP16 conversion see the same inputs. Inputs the model declares a value for
// (metadata `kiln.input_defaults`, src/runtime/input-defaults.ts) get that value instead.
import { UsageError } from '../errors.js';
import { readMetadataProps } from '../onnx/metadata.js';
import { inputDefaults } from '../runtime/input-defaults.js';
import { namedDimValues } from '../runtime/named-dims.js';
import { ort } from '../runtime/session.js';

export interface InputSpec {
  name: string;
  type: ort.Tensor.Type;
  shape: number[];
  /** Every element is this value (declared by the model) rather than random. */
  fill?: number;
}

export interface ShapeOptions {
  /** Full shapes by input name (`--input-shape x=1x3x480x640`). */
  shapes?: Record<string, number[]>;
  /** Replaces dimension 0 of every input (`--batch N`); the model must allow it. */
  batch?: number;
  /** Fills the dynamic H and W (dims 2 and 3) of rank-4 inputs, e.g. from a deployment profile. */
  image?: { width: number; height: number };
  /** Ignore `shapes` entries this model has no input for (several models, one --input-shape list). */
  lenientNames?: boolean;
}

type Meta = readonly ort.InferenceSession.ValueMetadata[];

const isDynamic = (d: number | string): d is string => typeof d === 'string' || d < 0;
const dimName = (d: number | string): string => (typeof d === 'string' && d !== '' ? d : '?');

/**
 * Concrete input shapes, or a UsageError that lists every dimension still unknown, so the user
 * can fix them all with one `--input-shape` per input. A named dynamic dim (N, H, W) takes the
 * value an `--input-shape` gave it in another input: `img0=1x3x480x640` also sets timestep's
 * [N,1,1,1] to 1x1x1x1. `source` (the model's file or bytes): inputs its metadata declares a
 * value for are filled with that value.
 */
export function resolveInputs(meta: Meta, opts: ShapeOptions = {}, label = 'model', source?: string | Uint8Array): InputSpec[] {
  const declared = source === undefined ? new Map<string, number>() : inputDefaults(readMetadataProps(source), label);
  const specs: InputSpec[] = [];
  const unknown: string[] = [];
  const known = new Set(meta.map((m) => m.name));
  for (const name of Object.keys(opts.shapes ?? {})) {
    if (!known.has(name) && !opts.lenientNames) throw new UsageError(`${label}: --input-shape names '${name}', but the model's inputs are ${[...known].join(', ')}`);
  }
  const bound = namedDimValues(meta.filter((m) => m.isTensor).map((m) => ({ name: m.name, shape: (m as { shape: readonly (number | string)[] }).shape })), opts.shapes, label, opts.batch !== undefined);
  const batched = meta.some((m) => m.isTensor && m.shape.length > 0 && isDynamic(m.shape[0]));
  for (const m of meta) {
    if (!m.isTensor) throw new UsageError(`${label}: input '${m.name}' is not a tensor; kiln can only feed tensors`);
    const given = opts.shapes?.[m.name];
    let dims: (number | string)[];
    if (given) {
      if (m.shape.length > 0 && given.length !== m.shape.length) {
        throw new UsageError(`${label}: --input-shape ${m.name} has rank ${given.length}, the model expects rank ${m.shape.length} [${m.shape.map(String).join(', ')}]`);
      }
      m.shape.forEach((d, i) => {
        if (!isDynamic(d) && d !== given[i] && !(i === 0 && opts.batch !== undefined)) {
          throw new UsageError(`${label}: --input-shape ${m.name} sets dim ${i} to ${given[i]}, but the model fixes it at ${d}`);
        }
      });
      dims = [...given];
    } else {
      dims = [...m.shape];
    }
    if (opts.batch !== undefined && dims.length > 0) {
      const d0 = m.shape.length > 0 ? m.shape[0] : dims[0];
      // An input with a fixed dim 0 beside batched ones is not batched (kiln-vfi's scale [1]).
      if (!isDynamic(d0) && d0 !== opts.batch && !batched) {
        throw new UsageError(`${label}: input '${m.name}' has a fixed batch dimension of ${d0}; batch ${opts.batch} needs a model exported with a dynamic dim 0`);
      }
      if (isDynamic(d0)) dims[0] = opts.batch;
    }
    if (opts.image && dims.length === 4) {
      if (isDynamic(dims[2])) dims[2] = opts.image.height;
      if (isDynamic(dims[3])) dims[3] = opts.image.width;
    }
    dims = dims.map((d) => (typeof d === 'string' && bound.has(d) ? (bound.get(d) as number) : d));
    dims.forEach((d, i) => {
      if (isDynamic(d)) unknown.push(`${m.name}[${i}] (${dimName(d)}) of [${dims.map((x) => (isDynamic(x) ? dimName(x) : String(x))).join(', ')}]`);
    });
    const fill = declared.get(m.name);
    specs.push({ name: m.name, type: m.type, shape: dims.map((d) => (isDynamic(d) ? -1 : d)), ...(fill === undefined ? {} : { fill }) });
  }
  if (unknown.length > 0) {
    const example = specs.map((sp, k) => `--input-shape ${sp.name}=${sp.shape.map((d, i) => (d < 0 ? `<${dimName((meta[k] as { shape: readonly (number | string)[] }).shape[i] ?? '?')}>` : d)).join('x')}`).join(' ');
    throw new UsageError(`${label}: dynamic input dimensions need values: ${unknown.join('; ')}. Give them with ${example}, replacing each <dim> with a number`);
  }
  return specs;
}

/** Small, fast, seedable PRNG (a 32-bit xorshift variant); quality is ample for test inputs. */
export function rng(seed: number): () => number {
  let s = (seed >>> 0) ^ 0x9e3779b9;
  if (s === 0) s = 0x6d2b79f5;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** IEEE 754 binary32 → binary16 bits, round to nearest even. */
export function toHalfBits(v: number): number {
  F32[0] = v;
  const x = U32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is still correct (up to infinity)
  return sign | h;
}

/** binary16 bits → number. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * A seeded random tensor: floats uniform in [0, 1) (image-like), integers in [0, 10), uint8 in
 * [0, 256), bool 0/1. Each input gets its own stream (seed + input index). A spec with `fill`
 * gives that value everywhere.
 */
export function randomTensor(spec: InputSpec, seed: number): ort.Tensor {
  const n = count(spec.shape);
  if (spec.fill !== undefined) return filledTensor(spec.type, spec.shape, spec.fill, spec.name);
  const r = rng(seed);
  switch (spec.type) {
    case 'float32':
    case 'float64':
    case 'float16': {
      const f = new Float32Array(n);
      for (let i = 0; i < n; i++) f[i] = r();
      if (spec.type === 'float32') return new ort.Tensor('float32', f, spec.shape);
      if (spec.type === 'float64') return new ort.Tensor('float64', Float64Array.from(f), spec.shape);
      const h = new Uint16Array(n);
      for (let i = 0; i < n; i++) h[i] = toHalfBits(f[i]);
      return new ort.Tensor('float16', h, spec.shape);
    }
    case 'uint8':
    case 'bool': {
      const u = new Uint8Array(n);
      const range = spec.type === 'bool' ? 2 : 256;
      for (let i = 0; i < n; i++) u[i] = Math.floor(r() * range);
      return new ort.Tensor(spec.type, u, spec.shape);
    }
    case 'int8':
    case 'int16':
    case 'int32':
    case 'uint16':
    case 'uint32': {
      const ctor = { int8: Int8Array, int16: Int16Array, int32: Int32Array, uint16: Uint16Array, uint32: Uint32Array }[spec.type];
      const a = new ctor(n);
      for (let i = 0; i < n; i++) a[i] = Math.floor(r() * 10);
      return new ort.Tensor(spec.type, a, spec.shape);
    }
    case 'int64':
    case 'uint64': {
      const a = spec.type === 'int64' ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) a[i] = BigInt(Math.floor(r() * 10));
      return new ort.Tensor(spec.type, a, spec.shape);
    }
    default:
      throw new UsageError(`input '${spec.name}': kiln cannot make random inputs of element type ${spec.type}`);
  }
}

/** A tensor with every element `v` (a value the model declares for a setting input). */
export function filledTensor(type: ort.Tensor.Type, shape: readonly number[], v: number, name = 'input'): ort.Tensor {
  const n = count(shape);
  const dims = [...shape];
  switch (type) {
    case 'float32':
      return new ort.Tensor('float32', new Float32Array(n).fill(v), dims);
    case 'float64':
      return new ort.Tensor('float64', new Float64Array(n).fill(v), dims);
    case 'float16':
      return new ort.Tensor('float16', new Uint16Array(n).fill(toHalfBits(v)), dims);
    case 'int32':
      return new ort.Tensor('int32', new Int32Array(n).fill(v), dims);
    case 'int64':
      return new ort.Tensor('int64', new BigInt64Array(n).fill(BigInt(Math.trunc(v))), dims);
    case 'bool':
    case 'uint8':
      return new ort.Tensor(type, new Uint8Array(n).fill(v ? (type === 'bool' ? 1 : v) : 0), dims);
    default:
      throw new UsageError(`input '${name}': kiln cannot fill inputs of element type ${type} with a declared value`);
  }
}

export function randomFeeds(specs: readonly InputSpec[], seed: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  specs.forEach((s, i) => (feeds[s.name] = randomTensor(s, seed * 1000 + i)));
  return feeds;
}

/** Tensor values as float64 numbers, whatever the element type (float16 decoded). */
export function toNumbers(t: ort.Tensor): Float64Array {
  const d = t.data;
  if (t.type === 'float16') {
    const h = d as Uint16Array;
    const out = new Float64Array(h.length);
    for (let i = 0; i < h.length; i++) out[i] = fromHalfBits(h[i]);
    return out;
  }
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, (v) => Number(v));
  if (Array.isArray(d)) throw new UsageError(`cannot compare string tensors numerically`);
  return Float64Array.from(d as ArrayLike<number>);
}

export const describeShape = (specs: readonly InputSpec[]): string => specs.map((s) => `${s.name}=${s.shape.join('x')}${s.fill === undefined ? '' : ` (value ${s.fill})`}`).join(' ');
export const elementCount = count;
