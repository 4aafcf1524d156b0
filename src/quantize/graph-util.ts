// Small helpers the quantizers share: copying a model, the type and shape of every value
// (probeTypes), running it with intermediate values exposed as outputs in memory-bounded chunks
// (the activations calibration needs), and the one rename the IR's rewrite API does not offer
// (see swapNodeIoNames).
import os from 'node:os';
import { KilnError } from '../errors.js';
import { DataType, dtypeInfo } from '../ir/dtype.js';
import type { Graph, Model, Node, Value } from '../ir/graph.js';
import { inferShapes } from '../ir/shape-inference.js';
import type { Tensor } from '../ir/tensor.js';
import { onnx } from '../onnx/codec.js';
import { decodeModel } from '../onnx/read.js';
import { encodeModel } from '../onnx/write.js';
import { createSession, run, ort, type SessionOptions } from '../runtime/session.js';

/** One set of model inputs (a calibration or evaluation sample). */
export type Sample = Record<string, ort.Tensor>;

/** A deep copy (through the protobuf encoding: the IR has no clone and this one is exact). */
export function cloneModel(model: Model): Model {
  const copy = decodeModel(encodeModel(model), { file: model.source || '<model>', verify: false });
  copy.source = model.source;
  return copy;
}

/** Float values computed by nodes of the main graph (not initializers, not graph inputs). */
export function computedValues(model: Model): Value[] {
  const out: Value[] = [];
  for (const n of model.graph.nodes) for (const v of n.outputs) if (v) out.push(v);
  return out;
}

/** Serialized copy of `model` whose graph also outputs `names` (untyped: onnxruntime infers them). */
export function withExtraOutputs(model: Model, names: readonly string[]): Uint8Array {
  const copy = cloneModel(model);
  const g = copy.graph;
  for (const name of names) {
    const v = g.ownValue(name);
    if (!v) throw new KilnError(`internal: no value '${name}' to expose`);
    if (!v.isGraphOutput) g.addOutput(v);
  }
  return encodeModel(copy);
}

export interface ValueInfo {
  dtype: ort.Tensor.Type;
  dims: number[];
}

/**
 * Bytes of intermediate values one run may expose as extra outputs (allocated on top of the run's
 * own working memory, which cannot reuse them): an eighth of the machine's memory, at most 4 GiB. Exposing every value of a large model at once does not fit: DAIN at 640×480 holds
 * ≈8 GB in onnxruntime for one run, its values together far more.
 */
export function exposeBudgetBytes(): number {
  return Math.max(256 * 2 ** 20, Math.min(4 * 2 ** 30, Math.floor(os.totalmem() / 8)));
}

/** Splits `names` into runs of at most `budget` bytes each (a larger value gets a run of its own). */
export function chunkByBytes(names: readonly string[], bytes: (name: string) => number, budget: number): string[][] {
  const chunks: string[][] = [];
  let cur: string[] = [];
  let sum = 0;
  for (const n of names) {
    const b = bytes(n);
    if (cur.length && sum + b > budget) {
      chunks.push(cur);
      cur = [];
      sum = 0;
    }
    cur.push(n);
    sum += b;
  }
  if (cur.length) chunks.push(cur);
  return chunks;
}

/** Values onnxruntime is asked about per run when kiln's shape inference left them open. */
const PROBE_CHUNK = 256;

/**
 * Element type and dims of every value of the main graph for this sample's input sizes. kiln's
 * shape inference answers where it resolves a value fully; onnxruntime is run (a chunk of values
 * at a time) only for the rest. collectRanges checks the dims it gets back against these.
 */
export async function probeTypes(model: Model, sample: Sample, opts: SessionOptions = {}): Promise<Map<string, ValueInfo>> {
  const info = new Map<string, ValueInfo>();
  const inferred = cloneModel(model);
  inferShapes(inferred, { inputShapes: Object.fromEntries(inferred.graph.inputs.filter((v) => sample[v.name]).map((v) => [v.name, [...sample[v.name].dims]])) });
  const open: string[] = [];
  for (const v of computedValues(inferred)) {
    const t = v.tensorType;
    const dtype = t ? dtypeInfo(t.elemType).ort : undefined;
    if (t?.shape && dtype && t.shape.every((d) => typeof d === 'number')) info.set(v.name, { dtype: dtype as ort.Tensor.Type, dims: t.shape as number[] });
    else open.push(v.name);
  }
  for (let i = 0; i < open.length; i += PROBE_CHUNK) {
    const names = open.slice(i, i + PROBE_CHUNK);
    const session = await createSession(withExtraOutputs(model, names), { optLevel: 'disabled', ...opts, memArena: false }, model.source || 'model');
    try {
      const res = await run(session, sample, model.source || 'model');
      for (const n of names) if (res[n]) info.set(n, { dtype: res[n].type, dims: [...res[n].dims] });
    } finally {
      await session.release();
    }
  }
  for (const v of model.graph.inputs) {
    const t = sample[v.name];
    if (t) info.set(v.name, { dtype: t.type, dims: [...t.dims] });
  }
  return info;
}

