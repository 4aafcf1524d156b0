// IR → ONNX file. Writes atomically (temp file beside the target, renamed on success) and moves
// large weights to an external-data file when the model would exceed protobuf's 2 GiB limit,
// so no single buffer larger than that is ever built.
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { KilnError } from '../errors.js';
import { DataType } from '../ir/dtype.js';
import type { Attribute, Dim, Graph, KeyValue, Model, ValueType } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import protobuf from 'protobufjs/minimal.js';
import { onnx, toLong } from './codec.js';

/** Protobuf messages cannot exceed 2 GiB; leave room for the graph itself. */
export const INLINE_LIMIT = 2 ** 31 - 64 * 2 ** 20;

export interface SaveOptions {
  /** 'auto' (default): external only when the weights would not fit inline. */
  externalData?: 'auto' | 'always' | 'never';
  /** External data file name, relative to the model's folder (default `<model file>.data`). */
  location?: string;
  /** With external data, tensors smaller than this many bytes stay inline (default 1024). */
  sizeThreshold?: number;
  /** Paths that must never be overwritten (the command's inputs). */
  protect?: readonly string[];
  /** Weight bytes above which 'auto' goes external and 'never' refuses (default INLINE_LIMIT). */
  inlineLimit?: number;
}

interface ExternalSink {
  write(t: Tensor): { offset: number; length: number };
  readonly location: string;
}

const limitOf = (opts: { inlineLimit?: number }): number => opts.inlineLimit ?? INLINE_LIMIT;

function tooBig(total: number): KilnError {
  return new KilnError(`model weights total ${(total / 2 ** 30).toFixed(2)} GiB, more than one protobuf can hold (2 GiB); save with external data`);
}

/** The serialized model in memory (weights inline). */
export function encodeModel(model: Model, opts: { inlineLimit?: number } = {}): Uint8Array {
  const total = tensorBytes(model.graph);
  if (total > limitOf(opts)) throw tooBig(total);
  return Buffer.concat(encodeParts(model, null, 0));
}

export async function saveModel(model: Model, path: string, opts: SaveOptions = {}): Promise<{ bytes: number; externalFile?: string }> {
  const target = resolve(path);
  for (const p of opts.protect ?? []) if (resolve(p) === target) throw new KilnError(`refusing to overwrite the input ${path}; choose another output path`);
  const mode = opts.externalData ?? 'auto';
  const total = tensorBytes(model.graph);
  if (mode === 'never' && total > limitOf(opts)) throw tooBig(total);
  const useExternal = mode === 'always' || (mode === 'auto' && total > limitOf(opts));
  const tmp = `${target}.kiln-tmp-${process.pid}`;
  if (!useExternal) return { bytes: writeAtomic(tmp, target, encodeParts(model, null, 0)) };
  const location = opts.location ?? `${basename(target)}.data`;
  if (/[\\/]|^\.\.?$/.test(location)) throw new KilnError(`external data location '${location}' must be a plain file name`);
  const dataPath = join(dirname(target), location);
  for (const p of opts.protect ?? []) if (resolve(p) === dataPath) throw new KilnError(`refusing to overwrite the input ${p}`);
  const dataTmp = `${dataPath}.kiln-tmp-${process.pid}`;
  const fd = openSync(dataTmp, 'w');
  const moved: { t: Tensor; offset: number; length: number }[] = [];
  let offset = 0;
  const sink: ExternalSink = {
    location,
    write(t) {
      const bytes = t.bytes();
      // Large tensors start on a page boundary so onnxruntime can map them.
      if (bytes.byteLength >= 2 ** 20 && offset % 4096) offset += 4096 - (offset % 4096);
      writeAll(fd, bytes, offset);
      const at = { offset, length: bytes.byteLength };
      offset += bytes.byteLength;
      moved.push({ t, ...at });
      t.releaseExternal();
      return at;
    },
  };
  try {
    let parts: Uint8Array[];
    try {
      parts = encodeParts(model, sink, opts.sizeThreshold ?? 1024);
    } finally {
      closeSync(fd);
    }
    renameSync(dataTmp, dataPath);
    const bytes = writeAtomic(tmp, target, parts);
    // The tensors now live in the new file: point them there.
    for (const m of moved) m.t.external = { path: dataPath, location, offset: m.offset, length: m.length };
    return { bytes, externalFile: dataPath };
  } catch (e) {
    rmSync(dataTmp, { force: true });
    throw e;
  }
}

function writeAll(fd: number, bytes: Uint8Array, position: number | null): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done, position === null ? null : position + done);
}

