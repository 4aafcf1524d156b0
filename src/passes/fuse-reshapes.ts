// Before: x → Reshape(s1) → y → Reshape(s2) → z        After: x → Reshape(s2) → z
// Preconditions: s2 is a constant with no 0 entries (a 0 copies a dim of y, which x may not have),
//   or the outer Reshape has allowzero=1 (a 0 is then a literal 0). y may have other readers
//   (the inner Reshape then stays for them).
// Formula: reshape only reinterprets the row-major order, so the last target alone decides z.
import type { Node } from '../ir/graph.js';
import { nodePass } from './types.js';
import { constInts, isOp } from './util.js';

interface M {
  node: Node;
  nodes: Node[];
  inner: Node;
}

const FLAT = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);

export default nodePass<M>({
  name: 'fuse-reshapes',
  kind: 'fuse',
  summary: 'collapse consecutive Reshapes (and Flatten/Squeeze/Unsqueeze before a Reshape)',
  oneRun: true,
  match(ctx, n) {
    if (!isOp(n, 'Reshape')) return null;
    const p = n.input(0)?.producer;
    if (!p || p.domain !== '' || !FLAT.has(p.opType)) return null;
    const s2 = constInts(n.input(1));
    if (!s2) {
      ctx.note(n, `not merged with ${p} because its shape is not constant`);
      return null;
    }
    if (s2.includes(0) && !n.getInt('allowzero', 0)) {
      ctx.note(n, `not merged with ${p} because its shape copies input dims (0)`);
      return null;
    }
    return { node: n, nodes: [p], inner: p };
  },
  rewrite(ctx, m) {
    ctx.graph.setInput(m.node, 0, m.inner.input(0));
  },
});
