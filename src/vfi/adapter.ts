// Input conventions of frame-interpolation models, told apart by the model's input signature.
//
//   kiln  img0, img1 float32 [N,3,H,W] RGB in [0,1], timestep float32 [N,1,1,1] (or [N,1,H,W],
//         [1], []); optional `scale` float32 [1] (motion estimated at that fraction of the
//         resolution). Output [N,3,H,W]. The shipped model (models/MODEL_CARD.md).
//   rife  one float32 [N,6,H,W] input (img0 ++ img1 on channels) and optionally a timestep
//         ([N,1,H,W] as RIFE 4.x, or [N,1,1,1]); without one t is fixed at 0.5.
//   pair  two float32 [1,3,H,W] inputs, no timestep: t is fixed at 0.5 (other t by recursion).
//
// H and W must be multiples of the model's stride: metadata_props `kiln.size_multiple` (16 for
// the shipped model, models/MODEL_CARD.md; also read: `kiln.pad_multiple`, `pad_multiple`,
// `multiple`), default 32, the largest stride of common VFI nets (RIFE and its relatives
// downsample 5 times). A model with fixed H and W is run on tiles.
import { ModelError, UsageError } from '../errors.js';
import { ort } from '../runtime/session.js';

export type AdapterKind = 'kiln' | 'rife' | 'pair';
export const ADAPTERS: readonly AdapterKind[] = ['kiln', 'rife', 'pair'];
export const DEFAULT_MULTIPLE = 32;
export const MULTIPLE_KEYS = ['kiln.size_multiple', 'kiln.pad_multiple', 'pad_multiple', 'multiple'];

type Meta = ort.InferenceSession.ValueMetadata;
type TensorMeta = Extract<Meta, { isTensor: true }>;

export interface Signature {
  inputs: readonly Meta[];
  outputs: readonly Meta[];
  metadata: Record<string, string>;
}

export interface Adapter {
  kind: AdapterKind;
  multiple: number;
  /** Spatial size the model accepts, when its H and W are fixed numbers. */
  fixed?: { h: number; w: number };
  /** The model has no timestep input: it always interpolates t = 0.5. */
  fixedT: boolean;
  supportsScale: boolean;
  outputName: string;
  /**
   * Feeds for one pair of planar frames of size h×w (already padded). `pairKey` names the
   * contents of (a, b): equal keys promise unchanged contents, null promises nothing.
   */
  feeds(a: Float32Array, b: Float32Array, h: number, w: number, t: number, scale: number, pairKey: string | null): Record<string, ort.Tensor>;
}

const SUPPORTED =
  'supported: kiln (img0, img1 float32 [N,3,H,W] + timestep [N,1,1,1]), ' +
  'rife (one float32 [N,6,H,W] input + optional timestep), ' +
  'pair (two float32 [1,3,H,W] inputs, t fixed at 0.5)';

const dimsText = (m: Meta): string => (m.isTensor ? `${m.type}[${m.shape.map(String).join(',')}]` : 'non-tensor');
export const describeInputs = (sig: Signature): string => sig.inputs.map((m) => `${m.name} ${dimsText(m)}`).join(', ') || 'none';

const isImage = (m: Meta, channels: number): m is TensorMeta =>
  m.isTensor && m.shape.length === 4 && m.shape[1] === channels;

const isTimestep = (m: Meta): m is TensorMeta =>
  m.isTensor && m.shape.length <= 4 && (m.shape.length < 4 || m.shape[1] === 1) && !isImage(m, 3);

function multipleOf(sig: Signature, file: string): number {
  for (const k of MULTIPLE_KEYS) {
    const v = sig.metadata[k];
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 1024) throw new ModelError(file, `metadata ${k}='${v}' is not a usable padding multiple`);
    return n;
  }
  return DEFAULT_MULTIPLE;
}

function fixedSize(m: TensorMeta, file: string): { h: number; w: number } | undefined {
  const [n, , h, w] = m.shape;
  if (typeof n === 'number' && n !== 1) throw new ModelError(file, `input ${m.name} has a fixed batch of ${n}; kiln feeds one pair at a time (batch 1 or symbolic)`);
  if (typeof h === 'number' && typeof w === 'number' && h > 0 && w > 0) return { h, w };
  if (typeof h === 'number' || typeof w === 'number') throw new ModelError(file, `input ${m.name} fixes only one of H and W (${dimsText(m)}); kiln needs both fixed or both free`);
  return undefined;
}

/** A timestep tensor shaped as the model declares it: scalar, [1], [N,1,1,1] or a full [N,1,H,W] plane. */
function timestepTensor(m: TensorMeta, t: number, h: number, w: number, cache: { buf?: Float32Array; t?: number }): ort.Tensor {
  const rank = m.shape.length;
  if (rank === 4 && !(m.shape[2] === 1 && m.shape[3] === 1)) {
    if (!cache.buf || cache.buf.length !== h * w) cache.buf = new Float32Array(h * w);
    if (cache.t !== t) {
      cache.buf.fill(t);
      cache.t = t;
    }
    return new ort.Tensor('float32', cache.buf, [1, 1, h, w]);
  }
  const dims = rank === 4 ? [1, 1, 1, 1] : rank === 3 ? [1, 1, 1] : rank === 2 ? [1, 1] : rank === 1 ? [1] : [];
  return new ort.Tensor('float32', new Float32Array([t]), dims);
}

function outputOf(sig: Signature, file: string): string {
  const o = sig.outputs.find((m) => m.isTensor && m.shape.length === 4 && (m.shape[1] === 3 || typeof m.shape[1] === 'string'));
  if (!o) throw new ModelError(file, `no output shaped [N,3,H,W] (outputs: ${sig.outputs.map((m) => `${m.name} ${dimsText(m)}`).join(', ')})`);
  return o.name;
}

