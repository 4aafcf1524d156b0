// ONNX file → IR. Every problem found here is a ModelError that names the file and the
// culprit (node, tensor, attribute): garbage, truncation, dangling inputs, duplicate names,
// cycles, and external data that is missing, too short, or points outside the model's folder.
import { readFile, stat } from 'node:fs/promises';
import { realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { ModelError } from '../errors.js';
import { DataType, DTYPES, byteLength, dtypeInfo, dtypeName } from '../ir/dtype.js';
import { Tensor, numel } from '../ir/tensor.js';
import { DuplicateNameError, Graph, Model, Node, type Attribute, type Dim, type KeyValue, type ValueType } from '../ir/graph.js';
import { verify } from '../ir/verify.js';
import { onnx, toNum } from './codec.js';
import { checkWire, WireError } from './wire.js';

export interface LoadOptions {
  /** Run verify() after loading (default true). */
  verify?: boolean;
}

interface Ctx {
  file: string;
  baseDir?: string;
  realBase?: string;
  sizes: Map<string, number>;
}

export async function loadModel(file: string, opts: LoadOptions = {}): Promise<Model> {
  let bytes: Buffer;
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw new ModelError(file, 'is a directory, not an ONNX file');
    bytes = await readFile(file);
  } catch (e) {
    if (e instanceof ModelError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelError(file, code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}`, { cause: e });
  }
  return decodeModel(bytes, { file, baseDir: dirname(resolve(file)), ...opts });
}

export function decodeModel(bytes: Uint8Array, opts: LoadOptions & { file?: string; baseDir?: string } = {}): Model {
  const file = opts.file ?? '<model bytes>';
  if (bytes.byteLength === 0) throw new ModelError(file, 'empty file (0 bytes), not an ONNX model');
  let proto: onnx.ModelProto;
  try {
    checkWire(bytes);
    proto = onnx.ModelProto.decode(bytes);
  } catch (e) {
    const msg = (e as Error).message;
    if (e instanceof WireError) throw new ModelError(file, `not a valid ONNX protobuf: ${msg}`, { cause: e });
    const what = /index out of range/.test(msg) ? 'truncated or corrupt protobuf' : 'not a valid ONNX protobuf';
    throw new ModelError(file, `${what} (${msg})`, { cause: e });
  }
  const ctx: Ctx = { file, baseDir: opts.baseDir, sizes: new Map() };
  const model = convertModel(proto, ctx);
  if (opts.verify ?? true) {
    const problems = verify(model);
    if (problems.length) throw new ModelError(file, problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.slice(0, 20).join('\n  ')}`);
  }
  return model;
}

function convertModel(p: onnx.ModelProto, ctx: Ctx): Model {
  const irVersion = toNum(p.irVersion);
  if (!p.graph) throw new ModelError(ctx.file, irVersion ? 'model has no graph' : 'not an ONNX model (no ir_version and no graph)');
  if (irVersion <= 0) throw new ModelError(ctx.file, 'model has no ir_version');
  const m = new Model();
  m.source = ctx.file;
  m.irVersion = irVersion;
  for (const op of p.opsetImport) m.opsetImports.set(op.domain === 'ai.onnx' ? '' : op.domain ?? '', toNum(op.version));
  m.producerName = p.producerName;
  m.producerVersion = p.producerVersion;
  m.domain = p.domain;
  m.modelVersion = toNum(p.modelVersion);
  m.docString = p.docString;
  m.metadataProps = kv(p.metadataProps);
  m.functions = p.functions;
  m.trainingInfo = p.trainingInfo;
  m.configuration = p.configuration;
  m.graph = convertGraph(p.graph, null, ctx, 'graph');
  return m;
}

const kv = (entries: onnx.IStringStringEntryProto[] | null | undefined): KeyValue[] => (entries ?? []).map((e) => ({ key: e.key ?? '', value: e.value ?? '' }));

