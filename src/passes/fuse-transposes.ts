// Before: x → Transpose(p1) → y → Transpose(p2) → z        After: x → Transpose(p) → z
// Preconditions: both perms known (explicit, or default reversal with known rank). y may have
//   other readers: the inner Transpose then stays for them. An identity p is left for
//   eliminate-nop-transpose (which keeps graph output names).
// Formula: z[i] = y[p2[i]] = x[p1[p2[i]]] ⇒ p[i] = p1[p2[i]].
import type { Node } from '../ir/graph.js';
import { nodePass } from './types.js';
import { isOp, producedBy, rankOf } from './util.js';

interface M {
  node: Node;
  nodes: Node[];
  inner: Node;
  perm: number[];
}

const permOf = (n: Node, rank: number | undefined): number[] | undefined =>
  n.getInts('perm') ?? (rank === undefined ? undefined : Array.from({ length: rank }, (_, i) => rank - 1 - i));

export default nodePass<M>({
  name: 'fuse-transposes',
  kind: 'fuse',
  summary: 'compose consecutive Transposes into one',
  oneRun: true,
  match(ctx, n) {
    if (!isOp(n, 'Transpose')) return null;
    const inner = producedBy(n.input(0), 'Transpose');
    if (!inner) return null;
    const p1 = permOf(inner, rankOf(inner.input(0)));
    const p2 = permOf(n, p1?.length ?? rankOf(n.input(0)));
    if (!p1 || !p2 || p1.length !== p2.length) {
      ctx.note(n, 'not composed because a permutation is implicit and the rank is unknown');
      return null;
    }
    return { node: n, nodes: [inner], inner, perm: p2.map((i) => p1[i]) };
  },
  rewrite(ctx, m) {
    ctx.graph.setInput(m.node, 0, m.inner.input(0));
    m.node.attributes.set('perm', { type: 'ints', value: m.perm });
  },
});
