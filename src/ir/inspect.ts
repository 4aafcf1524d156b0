// The facts `kiln inspect` reports about a model, as one plain object (its JSON is documented
// in the README). Computing them needs no onnxruntime.
import { statSync } from 'node:fs';
import { DataType, dtypeName } from './dtype.js';
import type { Dim, Model, Value } from './graph.js';
import { modelCost, type CostReport } from './cost.js';
import { constantNodeValue, inferShapes } from './shape-inference.js';

export interface TensorInfo {
  name: string;
  elemType: string;
  /** Numbers are fixed, strings symbolic, null unknown; null shape = unknown rank. */
  shape: Dim[] | null;
}

export interface InspectReport {
  file: string;
  fileBytes: number;
  irVersion: number;
  opsets: Record<string, number>;
  producer: { name: string; version: string };
  domain: string;
  modelVersion: number;
  metadata: Record<string, string>;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  nodes: number;
  subgraphs: number;
  ops: Record<string, number>;
  /** Ops outside the default domain, or with no kiln shape rule: listed, never rejected. */
  unknownOps: string[];
  parameters: { count: number; bytes: number; byType: Record<string, { count: number; bytes: number; tensors: number }> };
  externalData: { file: string; tensors: number; bytes: number }[];
  inputShapes: Record<string, number[]>;
  cost: CostReport;
  shapeProblems: string[];
}

const info = (v: Value): TensorInfo => {
  const t = v.tensorType;
  return { name: v.name, elemType: t ? dtypeName(t.elemType) : v.type?.kind === 'opaque' ? 'non-tensor' : 'unknown', shape: t?.shape ? [...t.shape] : null };
};

export function inspectModel(model: Model, opts: { inputShapes?: Record<string, number[]> } = {}): InspectReport {
  const g = model.graph;
  // Inputs as declared, before --input-shape fixes their dims.
  const inputs = g.inputs.filter((v) => !v.isConstant).map(info);
  const inference = inferShapes(model, { inputShapes: opts.inputShapes });
  const ops: Record<string, number> = {};
  let nodes = 0, subgraphs = 0;
  const params = { count: 0, bytes: 0, byType: {} as InspectReport['parameters']['byType'] };
  const external = new Map<string, { tensors: number; bytes: number }>();
  const addTensor = (dt: DataType, count: number, bytes: number, location?: string): void => {
    params.count += count;
    params.bytes += bytes;
    const e = (params.byType[dtypeName(dt)] ??= { count: 0, bytes: 0, tensors: 0 });
    e.count += count;
    e.bytes += bytes;
    e.tensors++;
    if (location) {
      const x = external.get(location) ?? { tensors: 0, bytes: 0 };
      x.tensors++;
      x.bytes += bytes;
      external.set(location, x);
    }
  };
  const walk = (graph: typeof g): void => {
    for (const v of graph.initializers) {
      const t = v.initializer!;
      addTensor(t.dataType, t.size, t.byteLength, t.external?.location);
    }
    for (const n of graph.nodes) {
      nodes++;
      const key = n.domain ? `${n.domain}.${n.opType}` : n.opType;
      ops[key] = (ops[key] ?? 0) + 1;
      if (n.opType === 'Constant' && n.domain === '') {
        const t = constantNodeValue(n);
        if (t) addTensor(t.dataType, t.size, t.dataType === DataType.STRING ? 0 : t.byteLength, t.external?.location);
      }
      for (const sg of n.subgraphs()) {
        subgraphs++;
        walk(sg);
      }
    }
  };
  walk(g);
  let fileBytes = 0;
  try {
    fileBytes = model.source ? statSync(model.source).size : 0;
  } catch {
    fileBytes = 0;
  }
  return {
    file: model.source,
    fileBytes,
    irVersion: model.irVersion,
    opsets: Object.fromEntries([...model.opsetImports].map(([d, v]) => [d || 'ai.onnx', v])),
    producer: { name: model.producerName, version: model.producerVersion },
    domain: model.domain,
    modelVersion: model.modelVersion,
    metadata: Object.fromEntries(model.metadataProps.map((e) => [e.key, e.value])),
    inputs,
    outputs: g.outputs.map(info),
    nodes,
    subgraphs,
    ops: Object.fromEntries(Object.entries(ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    unknownOps: inference.unknownOps,
    parameters: params,
    externalData: [...external].map(([file, x]) => ({ file, ...x })),
    inputShapes: opts.inputShapes ?? {},
    cost: modelCost(model),
    shapeProblems: inference.problems,
  };
}