function convertGraph(gp: onnx.IGraphProto, parent: Graph | null, ctx: Ctx, where: string): Graph {
  const g = new Graph(parent);
  g.name = gp.name ?? '';
  g.docString = gp.docString ?? '';
  g.metadataProps = kv(gp.metadataProps);
  g.quantizationAnnotation = gp.quantizationAnnotation ?? [];
  g.sparseInitializers = gp.sparseInitializer ?? [];
  const fail = (detail: string): never => {
    throw new ModelError(ctx.file, `${where}: ${detail}`);
  };
  const define = (name: string, what: string): void => {
    if (g.lookup(name)) fail(`${what} '${name}' reuses a name that is already defined`);
  };

  for (const tp of gp.initializer ?? []) {
    const name = tp.name ?? '';
    if (!name) fail('an initializer has no name');
    if (g.ownValue(name)) fail(`initializer '${name}' is defined twice`);
    define(name, 'initializer');
    g.addInitializer(name, convertTensor(tp, ctx, `initializer '${name}'`));
  }
  for (const sp of gp.sparseInitializer ?? []) {
    const name = sp.values?.name ?? '';
    if (!name) fail('a sparse initializer has no name');
    define(name, 'sparse initializer');
    g.defineValue(name);
  }
  for (const vi of gp.input ?? []) {
    const name = vi.name ?? '';
    if (!name) fail('a graph input has no name');
    const init = g.ownValue(name);
    if (init && g.isInput(init)) fail(`graph input '${name}' is listed twice`);
    if (init) {
      g.markInput(init); // IR < 4: initializers also listed as inputs (overridable defaults)
      init.type = convertType(vi.type, ctx, `graph input '${name}'`);
    } else {
      define(name, 'graph input');
      g.addInput(name, convertType(vi.type, ctx, `graph input '${name}'`));
    }
    copyInfo(g.ownValue(name)!, vi);
  }

  // Pass 1: create every node and its outputs, so inputs can refer to nodes listed later
  // (the file need not be sorted; we sort below and reject only real cycles).
  const protos = gp.node ?? [];
  const nodes: Node[] = [];
  protos.forEach((np, i) => {
    const node = new Node(g, np.opType ?? '', np.name ?? '', np.domain ?? '');
    const label = `node ${node.opType || '<no op_type>'} '${np.name || `#${i}`}'`;
    if (!node.opType) fail(`${label} has no op_type`);
    node.overload = np.overload ?? '';
    node.docString = np.docString ?? '';
    node.metadataProps = kv(np.metadataProps);
    node.deviceConfigurations = np.deviceConfigurations ?? [];
    const outs = np.output ?? [];
    for (const o of outs) if (o) {
      const other = g.lookup(o);
      if (other) fail(`${label} output '${o}' is already ${other.producer ? `produced by ${other.producer}` : other.isConstant ? 'an initializer' : other.isGraphInput ? 'a graph input' : 'defined'}`);
    }
    try {
      g.attachNode(node, outs);
    } catch (e) {
      if (e instanceof DuplicateNameError) fail(`${label} output '${e.valueName}' is listed twice`);
      throw e;
    }
    nodes.push(node);
  });
  // Pass 2: inputs and attributes (subgraphs may read any value of this graph).
  protos.forEach((np, i) => {
    const node = nodes[i];
    const label = `node ${node.opType} '${np.name || `#${i}`}'`;
    (np.input ?? []).forEach((name, k) => {
      if (name === '') return g.attachInput(node, k, null);
      const v = g.lookup(name);
      if (!v) fail(`${label} input ${k} '${name}' is not produced by any node, initializer or graph input`);
      g.attachInput(node, k, v!);
    });
    for (const ap of np.attribute ?? []) {
      const an = ap.name ?? '';
      if (!an) fail(`${label} has an attribute without a name`);
      if (node.attributes.has(an)) fail(`${label} has attribute '${an}' twice`);
      node.attributes.set(an, convertAttribute(ap, g, ctx, `${where} ${label} attribute '${an}'`));
    }
  });

  for (const vi of gp.output ?? []) {
    const name = vi.name ?? '';
    const v = g.lookup(name);
    if (!v) fail(`graph output '${name}' is not produced by any node, initializer or input`);
    if (g.isOutput(v!)) fail(`graph output '${name}' is listed twice`);
    g.addOutput(v!);
    const t = convertType(vi.type, ctx, `graph output '${name}'`);
    if (t && (!v!.type || v!.graph === g)) v!.type = t;
    copyInfo(v!, vi);
  }
  for (const vi of gp.valueInfo ?? []) {
    const v = g.ownValue(vi.name ?? '');
    // value_info for a name nothing defines carries no information; it is dropped. Inputs and
    // outputs keep their own declaration, unless it has no type (Loop/If bodies often type
    // their outputs only through value_info).
    if (!v || ((v.isGraphInput || v.isGraphOutput) && v.type)) continue;
    v.type = convertType(vi.type, ctx, `value_info '${vi.name}'`);
    copyInfo(v, vi);
  }

  const cycle = g.topoSort();
  if (cycle) fail(`the graph has a cycle through ${cycle.slice(0, 5).map(String).join(', ')}${cycle.length > 5 ? ` and ${cycle.length - 5} more` : ''}`);
  return g;
}

