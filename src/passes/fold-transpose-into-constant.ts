// Before: W (constant) → Transpose(perm) → Wᵀ → MatMul/Conv/…        After: initializer Wᵀ → MatMul/Conv/…
// Preconditions: the Transpose reads an initializer; its output is not a graph output. Unlike
//   fold-constants there is no size limit: a transposition never grows the data, and exporters
//   emit one in front of nearly every Linear weight.
// Formula: Wᵀ[i…] = W[perm(i…)].
import type { Node, Value } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { evaluate } from './eval/run.js';
import { nodePass } from './types.js';
import { constant, isOp } from './util.js';

interface M {
  node: Node;
  nodes: Node[];
  initializers: Value[];
  value: Tensor;
}

export default nodePass<M>({
  name: 'fold-transpose-into-constant',
  kind: 'fold',
  summary: 'store transposed copies of constant operands instead of transposing at run time',
  oneRun: true,
  match(ctx, n) {
    if (!isOp(n, 'Transpose')) return null;
    const w = constant(n.input(0));
    if (!w) return null;
    if (n.output(0).isGraphOutput) {
      ctx.note(n, 'not folded because its output is a graph output');
      return null;
    }
    const r = evaluate(n, [w], ctx.opset);
    if (!r.ok) {
      ctx.note(n, `not folded because ${r.reason}`);
      return null;
    }
    return { node: n, nodes: [n], initializers: [n.input(0)!], value: r.outputs[0] };
  },
  rewrite(ctx, m) {
    const out = m.node.output(0);
    ctx.graph.replaceAllUses(out, ctx.graph.addConstant(out.name, m.value));
  },
});