function checkFloat(ms: Meta[], file: string): void {
  for (const m of ms) {
    if (m.isTensor && m.type !== 'float32')
      throw new ModelError(file, `input ${m.name} is ${m.type}; kiln feeds float32 frames (export the model with float32 inputs; FP16 inside the graph is fine)`);
  }
}

function tryKiln(sig: Signature, file: string): Adapter | null {
  const byName = (n: string) => sig.inputs.find((m) => m.name === n);
  let img0 = byName('img0');
  let img1 = byName('img1');
  let ts = byName('timestep');
  const scale = byName('scale');
  const rest = sig.inputs.filter((m) => m !== img0 && m !== img1 && m !== ts && m !== scale);
  if (!(img0 && img1 && ts)) {
    // Same convention, other names: two 3-channel images and one timestep-shaped input.
    const images = sig.inputs.filter((m) => isImage(m, 3));
    const others = sig.inputs.filter((m) => !isImage(m, 3));
    if (sig.inputs.length !== 3 || images.length !== 2 || others.length !== 1 || !isTimestep(others[0])) return null;
    [img0, img1, ts] = [images[0], images[1], others[0]];
  } else if (rest.length) return null;
  if (!img0 || !img1 || !ts || !isImage(img0, 3) || !isImage(img1, 3) || !isTimestep(ts)) return null;
  checkFloat([img0, img1, ts, ...(scale ? [scale] : [])], file);
  const names = { a: img0.name, b: img1.name, t: ts.name };
  const tsMeta = ts;
  const cache = {};
  return {
    kind: 'kiln',
    multiple: multipleOf(sig, file),
    fixed: fixedSize(img0, file),
    fixedT: false,
    supportsScale: Boolean(scale),
    outputName: outputOf(sig, file),
    feeds(a, b, h, w, t, s) {
      const f: Record<string, ort.Tensor> = {
        [names.a]: new ort.Tensor('float32', a, [1, 3, h, w]),
        [names.b]: new ort.Tensor('float32', b, [1, 3, h, w]),
        [names.t]: timestepTensor(tsMeta, t, h, w, cache),
      };
      if (scale) f[scale.name] = new ort.Tensor('float32', new Float32Array([s]), scale.isTensor && scale.shape.length === 0 ? [] : [1]);
      return f;
    },
  };
}

function tryRife(sig: Signature, file: string): Adapter | null {
  const six = sig.inputs.filter((m) => isImage(m, 6));
  if (six.length !== 1 || sig.inputs.length > 2) return null;
  const x = six[0] as TensorMeta;
  const ts = sig.inputs.find((m) => m !== x);
  if (ts && !isTimestep(ts)) return null;
  checkFloat(sig.inputs as Meta[], file);
  let cat: Float32Array | null = null;
  let lastKey: string | null = null;
  const cache = {};
  return {
    kind: 'rife',
    multiple: multipleOf(sig, file),
    fixed: fixedSize(x, file),
    fixedT: !ts,
    supportsScale: false,
    outputName: outputOf(sig, file),
    feeds(a, b, h, w, t, _scale, pairKey) {
      const plane = 3 * h * w;
      if (!cat || cat.length !== 2 * plane) {
        cat = new Float32Array(2 * plane);
        lastKey = null;
      }
      // Two memcpys, skipped while the same pair is interpolated at several t.
      if (pairKey === null || pairKey !== lastKey) {
        cat.set(a.subarray(0, plane), 0);
        cat.set(b.subarray(0, plane), plane);
      }
      lastKey = pairKey;
      const f: Record<string, ort.Tensor> = { [x.name]: new ort.Tensor('float32', cat, [1, 6, h, w]) };
      if (ts) f[ts.name] = timestepTensor(ts as TensorMeta, t, h, w, cache);
      return f;
    },
  };
}

function tryPair(sig: Signature, file: string): Adapter | null {
  if (sig.inputs.length !== 2 || !sig.inputs.every((m) => isImage(m, 3))) return null;
  const [m0, m1] = sig.inputs as TensorMeta[];
  checkFloat([m0, m1], file);
  return {
    kind: 'pair',
    multiple: multipleOf(sig, file),
    fixed: fixedSize(m0, file),
    fixedT: true,
    supportsScale: false,
    outputName: outputOf(sig, file),
    feeds(a, b, h, w) {
      return { [m0.name]: new ort.Tensor('float32', a, [1, 3, h, w]), [m1.name]: new ort.Tensor('float32', b, [1, 3, h, w]) };
    },
  };
}

const TRY: Record<AdapterKind, (sig: Signature, file: string) => Adapter | null> = { kiln: tryKiln, rife: tryRife, pair: tryPair };

/** The adapter for a model: the one asked for (checked to fit) or the first that fits. */
export function detectAdapter(sig: Signature, file: string, forced?: AdapterKind): Adapter {
  if (forced) {
    if (!ADAPTERS.includes(forced)) throw new UsageError(`--adapter must be one of ${ADAPTERS.join(', ')}, got '${forced}'`);
    const a = TRY[forced](sig, file);
    if (!a) throw new ModelError(file, `does not fit the '${forced}' adapter: inputs are ${describeInputs(sig)}; ${SUPPORTED}`);
    return a;
  }
  for (const k of ADAPTERS) {
    const a = TRY[k](sig, file);
    if (a) return a;
  }
  throw new ModelError(file, `is not a frame-interpolation model kiln knows how to feed: inputs are ${describeInputs(sig)}; ${SUPPORTED}`);
}