function copyInfo(v: { docString: string; metadataProps: KeyValue[] }, vi: onnx.IValueInfoProto): void {
  if (vi.docString) v.docString = vi.docString;
  if (vi.metadataProps?.length) v.metadataProps = kv(vi.metadataProps);
}

function convertType(tp: onnx.ITypeProto | null | undefined, ctx: Ctx, where: string): ValueType | undefined {
  if (!tp) return undefined;
  const t = tp.tensorType ?? tp.sparseTensorType;
  if (t) {
    const elemType = t.elemType ?? 0;
    if (!(elemType in DTYPES)) throw new ModelError(ctx.file, `${where} has unknown element type ${elemType}`);
    let shape: Dim[] | undefined;
    let dimDenotations: (string | undefined)[] | undefined;
    if (t.shape) {
      shape = (t.shape.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null && Object.prototype.hasOwnProperty.call(d, 'dimValue') ? toNum(d.dimValue) : null));
      if ((t.shape.dim ?? []).some((d) => d.denotation)) dimDenotations = (t.shape.dim ?? []).map((d) => d.denotation || undefined);
    }
    return { kind: tp.tensorType ? 'tensor' : 'sparse_tensor', elemType, shape, denotation: tp.denotation || undefined, dimDenotations };
  }
  return { kind: 'opaque', proto: tp };
}

function convertAttribute(ap: onnx.IAttributeProto, g: Graph, ctx: Ctx, where: string): Attribute {
  const T = onnx.AttributeProto.AttributeType;
  let type = ap.type ?? T.UNDEFINED;
  if (type === T.UNDEFINED) type = guessAttrType(ap);
  const base = { refAttrName: ap.refAttrName || undefined, docString: ap.docString || undefined };
  // A scalar attribute must carry its field (onnx.checker insists too); a reference to a
  // function attribute (ref_attr_name) carries none.
  const field = SCALAR_FIELD[type];
  if (field && !base.refAttrName && !Object.prototype.hasOwnProperty.call(ap, field)) {
    const held = guessAttrType(ap);
    const name = Object.entries(T).find(([, v]) => v === held)?.[0] ?? 'nothing';
    throw new ModelError(ctx.file, `${where} is declared ${Object.entries(T).find(([, v]) => v === type)?.[0]} but holds ${held === T.INTS && !ap.ints?.length ? 'no value' : `a ${name} value`}`);
  }
  switch (type) {
    case T.FLOAT: return { ...base, type: 'float', value: ap.f ?? 0 };
    case T.INT: return { ...base, type: 'int', value: toNum(ap.i) };
    case T.STRING: return { ...base, type: 'string', value: ap.s ?? new Uint8Array() };
    case T.TENSOR:
      if (!ap.t) throw new ModelError(ctx.file, `${where} is TENSOR but holds no tensor`);
      return { ...base, type: 'tensor', value: convertTensor(ap.t, ctx, where) };
    case T.GRAPH:
      if (!ap.g) throw new ModelError(ctx.file, `${where} is GRAPH but holds no graph`);
      return { ...base, type: 'graph', value: convertGraph(ap.g, g, ctx, where) };
    case T.FLOATS: return { ...base, type: 'floats', value: [...(ap.floats ?? [])] };
    case T.INTS: return { ...base, type: 'ints', value: (ap.ints ?? []).map(toNum) };
    case T.STRINGS: return { ...base, type: 'strings', value: [...(ap.strings ?? [])] };
    case T.TENSORS: return { ...base, type: 'tensors', value: (ap.tensors ?? []).map((t, i) => convertTensor(t, ctx, `${where}[${i}]`)) };
    case T.GRAPHS: return { ...base, type: 'graphs', value: (ap.graphs ?? []).map((sg, i) => convertGraph(sg, g, ctx, `${where}[${i}]`)) };
    case T.SPARSE_TENSOR: return { ...base, type: 'sparse_tensor', value: ap.sparseTensor };
    case T.SPARSE_TENSORS: return { ...base, type: 'sparse_tensors', value: ap.sparseTensors };
    case T.TYPE_PROTO: return { ...base, type: 'type_proto', value: ap.tp };
    case T.TYPE_PROTOS: return { ...base, type: 'type_protos', value: ap.typeProtos };
    default:
      throw new ModelError(ctx.file, `${where} has unknown attribute type ${type}`);
  }
}

