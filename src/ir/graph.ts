// The in-memory ONNX graph: Values connected by Nodes, with use lists kept up to date by the
// rewrite API (Graph.addNode/removeNode/setInput/replaceAllUses). Everyone but a pass's
// rewrite reads through the Readonly views; only the pass manager deletes nodes.
//
// Invariants (checked by verify()): value names are unique in the whole model (subgraphs
// included), every Value has at most one producer, node order is topological, and graph
// inputs/outputs keep their names and order through every rewrite.
import { DataType } from './dtype.js';
import { Tensor } from './tensor.js';

/** A dimension: a fixed size, a symbolic name (dim_param), or unknown. */
export type Dim = number | string | null;

export interface TensorType {
  readonly kind: 'tensor' | 'sparse_tensor';
  readonly elemType: DataType;
  /** undefined: rank unknown. */
  readonly shape?: readonly Dim[];
  readonly denotation?: string;
  readonly dimDenotations?: readonly (string | undefined)[];
}

/** Sequence, map and optional types are kept as their raw TypeProto. */
export interface OpaqueType {
  readonly kind: 'opaque';
  readonly proto: unknown;
}

export type ValueType = TensorType | OpaqueType;

export const tensorType = (elemType: DataType, shape?: readonly Dim[]): TensorType => ({ kind: 'tensor', elemType, shape: shape ? [...shape] : undefined });

export type AttrType =
  | 'float' | 'int' | 'string' | 'tensor' | 'graph' | 'floats' | 'ints' | 'strings' | 'tensors' | 'graphs'
  | 'sparse_tensor' | 'sparse_tensors' | 'type_proto' | 'type_protos';

interface AttrBase { refAttrName?: string; docString?: string }
export type Attribute = AttrBase & (
  | { type: 'float' | 'int'; value: number }
  | { type: 'string'; value: Uint8Array }
  | { type: 'tensor'; value: Tensor }
  | { type: 'graph'; value: Graph }
  | { type: 'floats' | 'ints'; value: number[] }
  | { type: 'strings'; value: Uint8Array[] }
  | { type: 'tensors'; value: Tensor[] }
  | { type: 'graphs'; value: Graph[] }
  | { type: 'sparse_tensor' | 'sparse_tensors' | 'type_proto' | 'type_protos'; value: unknown }
);

export interface Use {
  readonly node: Node;
  readonly index: number;
}

export interface KeyValue {
  key: string;
  value: string;
}

export class Value {
  /** Declared type (graph input/output, value_info, or set by a rewrite); written on save. */
  type?: ValueType;
  /** Type found by shape inference; used for analysis, never written unless promoted. */
  inferred?: TensorType;
  /** The constant this value holds when it is an initializer. */
  initializer?: Tensor;
  docString = '';
  metadataProps: KeyValue[] = [];
  /** @internal maintained by Graph */
  _producer: Node | null = null;
  /** @internal maintained by Graph */
  readonly _uses: Use[] = [];

  constructor(
    readonly graph: Graph,
    readonly name: string,
  ) {}

  get producer(): Node | null {
    return this._producer;
  }

  get uses(): readonly Use[] {
    return this._uses;
  }

  /**
   * The tensor type: declared, with dims that the declaration leaves symbolic or unknown filled
   * in from inference (after --input-shape fixes 'height', a declared output [N,C,'height',W]
   * becomes concrete); else inferred.
   */
  get tensorType(): TensorType | undefined {
    const t = this.type;
    if (!t || t.kind === 'opaque') return this.inferred;
    const inf = this.inferred;
    if (!t.shape) return inf?.shape ? { ...t, shape: inf.shape } : t;
    if (!inf?.shape || inf.shape.length !== t.shape.length || t.shape.every((d) => typeof d === 'number')) return t;
    return { ...t, shape: t.shape.map((d, i) => (typeof d === 'number' ? d : typeof inf.shape![i] === 'number' ? inf.shape![i] : d)) };
  }

  get elemType(): DataType | undefined {
    return this.initializer?.dataType ?? this.tensorType?.elemType;
  }

  get shape(): readonly Dim[] | undefined {
    return this.initializer ? this.initializer.dims : this.tensorType?.shape;
  }

  get isConstant(): boolean {
    return this.initializer !== undefined;
  }

  get isGraphInput(): boolean {
    return this.graph.isInput(this);
  }