export const isFloatInfo = (i: ValueInfo | undefined): boolean => i?.dtype === 'float32';

/**
 * The constant a value holds: an initializer, a Constant node's tensor, or either behind
 * Identity nodes (PyTorch exports shared parameters as Identity of one initializer).
 */
export function constTensor(v: Value | null): Tensor | undefined {
  for (let i = 0; v && i < 8; i++) {
    if (v.initializer) return v.initializer;
    const p = v.producer;
    if (!p || p.domain !== '') return undefined;
    if (p.opType === 'Constant') return p.getTensor('value');
    if (p.opType !== 'Identity') return undefined;
    v = p.input(0);
  }
  return undefined;
}

/** Float32 constants (initializers, Constant nodes, and those behind Identity). */
export const isFloatConstant = (v: Value | null): boolean => constTensor(v)?.dataType === DataType.FLOAT;

/** Removes Identity/Constant nodes nothing reads any more (left behind when their constant was replaced). */
export function dropDeadConstants(g: Graph): void {
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of [...g.nodes].reverse()) {
      if (n.domain !== '' || (n.opType !== 'Identity' && n.opType !== 'Constant')) continue;
      if (n.outputs.some((v) => v && (v.uses.length || v.isGraphOutput))) continue;
      g.removeNode(n);
      changed = true;
    }
  }
  for (const v of [...g.initializers]) if (!v.uses.length && !v.isGraphInput && !v.isGraphOutput) g.removeInitializer(v);
}

/**
 * Swaps the names of pairs of values in node inputs and outputs only (graph output entries and
 * value_info keep theirs). This is how a graph output T gets a new producer while keeping its
 * name and declared type: build `P → T → Cast → T2` with T2 typed as P's real output, swap
 * (T, T2), and the file reads `P → T2 → Cast → T`. The IR never renames values, so this
 * happens on the protobuf and the model is decoded again.
 */
export function swapNodeIoNames(model: Model, pairs: ReadonlyArray<readonly [string, string]>): Model {
  if (!pairs.length) return model;
  const map = new Map<string, string>();
  for (const [a, b] of pairs) {
    map.set(a, b);
    map.set(b, a);
  }
  const proto = onnx.ModelProto.decode(encodeModel(model));
  const graph = proto.graph as onnx.GraphProto;
  for (const n of graph.node) {
    n.input = (n.input ?? []).map((s) => map.get(s) ?? s);
    n.output = (n.output ?? []).map((s) => map.get(s) ?? s);
  }
  // value_info entries for swapped names would describe the wrong value now; onnxruntime infers them.
  graph.valueInfo = graph.valueInfo.filter((vi) => !map.has(vi.name ?? ''));
  const out = decodeModel(onnx.ModelProto.encode(proto).finish(), { file: model.source || '<model>' });
  out.source = model.source;
  return out;
}

/** Opset of the default domain, at least `min` (QuantizeLinear with `axis` needs 13). */
export function ensureOpset(model: Model, min: number): void {
  const v = model.opset('') ?? 1;
  if (v < min) throw new KilnError(`${model.source || 'model'}: opset ${v} is older than ${min}, which per-channel QuantizeLinear/DequantizeLinear need; re-export the model with opset ≥ ${min}`);
}

/** The node that consumes `v` when it has exactly one consumer and is not a graph output. */
export function soleConsumer(v: Value): Node | null {
  if (v.isGraphOutput || v.uses.length !== 1) return null;
  return v.uses[0].node;
}

export function tensorToOrt(dt: DataType, dims: readonly number[], data: ArrayLike<number>): ort.Tensor {
  if (dt !== DataType.FLOAT) throw new KilnError('internal: only float32 samples are generated');
  return new ort.Tensor('float32', Float32Array.from(data), [...dims]);
}

/**
 * Unique node names from readable hints. Graph.uniqueName covers value names only; node names
 * are a namespace of their own, and onnxruntime refuses a model where two nodes share one.
 */
export function nodeNamer(g: Graph): (hint: string) => string {
  const used = new Set(g.nodes.map((n) => n.name));
  return (hint: string): string => {
    let name = hint;
    for (let i = 1; used.has(name); i++) name = `${hint}_${i}`;
    used.add(name);
    return name;
  };
}
