// Before: Constant(value=t) → y → consumers        After: initializer y' = t → consumers
// Preconditions: a dense value (value, value_float(s), value_int(s), value_string(s)); y is not a
//   graph output. sparse_value stays a node.
// Formula: —
import type { Node } from '../ir/graph.js';
import { constantNodeValue } from '../ir/shape-inference.js';
import { Tensor } from '../ir/tensor.js';
import { nodePass } from './types.js';
import { isOp } from './util.js';

interface M {
  node: Node;
  nodes: Node[];
  value: Tensor;
}

function value(n: Node): Tensor | undefined {
  const t = constantNodeValue(n);
  if (t) return t;
  const s = n.attr('value_string');
  if (s?.type === 'string') return Tensor.fromStrings([], [s.value]);
  const ss = n.attr('value_strings');
  if (ss?.type === 'strings') return Tensor.fromStrings([ss.value.length], ss.value);
  return undefined;
}

export default nodePass<M>({
  name: 'convert-constant-to-initializer',
  kind: 'convert',
  summary: 'turn Constant nodes into initializers',
  oneRun: true,
  match(ctx, n) {
    if (!isOp(n, 'Constant')) return null;
    const t = value(n);
    if (!t) {
      ctx.note(n, 'not converted because its value is sparse or missing');
      return null;
    }
    if (n.output(0).isGraphOutput) {
      ctx.note(n, 'not converted because its output is a graph output');
      return null;
    }
    return { node: n, nodes: [n], value: t };
  },
  rewrite(ctx, m) {
    const out = m.node.output(0);
    ctx.graph.replaceAllUses(out, ctx.graph.addConstant(out.name, m.value));
  },
});