  get isGraphOutput(): boolean {
    return this.graph.isOutput(this);
  }

  toString(): string {
    return `'${this.name}'`;
  }
}

export class Node {
  name: string;
  domain: string;
  overload = '';
  docString = '';
  metadataProps: KeyValue[] = [];
  /** Raw NodeProto.device_configurations, kept for round-trip. */
  deviceConfigurations: unknown[] = [];
  readonly attributes = new Map<string, Attribute>();
  /** @internal */ readonly _inputs: (Value | null)[] = [];
  /** @internal */ readonly _outputs: (Value | null)[] = [];

  constructor(
    readonly graph: Graph,
    public opType: string,
    name = '',
    domain = '',
  ) {
    this.name = name;
    this.domain = domain === 'ai.onnx' ? '' : domain;
  }

  /** Inputs in order; null for an omitted optional input (an empty name in ONNX). */
  get inputs(): readonly (Value | null)[] {
    return this._inputs;
  }

  get outputs(): readonly (Value | null)[] {
    return this._outputs;
  }

  input(i: number): Value | null {
    return this._inputs[i] ?? null;
  }

  output(i = 0): Value {
    const v = this._outputs[i];
    if (!v) throw new RangeError(`${this} has no output ${i}`);
    return v;
  }

  /** "Conv 'conv1'" — how errors and reports name a node. */
  toString(): string {
    return `${this.domain ? `${this.domain}.` : ''}${this.opType} '${this.name || this._outputs.find((v) => v)?.name || '?'}'`;
  }

  attr(name: string): Attribute | undefined {
    return this.attributes.get(name);
  }

  getInt(name: string, fallback: number): number;
  getInt(name: string): number | undefined;
  getInt(name: string, fallback?: number): number | undefined {
    const a = this.attributes.get(name);
    return a && a.type === 'int' ? a.value : fallback;
  }

  getFloat(name: string, fallback: number): number;
  getFloat(name: string): number | undefined;
  getFloat(name: string, fallback?: number): number | undefined {
    const a = this.attributes.get(name);
    return a && a.type === 'float' ? a.value : fallback;
  }

  getInts(name: string): number[] | undefined {
    const a = this.attributes.get(name);
    return a && a.type === 'ints' ? a.value : undefined;
  }

  getFloats(name: string): number[] | undefined {
    const a = this.attributes.get(name);
    return a && a.type === 'floats' ? a.value : undefined;
  }

  getString(name: string, fallback: string): string;
  getString(name: string): string | undefined;
  getString(name: string, fallback?: string): string | undefined {
    const a = this.attributes.get(name);
    return a && a.type === 'string' ? Buffer.from(a.value).toString('utf8') : fallback;
  }

  getTensor(name: string): Tensor | undefined {
    const a = this.attributes.get(name);
    return a && a.type === 'tensor' ? a.value : undefined;
  }

  /** Graphs held in attributes (If branches, Loop/Scan bodies). */
  subgraphs(): Graph[] {
    const out: Graph[] = [];
    for (const a of this.attributes.values()) {
      if (a.type === 'graph') out.push(a.value);
      else if (a.type === 'graphs') out.push(...a.value);
    }
    return out;
  }

  /** Values of this node's graph (or enclosing ones) that its subgraphs read; they order the node too. */
  implicitInputs(): Value[] {
    const subs = this.subgraphs();
    if (!subs.length) return [];
    const found = new Set<Value>();
    const outer = (v: Value | null): v is Value => v !== null && isInside(this.graph, v.graph);
    const visit = (g: Graph): void => {
      for (const n of g.nodes) {
        for (const v of n._inputs) if (outer(v)) found.add(v);
        n.subgraphs().forEach(visit);
      }
      for (const v of g.outputs) if (outer(v)) found.add(v);
    };
    subs.forEach(visit);
    return [...found];
  }
}

/** True when `g` is `scope` or nested inside it. */
function isInside(g: Graph, scope: Graph): boolean {
  for (let s: Graph | null = g; s; s = s.parent) if (s === scope) return true;
  return false;
}

export interface NodeSpec {
  op: string;
  inputs: readonly (Value | null)[];
  /** Output count (names made unique from the node name) or explicit names. */
  outputs?: number | readonly string[];
  attrs?: Record<string, Attribute>;
  name?: string;
  domain?: string;
}

