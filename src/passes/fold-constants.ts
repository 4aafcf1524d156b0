// Before: c1, c2 (constants) → Op → y → consumers        After: y' (a new initializer) → consumers
// Preconditions: every input is an initializer (not an overridable graph input) or omitted; the op
//   has a row in the evaluator table (eval/table.ts) for the model's opset and the input types;
//   no output is a graph output; the result holds at most `foldLimit` elements unless it is no
//   larger than the inputs (folding must not bloat the file: ConstantOfShape/Expand/Tile of a
//   big shape stay computed).
// Formula: y' = evaluate(Op, c1, c2, …) — the same numbers the op computes, rounded once to its type.
import type { Node, Value } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { cannotEvaluate, evaluate } from './eval/run.js';
import { nodePass } from './types.js';
import { constant, shapeOf } from './util.js';

interface M {
  node: Node;
  nodes: Node[];
  outputs: Tensor[];
  initializers: Value[];
}

export default nodePass<M>({
  name: 'fold-constants',
  kind: 'fold',
  summary: 'compute nodes whose inputs are all constants',
  oneRun: true,
  match(ctx, n) {
    if (!n.inputs.length || n.opType === 'Constant') return null;
    const ins = n.inputs.map((v) => (v ? constant(v) : null));
    if (ins.some((t) => t === undefined)) return null;
    const why = cannotEvaluate(n, ctx.opset);
    if (why) {
      ctx.note(n, `not folded because ${why}`);
      return null;
    }
    if (n.outputs.some((v) => v?.isGraphOutput)) {
      ctx.note(n, 'not folded because its output is a graph output (an initializer cannot keep that name)');
      return null;
    }
    const inSize = ins.reduce((s, t) => s + (t?.size ?? 0), 0);
    // Shape inference usually knows the result size: refuse big results before computing them.
    const known = n.outputs.map((v) => shapeOf(v));
    if (known.every((s) => s && s.every((d) => typeof d === 'number'))) {
      const size = known.reduce((acc, s) => acc + (s as number[]).reduce((a, b) => a * b, 1), 0);
      if (size > ctx.foldLimit && size > inSize) {
        ctx.note(n, `not folded because the result has ${size} elements, more than the fold limit ${ctx.foldLimit}`);
        return null;
      }
    }
    const r = evaluate(n, ins as (Tensor | null)[], ctx.opset);
    if (!r.ok) {
      ctx.note(n, `not folded because ${r.reason}`);
      return null;
    }
    const outSize = r.outputs.reduce((s, t) => s + t.size, 0);
    if (outSize > ctx.foldLimit && outSize > inSize) {
      ctx.note(n, `not folded because the result has ${outSize} elements, more than the fold limit ${ctx.foldLimit}`);
      return null;
    }
    return { node: n, nodes: [n], outputs: r.outputs, initializers: n.inputs.filter((v): v is Value => v !== null) };
  },
  rewrite(ctx, m) {
    m.node.outputs.forEach((v, i) => {
      if (!v) return;
      const c = ctx.graph.addConstant(v.name, m.outputs[i]);
      ctx.graph.replaceAllUses(v, c);
    });
  },
});
