// Small read helpers shared by passes, and the one rewrite helper they all use to replace a
// node by another op while keeping its output values (and so graph output names).
import { DataType } from '../ir/dtype.js';
import type { Attribute, Dim, Graph, Node, Value } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';

/** The constant a value holds (an initializer that is not an overridable graph input). */
export function constant(v: Value | null | undefined): Tensor | undefined {
  if (!v || !v.initializer || v.isGraphInput) return undefined;
  return v.initializer;
}

/** Integer list of a constant (shape, axes, perm); undefined when not constant. */
export function constInts(v: Value | null | undefined): number[] | undefined {
  const t = constant(v);
  if (!t || (t.dataType !== DataType.INT64 && t.dataType !== DataType.INT32)) return undefined;
  return t.toNumbers();
}

/** The node that is the only reader of `v`, when `v` is not also a graph output. */
export function soleConsumer(v: Value | null | undefined): Node | undefined {
  if (!v || v.uses.length !== 1 || v.isGraphOutput) return undefined;
  return v.uses[0].node;
}

/** The producer of `v` if it has op type `op` in the default domain. */
export function producedBy(v: Value | null | undefined, op: string): Node | undefined {
  const p = v?.producer;
  return p && p.opType === op && p.domain === '' ? p : undefined;
}

export const isOp = (n: Node, op: string): boolean => n.opType === op && n.domain === '';

/**
 * The shape a pass may rely on. Initializers: their dims; graph inputs: as declared (fixed by
 * --input-shape); other values: kiln's own inference first — value_info written by an exporter
 * can be stale or keep symbolic dims that --input-shape has since fixed — falling back to the
 * declared shape. When both are known and contradict each other, neither is trusted.
 */
export function shapeOf(v: Value | null | undefined): readonly Dim[] | undefined {
  if (!v) return undefined;
  if (v.initializer) return v.initializer.dims;
  const declared = v.type && v.type.kind !== 'opaque' ? v.type.shape : undefined;
  if (v.isGraphInput) return declared;
  const inferred = v.inferred?.shape;
  if (inferred && declared && !compatible(inferred, declared)) return undefined;
  return inferred ?? declared;
}

function compatible(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => typeof d !== 'number' || typeof b[i] !== 'number' || d === b[i]);
}

/** Static shape (every dim a number) or undefined. */
export function staticShape(v: Value | null | undefined): number[] | undefined {
  const s = shapeOf(v);
  if (!s || s.some((d) => typeof d !== 'number' || d < 0)) return undefined;
  return s as number[];
}

export const rankOf = (v: Value | null | undefined): number | undefined => shapeOf(v)?.length;

/** True when the node's outputs other than `keep` are absent or unread. */
export function otherOutputsUnused(n: Node, keep = 0): boolean {
  return n.outputs.every((v, i) => i === keep || !v || (!v.uses.length && !v.isGraphOutput));
}

export const sameDims = (a: readonly Dim[], b: readonly Dim[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Turns `node` into another op in place: same output values (so their names, consumers and
 * graph-output status stay), new op type, inputs and attributes. The node that used to feed it
 * is left for the manager to delete once unread.
 */
export function retarget(g: Graph, node: Node, spec: { op: string; inputs: readonly (Value | null)[]; attrs?: Iterable<[string, Attribute]>; domain?: string }): void {
  node.opType = spec.op;
  node.domain = spec.domain ?? '';
  node.attributes.clear();
  for (const [k, a] of spec.attrs ?? []) node.attributes.set(k, a);
  g.truncateInputs(node, 0);
  spec.inputs.forEach((v, i) => g.setInput(node, i, v));
}

/** Replaces every read of `out` by `by` unless `out` is a graph output (returns false then). */
export function forward(g: Graph, out: Value, by: Value): boolean {
  if (out.isGraphOutput) return false;
  g.replaceAllUses(out, by);
  return true;
}