export class Graph {
  name = '';
  docString = '';
  nodes: Node[] = [];
  /** Raw SparseTensorProto initializers, kept for round-trip. */
  sparseInitializers: unknown[] = [];
  /** Raw TensorAnnotation entries, kept for round-trip. */
  quantizationAnnotation: unknown[] = [];
  metadataProps: KeyValue[] = [];
  private readonly _inputs: Value[] = [];
  private readonly _outputs: Value[] = [];
  private readonly inputSet = new Set<Value>();
  private readonly outputSet = new Set<Value>();
  private readonly _initializers: Value[] = [];
  private readonly values = new Map<string, Value>();
  /** Every name ever used anywhere in the model (shared by all subgraphs of one root), for uniqueName. */
  private readonly names: Set<string>;
  private nameCounter = 0;

  constructor(readonly parent: Graph | null = null) {
    this.names = parent ? parent.names : new Set();
  }

  get inputs(): readonly Value[] {
    return this._inputs;
  }

  get outputs(): readonly Value[] {
    return this._outputs;
  }

  get initializers(): readonly Value[] {
    return this._initializers;
  }

  isInput(v: Value): boolean {
    return this.inputSet.has(v);
  }

  isOutput(v: Value): boolean {
    return this.outputSet.has(v);
  }

  /** A value defined in this graph (not an enclosing one). */
  ownValue(name: string): Value | undefined {
    return this.values.get(name);
  }

  ownsValue(v: Value): boolean {
    return this.values.get(v.name) === v;
  }

  /** Resolves a name in this graph, then in enclosing graphs (outer-scope references). */
  lookup(name: string): Value | undefined {
    return this.values.get(name) ?? this.parent?.lookup(name);
  }

  allValues(): IterableIterator<Value> {
    return this.values.values();
  }

  /** A name no value in the model has yet, derived from `hint`. */
  uniqueName(hint: string): string {
    const base = hint || 'v';
    if (!this.names.has(base)) return base;
    for (;;) {
      const name = `${base}__${++this.nameCounter}`;
      if (!this.names.has(name)) return name;
    }
  }

  /** @internal Creates and registers a value; `name` must not be visible in this scope yet. */
  defineValue(name: string): Value {
    if (this.lookup(name)) throw new DuplicateNameError(name);
    const v = new Value(this, name);
    this.names.add(name);
    this.values.set(name, v);
    return v;
  }

  /**
   * Forgets a value that nothing produces or uses any more. Its name stays reserved in `names`
   * (sibling subgraphs may legally reuse a name, so freeing it could let a new value shadow one).
   */
  private undefineValue(v: Value): void {
    if (this.values.get(v.name) === v) this.values.delete(v.name);
  }

  addInput(name: string, type?: ValueType): Value {
    const v = this.defineValue(name);
    v.type = type;
    this._inputs.push(v);
    this.inputSet.add(v);
    return v;
  }

  /** Marks an existing value as a graph input too (IR < 4 models list initializers as inputs). */
  markInput(v: Value): void {
    if (!this.inputSet.has(v)) {
      this._inputs.push(v);
      this.inputSet.add(v);
    }
  }

  addOutput(v: Value): void {
    this._outputs.push(v);
    this.outputSet.add(v);
  }

  addInitializer(name: string, tensor: Tensor): Value {
    const v = this.defineValue(name);
    v.initializer = tensor;
    this._initializers.push(v);
    return v;
  }

  /** A new initializer with a fresh name derived from `hint`. */
  addConstant(hint: string, tensor: Tensor): Value {
    return this.addInitializer(this.uniqueName(hint), tensor);
  }

  /** Removes an initializer nothing uses (and that is not a graph input or output). */
  removeInitializer(v: Value): void {
    if (v.uses.length || this.isOutput(v) || this.isInput(v)) throw new Error(`initializer ${v} is still in use`);
    const i = this._initializers.indexOf(v);
    if (i >= 0) this._initializers.splice(i, 1);
    v.initializer = undefined;
    this.undefineValue(v);
  }

