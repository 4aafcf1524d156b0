// Multiply-accumulate counts of the ops that dominate vision models, from inferred shapes.
// FLOPs are reported as 2 × MACs (one multiply and one add per MAC); bias adds are ignored.
import type { Dim, Model, Node } from './graph.js';

export interface OpCost {
  nodes: number;
  macs: number;
}

export interface CostReport {
  macs: number;
  flops: number;
  byOp: Record<string, OpCost>;
  /** Nodes whose cost needs a dim that is not known (fix it with --input-shape). */
  unresolved: string[];
}

const prod = (dims: readonly Dim[]): number | null => {
  let p = 1;
  for (const d of dims) {
    if (typeof d !== 'number') return null;
    p *= d;
  }
  return p;
};

/** MACs of one node, null when a needed dim is unknown, undefined when the op is not costed. */
export function nodeMacs(n: Node): number | null | undefined {
  if (n.domain !== '' && n.domain !== 'com.microsoft') return undefined;
  const shape = (i: number): readonly Dim[] | undefined => n.input(i)?.shape;
  const out = n.outputs[0]?.shape;
  switch (n.opType) {
    case 'Conv':
    case 'ConvInteger':
    case 'QLinearConv': {
      const w = shape(n.opType === 'QLinearConv' ? 3 : 1);
      if (!w || !out) return null;
      const o = prod(out), k = prod(w.slice(1));
      return o === null || k === null ? null : o * k;
    }
    case 'ConvTranspose': {
      const x = shape(0), w = shape(1);
      if (!x || !w) return null;
      // Weights are [C_in, C_out/group, k…]: every input element meets C_out/group × k taps.
      const i = prod(x), k = prod(w.slice(1));
      return i === null || k === null ? null : i * k;
    }
    case 'MatMul':
    case 'MatMulInteger':
    case 'QLinearMatMul': {
      const a = shape(0);
      if (!a || !out) return null;
      const k = a[a.length - 1];
      const o = prod(out);
      return o === null || typeof k !== 'number' ? null : o * k;
    }
    case 'Gemm': {
      const a = shape(0);
      if (!a || !out) return null;
      const k = n.getInt('transA', 0) ? a[0] : a[1];
      const o = prod(out);
      return o === null || typeof k !== 'number' ? null : o * k;
    }
    default:
      return undefined;
  }
}

/** Needs inferShapes() to have run. */
export function modelCost(model: Model): CostReport {
  const byOp: Record<string, OpCost> = {};
  const unresolved: string[] = [];
  let macs = 0;
  for (const n of model.graph.allNodes()) {
    const m = nodeMacs(n);
    if (m === undefined) continue;
    if (m === null) {
      unresolved.push(String(n));
      continue;
    }
    const entry = (byOp[n.opType] ??= { nodes: 0, macs: 0 });
    entry.nodes++;
    entry.macs += m;
    macs += m;
  }
  return { macs, flops: 2 * macs, byOp, unresolved };
}