/** Writes the chunks to a temp file beside the target and renames it over the target. */
function writeAtomic(tmp: string, target: string, parts: readonly Uint8Array[]): number {
  let total = 0;
  try {
    const fd = openSync(tmp, 'w');
    try {
      for (const p of parts) {
        writeAll(fd, p, null);
        total += p.byteLength;
      }
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
    return total;
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new KilnError(`cannot write ${target}: ${(e as Error).message}`, { cause: e });
  }
}

// Streamed encoding. A protobuf message may list its fields in any order, so the model is
// written as: ModelProto without its graph, then field 7 (graph) whose body is the GraphProto
// without initializers followed by one field-5 entry per initializer, each ending with its
// raw_data (field 9) taken straight from the tensor's own bytes. No buffer the size of the
// model is ever built, and weights are never copied on their way to the file.
const WIRE_LEN = 2;
const header = (field: number, length: number): Uint8Array => protobuf.Writer.create().uint32((field << 3) | WIRE_LEN).uint32(length).finish();
const GRAPH_FIELD = 7, INITIALIZER_FIELD = 5, RAW_DATA_FIELD = 9;

function encodeParts(m: Model, sink: ExternalSink | null, threshold: number): Uint8Array[] {
  const proto = modelProto(m, sink, threshold);
  const graph = proto.graph!;
  const initializers = graph.initializer ?? [];
  const head = onnx.ModelProto.encode({ ...proto, graph: undefined }).finish();
  const graphHead = onnx.GraphProto.encode({ ...graph, initializer: [] }).finish();
  const body: Uint8Array[] = [graphHead];
  for (const t of initializers) {
    const raw = t.rawData;
    if (!raw || raw.byteLength < 4096) {
      const bytes = onnx.TensorProto.encode(t).finish();
      body.push(header(INITIALIZER_FIELD, bytes.byteLength), bytes);
      continue;
    }
    const meta = onnx.TensorProto.encode({ ...t, rawData: undefined }).finish();
    const rawHead = header(RAW_DATA_FIELD, raw.byteLength);
    body.push(header(INITIALIZER_FIELD, meta.byteLength + rawHead.byteLength + raw.byteLength), meta, rawHead, raw);
  }
  const graphLength = body.reduce((a, b) => a + b.byteLength, 0);
  return [head, header(GRAPH_FIELD, graphLength), ...body];
}

function tensorBytes(g: Graph): number {
  let total = 0;
  for (const v of g.initializers) if (v.initializer && v.initializer.dataType !== DataType.STRING) total += v.initializer.byteLength;
  for (const n of g.nodes) for (const a of n.attributes.values()) {
    if (a.type === 'tensor' && a.value.dataType !== DataType.STRING) total += a.value.byteLength;
    if (a.type === 'graph') total += tensorBytes(a.value);
    if (a.type === 'graphs') for (const sg of a.value) total += tensorBytes(sg);
  }
  return total;
}

const kvProto = (e: KeyValue[]): onnx.IStringStringEntryProto[] => e.map((x) => ({ key: x.key, value: x.value }));

function modelProto(m: Model, sink: ExternalSink | null, threshold: number): onnx.IModelProto {
  return {
    irVersion: toLong(m.irVersion),
    opsetImport: [...m.opsetImports].map(([domain, version]) => ({ domain, version: toLong(version) })),
    producerName: m.producerName || undefined,
    producerVersion: m.producerVersion || undefined,
    domain: m.domain || undefined,
    modelVersion: m.modelVersion ? toLong(m.modelVersion) : undefined,
    docString: m.docString || undefined,
    graph: graphProto(m.graph, sink, threshold),
    metadataProps: kvProto(m.metadataProps),
    trainingInfo: m.trainingInfo as onnx.ITrainingInfoProto[],
    functions: m.functions as onnx.IFunctionProto[],
    configuration: m.configuration as onnx.IDeviceConfigurationProto[],
  };
}

function graphProto(g: Graph, sink: ExternalSink | null, threshold: number): onnx.IGraphProto {
  const valueInfo: onnx.IValueInfoProto[] = [];
  for (const v of g.allValues()) {
    if (v.type && !v.isGraphInput && !v.isGraphOutput && !v.initializer) valueInfo.push(valueInfoProto(v.name, v.type, v.docString, v.metadataProps));
  }
  return {
    name: g.name || undefined,
    docString: g.docString || undefined,
    node: g.nodes.map((n) => ({
      input: n.inputs.map((v) => v?.name ?? ''),
      output: n.outputs.map((v) => v?.name ?? ''),
      name: n.name || undefined,
      opType: n.opType,
      domain: n.domain || undefined,
      overload: n.overload || undefined,
      docString: n.docString || undefined,
      attribute: [...n.attributes].map(([name, a]) => attributeProto(name, a, sink, threshold)),
      metadataProps: kvProto(n.metadataProps),
      deviceConfigurations: n.deviceConfigurations as onnx.INodeDeviceConfigurationProto[],
    })),
    initializer: g.initializers.map((v) => tensorProto(v.initializer!, v.name, sink, threshold)),
    sparseInitializer: g.sparseInitializers as onnx.ISparseTensorProto[],
    input: g.inputs.map((v) => valueInfoProto(v.name, v.type ?? (v.initializer ? { kind: 'tensor', elemType: v.initializer.dataType, shape: v.initializer.dims } : undefined), v.docString, v.metadataProps)),
    output: g.outputs.map((v) => valueInfoProto(v.name, v.type, v.docString, v.metadataProps)),
    valueInfo,
    quantizationAnnotation: g.quantizationAnnotation as onnx.ITensorAnnotation[],
    metadataProps: kvProto(g.metadataProps),
  };
}

function valueInfoProto(name: string, type: ValueType | undefined, doc: string, meta: KeyValue[]): onnx.IValueInfoProto {
  return { name, type: type ? typeProto(type) : undefined, docString: doc || undefined, metadataProps: kvProto(meta) };
}

function typeProto(t: ValueType): onnx.ITypeProto {
  if (t.kind === 'opaque') return t.proto as onnx.ITypeProto;
  const shape = t.shape ? { dim: t.shape.map((d, i) => dimProto(d, t.dimDenotations?.[i])) } : undefined;
  const body = { elemType: t.elemType, shape };
  return t.kind === 'tensor' ? { tensorType: body, denotation: t.denotation } : { sparseTensorType: body, denotation: t.denotation };
}

function dimProto(d: Dim, denotation?: string): onnx.TensorShapeProto.IDimension {
  const base = denotation ? { denotation } : {};
  if (typeof d === 'number') return { ...base, dimValue: toLong(d) };
  if (typeof d === 'string') return { ...base, dimParam: d };
  return base;
}

export function tensorProto(t: Tensor, name: string | undefined, sink: ExternalSink | null, threshold: number): onnx.ITensorProto {
  const p: onnx.ITensorProto = {
    name: name || undefined,
    dims: t.dims.map(toLong),
    dataType: t.dataType,
    docString: t.docString || undefined,
    metadataProps: kvProto(t.metadataProps),
  };
  if (t.dataType === DataType.STRING) p.stringData = t.stringData();
  else if (sink && t.byteLength >= threshold) {
    const at = sink.write(t);
    p.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    p.externalData = [
      { key: 'location', value: sink.location },
      { key: 'offset', value: String(at.offset) },
      { key: 'length', value: String(at.length) },
    ];
  } else p.rawData = t.bytes();
  return p;
}

function attributeProto(name: string, a: Attribute, sink: ExternalSink | null, threshold: number): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  const p: onnx.IAttributeProto = { name, refAttrName: a.refAttrName, docString: a.docString };
  switch (a.type) {
    case 'float': return { ...p, type: T.FLOAT, f: a.value };
    case 'int': return { ...p, type: T.INT, i: toLong(a.value) };
    case 'string': return { ...p, type: T.STRING, s: a.value };
    case 'tensor': return { ...p, type: T.TENSOR, t: tensorProto(a.value, a.value.name || undefined, sink, threshold) };
    case 'graph': return { ...p, type: T.GRAPH, g: graphProto(a.value, sink, threshold) };
    case 'floats': return { ...p, type: T.FLOATS, floats: a.value };
    case 'ints': return { ...p, type: T.INTS, ints: a.value.map(toLong) };
    case 'strings': return { ...p, type: T.STRINGS, strings: a.value };
    case 'tensors': return { ...p, type: T.TENSORS, tensors: a.value.map((t) => tensorProto(t, t.name || undefined, sink, threshold)) };
    case 'graphs': return { ...p, type: T.GRAPHS, graphs: a.value.map((g) => graphProto(g, sink, threshold)) };
    case 'sparse_tensor': return { ...p, type: T.SPARSE_TENSOR, sparseTensor: a.value as onnx.ISparseTensorProto };
    case 'sparse_tensors': return { ...p, type: T.SPARSE_TENSORS, sparseTensors: a.value as onnx.ISparseTensorProto[] };
    case 'type_proto': return { ...p, type: T.TYPE_PROTO, tp: a.value as onnx.ITypeProto };
    case 'type_protos': return { ...p, type: T.TYPE_PROTOS, typeProtos: a.value as onnx.ITypeProto[] };
  }
}