  /**
   * Adds a node after `after` (or before `before`, or at the end) and creates its outputs.
   * Names of outputs derive from the node's name so that dumps stay readable.
   */
  addNode(spec: NodeSpec, position: { before?: Node; after?: Node } = {}): Node {
    const node = new Node(this, spec.op, '', spec.domain ?? '');
    node.name = spec.name ?? this.uniqueNodeName(spec.op);
    for (const [k, a] of Object.entries(spec.attrs ?? {})) node.attributes.set(k, a);
    spec.inputs.forEach((v, i) => this.attachInput(node, i, v));
    const outs = spec.outputs ?? 1;
    const names = typeof outs === 'number' ? Array.from({ length: outs }, (_, i) => this.uniqueName(outs === 1 ? `${node.name}_out` : `${node.name}_out${i}`)) : outs;
    names.forEach((n, i) => {
      if (n === '') {
        node._outputs.push(null);
        return;
      }
      const v = this.defineValue(n);
      v._producer = node;
      node._outputs[i] = v;
    });
    const anchor = position.before ?? position.after;
    if (anchor) {
      const at = this.nodes.indexOf(anchor);
      if (at < 0) throw new Error(`${anchor} is not in this graph`);
      this.nodes.splice(position.before ? at : at + 1, 0, node);
    } else this.nodes.push(node);
    return node;
  }

  private nodeNames?: Set<string>;
  private uniqueNodeName(op: string): string {
    if (!this.nodeNames) this.nodeNames = new Set(this.nodes.map((n) => n.name));
    let name = `${op}_kiln`;
    for (let i = 1; this.nodeNames.has(name); i++) name = `${op}_kiln_${i}`;
    this.nodeNames.add(name);
    return name;
  }

  /** @internal used by the loader: a node whose outputs already exist by name. */
  attachNode(node: Node, outputNames: readonly string[]): void {
    outputNames.forEach((n, i) => {
      if (n === '') {
        node._outputs[i] = null;
        return;
      }
      const v = this.defineValue(n);
      v._producer = node;
      node._outputs[i] = v;
    });
    this.nodes.push(node);
  }

  /** @internal */
  attachInput(node: Node, index: number, v: Value | null): void {
    node._inputs[index] = v;
    if (v) v._uses.push({ node, index });
  }

  /** Rewires input `index` of `node` to `v` (null = omitted optional input). */
  setInput(node: Node, index: number, v: Value | null): void {
    const old = node._inputs[index];
    if (old) removeUse(old, node, index);
    this.attachInput(node, index, v);
  }

  /** Removes trailing/any input slot entirely (e.g. drop an optional bias). */
  truncateInputs(node: Node, count: number): void {
    while (node._inputs.length > count) {
      const i = node._inputs.length - 1;
      const v = node._inputs[i];
      if (v) removeUse(v, node, i);
      node._inputs.pop();
    }
  }

  /**
   * Makes every consumer of `old` read `replacement` instead. Graph outputs are part of the
   * model's contract and are never renamed: replacing a graph output throws.
   */
  replaceAllUses(old: Value, replacement: Value): void {
    if (old === replacement) return;
    for (let g: Graph | null = old.graph; g; g = g.parent) if (g.isOutput(old)) throw new Error(`cannot replace graph output ${old}`);
    for (const u of [...old._uses]) this.rewire(u.node, u.index, replacement);
  }

  private rewire(node: Node, index: number, v: Value): void {
    node.graph.setInput(node, index, v);
  }

  /**
   * Removes a node. Its outputs must be unused (the pass rewired consumers first) and not graph
   * outputs; they are forgotten.
   */
  removeNode(node: Node): void {
    for (const v of node._outputs) {
      if (!v) continue;
      if (v._uses.length) throw new Error(`cannot remove ${node}: output ${v} still used by ${v._uses[0].node}`);
      if (this.isOutput(v)) throw new Error(`cannot remove ${node}: ${v} is a graph output`);
    }
    node._inputs.forEach((v, i) => v && removeUse(v, node, i));
    for (const sub of node.subgraphs()) sub.detachAll();
    for (const v of node._outputs) if (v) {
      v._producer = null;
      this.undefineValue(v);
    }
    const at = this.nodes.indexOf(node);
    if (at >= 0) this.nodes.splice(at, 1);
    this.nodeNames?.delete(node.name);
  }

  /** Removes several nodes at once in one sweep (order-independent; all must be dead together). */
  removeNodes(dead: ReadonlySet<Node>): void {
    for (const n of [...this.nodes].reverse()) if (dead.has(n)) this.removeNode(n);
  }