const SCALAR_FIELD: Record<number, string> = { 1: 'f', 2: 'i', 3: 's', 4: 't', 5: 'g', 11: 'sparseTensor', 13: 'tp' };

/** IR version 1 files have no attribute type; the field in use says it. */
function guessAttrType(ap: onnx.IAttributeProto): number {
  const T = onnx.AttributeProto.AttributeType;
  const own = (k: string): boolean => Object.prototype.hasOwnProperty.call(ap, k);
  if (own('f')) return T.FLOAT;
  if (own('i')) return T.INT;
  if (own('s')) return T.STRING;
  if (own('t')) return T.TENSOR;
  if (own('g')) return T.GRAPH;
  if (ap.floats?.length) return T.FLOATS;
  if (ap.ints?.length) return T.INTS;
  if (ap.strings?.length) return T.STRINGS;
  if (ap.tensors?.length) return T.TENSORS;
  if (ap.graphs?.length) return T.GRAPHS;
  return T.INTS; // an empty list: its type cannot matter
}

export function convertTensor(tp: onnx.ITensorProto, ctx: Ctx, where: string): Tensor {
  const fail = (detail: string): never => {
    throw new ModelError(ctx.file, `${where}: ${detail}`);
  };
  const dt = (tp.dataType ?? 0) as DataType;
  if (!(dt in DTYPES) || dt === DataType.UNDEFINED) fail(`unknown element type ${tp.dataType}`);
  const dims = (tp.dims ?? []).map(toNum);
  if (dims.some((d) => d < 0 || !Number.isSafeInteger(d))) fail(`invalid dims [${dims.join(',')}]`);
  if (tp.segment) fail('segmented tensors are not supported');
  const n = numel(dims);
  const label = `${dtypeName(dt)}[${dims.join(',')}]`;
  let t: Tensor;
  if (tp.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    t = externalTensor(tp, dt, dims, ctx, fail);
  } else if (dt === DataType.STRING) {
    const s = tp.stringData ?? [];
    if (s.length !== n) fail(`${label} has ${s.length} strings, expected ${n}`);
    t = Tensor.fromStrings(dims, [...s]);
  } else if (Object.prototype.hasOwnProperty.call(tp, 'rawData')) {
    const raw = tp.rawData ?? new Uint8Array();
    const want = byteLength(dt, n);
    if (raw.byteLength !== want) fail(`${label} has ${raw.byteLength} bytes of raw_data, expected ${want}`);
    t = Tensor.fromBytes(dt, dims, raw);
  } else {
    t = Tensor.fromBytes(dt, dims, typedFieldBytes(tp, dt, n, label, fail));
  }
  if (tp.name) t.name = tp.name;
  if (tp.docString) t.docString = tp.docString;
  if (tp.metadataProps?.length) t.metadataProps = kv(tp.metadataProps);
  return t;
}

