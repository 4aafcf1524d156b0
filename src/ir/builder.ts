// A small builder for tests and for kiln's own generated graphs:
//   const b = new ModelBuilder({ opset: 17 });
//   const x = b.input('x', DataType.FLOAT, [1, 3, 8, 8]);
//   const w = b.constant('w', Tensor.from(DataType.FLOAT, [4, 3, 3, 3], weights));
//   const y = b.op('Conv', [x, w], { pads: [1, 1, 1, 1] });
//   b.output(y);
//   const model = b.build(); // shape-inferred and verified
import { DataType } from './dtype.js';
import { Graph, Model, tensorType, type Attribute, type Dim, type Value } from './graph.js';
import { inferShapes } from './shape-inference.js';
import { Tensor } from './tensor.js';
import { verify } from './verify.js';

export type AttrValue = Attribute | number | number[] | string | string[] | Tensor | Graph;

/** Attribute constructors for when a plain JS value is ambiguous (1 as a float, an empty list). */
export const attr = {
  f: (value: number): Attribute => ({ type: 'float', value }),
  i: (value: number): Attribute => ({ type: 'int', value }),
  s: (value: string): Attribute => ({ type: 'string', value: Buffer.from(value, 'utf8') }),
  t: (value: Tensor): Attribute => ({ type: 'tensor', value }),
  g: (value: Graph): Attribute => ({ type: 'graph', value }),
  floats: (value: number[]): Attribute => ({ type: 'floats', value }),
  ints: (value: number[]): Attribute => ({ type: 'ints', value }),
  strings: (value: string[]): Attribute => ({ type: 'strings', value: value.map((s) => Buffer.from(s, 'utf8')) }),
};

/** Plain values: integers → INT(S), other numbers → FLOAT(S), strings → STRING(S). */
export function toAttribute(v: AttrValue): Attribute {
  if (v instanceof Tensor) return attr.t(v);
  if (v instanceof Graph) return attr.g(v);
  if (typeof v === 'number') return Number.isInteger(v) ? attr.i(v) : attr.f(v);
  if (typeof v === 'string') return attr.s(v);
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return attr.strings(v as string[]);
    const nums = v as number[];
    return nums.every(Number.isInteger) ? attr.ints(nums) : attr.floats(nums);
  }
  return v;
}

export const toAttributes = (attrs: Record<string, AttrValue> = {}): Record<string, Attribute> =>
  Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, toAttribute(v)]));

export class ModelBuilder {
  readonly model: Model;

  constructor(opts: { opset?: number; irVersion?: number; opsets?: Record<string, number>; graph?: Graph } = {}) {
    this.model = new Model(opts.graph ?? new Graph());
    this.model.irVersion = opts.irVersion ?? 8;
    this.model.producerName = 'kiln';
    this.model.opsetImports.set('', opts.opset ?? 17);
    for (const [d, v] of Object.entries(opts.opsets ?? {})) this.model.opsetImports.set(d, v);
    this.model.graph.name = this.model.graph.name || 'kiln_graph';
  }

  get graph(): Graph {
    return this.model.graph;
  }

  input(name: string, elemType: DataType, shape: Dim[]): Value {
    return this.graph.addInput(name, tensorType(elemType, shape));
  }

  constant(name: string, tensor: Tensor): Value {
    return this.graph.addInitializer(this.graph.uniqueName(name), tensor);
  }

  /** Float32 initializer from numbers. */
  floats(name: string, dims: number[], values: ArrayLike<number>): Value {
    return this.constant(name, Tensor.from(DataType.FLOAT, dims, values));
  }

  /** Int64 initializer from numbers (shapes, axes, pads). */
  ints(name: string, values: number[], dims: number[] = [values.length]): Value {
    return this.constant(name, Tensor.from(DataType.INT64, dims, values));
  }

  /** Adds a node and returns all its outputs. */
  node(op: string, inputs: (Value | null)[], attrs?: Record<string, AttrValue>, opts: { outputs?: number | string[]; name?: string; domain?: string } = {}): Value[] {
    const n = this.graph.addNode({ op, inputs, attrs: toAttributes(attrs), outputs: opts.outputs, name: opts.name, domain: opts.domain });
    return n.outputs.filter((v): v is Value => v !== null);
  }

  /** Adds a single-output node and returns its output. */
  op(op: string, inputs: (Value | null)[], attrs?: Record<string, AttrValue>, opts: { name?: string; output?: string; domain?: string } = {}): Value {
    return this.node(op, inputs, attrs, { name: opts.name, domain: opts.domain, outputs: opts.output ? [opts.output] : 1 })[0];
  }

  output(v: Value, elemType?: DataType, shape?: Dim[]): Value {
    if (elemType !== undefined) v.type = tensorType(elemType, shape);
    this.graph.addOutput(v);
    return v;
  }

  /** Infers shapes, gives graph outputs their inferred types, and verifies. */
  build(): Model {
    inferShapes(this.model);
    for (const v of this.graph.outputs) if (!v.type && v.inferred) v.type = v.inferred;
    const problems = verify(this.model);
    if (problems.length) throw new Error(`built model is invalid:\n  ${problems.join('\n  ')}`);
    return this.model;
  }
}