  /** Drops the uses that this graph's nodes hold on outer values (when a subgraph is discarded). */
  private detachAll(): void {
    for (const n of this.nodes) {
      n._inputs.forEach((v, i) => v && !this.ownsValue(v) && removeUse(v, n, i));
      n.subgraphs().forEach((s) => s.detachAll());
    }
  }

  /** Replaces the output list entry `index` (used only by graph-level transforms like batching). */
  setOutput(index: number, v: Value): void {
    const old = this._outputs[index];
    this.outputSet.delete(old);
    this._outputs[index] = v;
    this.outputSet.add(v);
  }

  /**
   * Orders nodes topologically, keeping the current order where it already is one (stable
   * Kahn). Returns the nodes on a cycle when there is one, else null.
   */
  topoSort(): Node[] | null {
    const pending = new Map<Node, number>();
    const waiters = new Map<Node, Node[]>();
    for (const n of this.nodes) {
      const deps = new Set<Node>();
      for (const v of [...n._inputs, ...n.implicitInputs()]) {
        const p = v?._producer;
        if (p && p.graph === this) deps.add(p);
      }
      pending.set(n, deps.size);
      for (const d of deps) {
        const w = waiters.get(d);
        if (w) w.push(n);
        else waiters.set(d, [n]);
      }
    }
    const order: Node[] = [];
    const index = new Map(this.nodes.map((n, i) => [n, i]));
    // A binary heap keyed by original position keeps the original order where possible.
    const heap: Node[] = [];
    const push = (n: Node): void => {
      heap.push(n);
      for (let i = heap.length - 1; i > 0; ) {
        const p = (i - 1) >> 1;
        if (index.get(heap[p])! <= index.get(heap[i])!) break;
        [heap[p], heap[i]] = [heap[i], heap[p]];
        i = p;
      }
    };
    const pop = (): Node => {
      const top = heap[0];
      const last = heap.pop()!;
      if (heap.length) {
        heap[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < heap.length && index.get(heap[l])! < index.get(heap[m])!) m = l;
          if (r < heap.length && index.get(heap[r])! < index.get(heap[m])!) m = r;
          if (m === i) break;
          [heap[m], heap[i]] = [heap[i], heap[m]];
          i = m;
        }
      }
      return top;
    };
    for (const n of this.nodes) if (pending.get(n) === 0) push(n);
    while (heap.length) {
      const n = pop();
      order.push(n);
      for (const w of waiters.get(n) ?? []) {
        const left = pending.get(w)! - 1;
        pending.set(w, left);
        if (left === 0) push(w);
      }
    }
    if (order.length !== this.nodes.length) return this.nodes.filter((n) => pending.get(n)! > 0);
    this.nodes = order;
    return null;
  }

  /** Nodes of this graph and all nested subgraphs. */
  *allNodes(): IterableIterator<Node> {
    for (const n of this.nodes) {
      yield n;
      for (const g of n.subgraphs()) yield* g.allNodes();
    }
  }
}

export class DuplicateNameError extends Error {
  constructor(readonly valueName: string) {
    super(`value name '${valueName}' is defined more than once`);
  }
}

function removeUse(v: Value, node: Node, index: number): void {
  const i = v._uses.findIndex((u) => u.node === node && u.index === index);
  if (i >= 0) v._uses.splice(i, 1);
}

export class Model {
  irVersion = 8;
  /** Opset version per domain ('' = ai.onnx), in file order. */
  opsetImports = new Map<string, number>();
  producerName = '';
  producerVersion = '';
  domain = '';
  modelVersion = 0;
  docString = '';
  metadataProps: KeyValue[] = [];
  /** Raw FunctionProto / TrainingInfoProto / DeviceConfigurationProto, kept for round-trip. */
  functions: unknown[] = [];
  trainingInfo: unknown[] = [];
  configuration: unknown[] = [];
  /** The file this model was loaded from, for error messages. */
  source = '';

  constructor(public graph: Graph = new Graph()) {}

  opset(domain = ''): number | undefined {
    return this.opsetImports.get(domain === 'ai.onnx' ? '' : domain);
  }

  /** Node count including subgraphs. */
  get nodeCount(): number {
    let n = 0;
    for (const _ of this.graph.allNodes()) n++;
    return n;
  }
}