/** Converts the typed data fields (float_data, int32_data, …) into raw little-endian bytes. */
function typedFieldBytes(tp: onnx.ITensorProto, dt: DataType, n: number, label: string, fail: (d: string) => never): Uint8Array {
  const info = dtypeInfo(dt);
  const complex = info.kind === 'complex' ? 2 : 1;
  const count = (have: number, want: number): void => {
    if (have !== want) fail(`${label} has ${have} values in ${info.field}, expected ${want}`);
  };
  const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (info.field) {
    case 'float_data': {
      const d = tp.floatData ?? [];
      count(d.length, n * complex);
      return bytesOf(Float32Array.from(d));
    }
    case 'double_data': {
      const d = tp.doubleData ?? [];
      count(d.length, n * complex);
      return bytesOf(Float64Array.from(d));
    }
    case 'int64_data': {
      const d = tp.int64Data ?? [];
      count(d.length, n);
      const out = new BigInt64Array(n);
      d.forEach((x, i) => (out[i] = typeof x === 'number' ? BigInt(x) : BigInt.asIntN(64, (BigInt(x.high >>> 0) << 32n) | BigInt(x.low >>> 0))));
      return bytesOf(out);
    }
    case 'uint64_data': {
      const d = tp.uint64Data ?? [];
      count(d.length, n);
      const big = d.map((x) => (typeof x === 'number' ? BigInt(x) : (BigInt(x.high >>> 0) << 32n) | BigInt(x.low >>> 0)));
      return dt === DataType.UINT32 ? bytesOf(Uint32Array.from(big, Number)) : bytesOf(BigUint64Array.from(big));
    }
    case 'int32_data': {
      const d = tp.int32Data ?? [];
      if (info.bits < 8) {
        // Sub-byte types: each int32_data entry holds one packed byte.
        count(d.length, byteLength(dt, n));
        return Uint8Array.from(d, (x) => x & 0xff);
      }
      count(d.length, n);
      if (info.bits === 8) return dt === DataType.INT8 ? bytesOf(Int8Array.from(d)) : Uint8Array.from(d, (x) => x & 0xff);
      if (info.bits === 16) return dt === DataType.INT16 ? bytesOf(Int16Array.from(d)) : bytesOf(Uint16Array.from(d, (x) => x & 0xffff));
      return bytesOf(Int32Array.from(d));
    }
    default:
      return fail(`${label}: unexpected data field`);
  }
}

function externalTensor(tp: onnx.ITensorProto, dt: DataType, dims: number[], ctx: Ctx, fail: (d: string) => never): Tensor {
  const entries = new Map((tp.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location') ?? '';
  if (!location) fail('external data has no location');
  if (!ctx.baseDir) fail(`external data '${location}' cannot be resolved: the model was given as bytes without its folder`);
  if (isAbsolute(location) || /^[A-Za-z]:[\\/]/.test(location) || location.startsWith('\\')) fail(`external data location '${location}' is an absolute path; it must be relative to the model's folder`);
  const base = ctx.baseDir!;
  const path = resolve(base, location);
  const rel = relative(base, path);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) fail(`external data location '${location}' points outside the model's folder`);
  const int = (key: string, fallback: number | undefined): number | undefined => {
    const s = entries.get(key);
    if (s === undefined || s === '') return fallback;
    if (!/^\d+$/.test(s)) fail(`external data ${key} '${s}' is not a non-negative integer`);
    return Number(s);
  };
  const want = byteLength(dt, numel(dims));
  const offset = int('offset', 0)!;
  const length = int('length', want)!;
  if (length !== want) fail(`external data length ${length} does not match ${dtypeName(dt)}[${dims.join(',')}] (${want} bytes)`);
  let size = ctx.sizes.get(path);
  if (size === undefined) {
    try {
      const st = statSync(path);
      if (!st.isFile()) fail(`external data '${location}' is not a file`);
      // A symlink inside the folder may still lead outside it.
      ctx.realBase ??= realpathSync(base);
      const realRel = relative(ctx.realBase, realpathSync(path));
      if (realRel.startsWith(`..${sep}`) || realRel === '..' || isAbsolute(realRel)) fail(`external data location '${location}' resolves (through a link) outside the model's folder`);
      size = st.size;
    } catch (e) {
      if (e instanceof ModelError) throw e;
      fail(`external data file '${location}' does not exist (looked for ${path})`);
    }
    ctx.sizes.set(path, size!);
  }
  if (offset + length > size!) fail(`external data file '${location}' has ${size} bytes, but the tensor needs bytes ${offset}..${offset + length}`);
  return Tensor.fromExternal(dt, dims, { path, location, offset, length });
}
