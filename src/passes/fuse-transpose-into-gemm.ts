// Before: A → Transpose(perm=[1,0]) → Aᵀ → Gemm(transA=t) → y        After: A → Gemm(transA=1−t) → y
//         (the same for input B and transB)
// Preconditions: the Transpose swaps the two axes of a 2-D value (perm [1,0]); it may have other
//   readers (it then stays for them). Constant B operands are left to fold-transpose-into-constant.
// Formula: Gemm reads op(A) = transA ? Aᵀ : A, so Gemm(Aᵀ, transA=t) = Gemm(A, transA=1−t).
import type { Node } from '../ir/graph.js';
import { nodePass } from './types.js';
import { constant, isOp, producedBy, rankOf } from './util.js';

interface M {
  node: Node;
  nodes: Node[];
  slot: 0 | 1;
  t: Node;
}

export default nodePass<M>({
  name: 'fuse-transpose-into-gemm',
  kind: 'fuse',
  summary: "absorb 2-D Transposes of Gemm operands into transA/transB",
  oneRun: false, // A and B: one per match; the manager's next round takes the other
  match(_ctx, n) {
    if (!isOp(n, 'Gemm')) return null;
    for (const slot of [0, 1] as const) {
      const t = producedBy(n.input(slot), 'Transpose');
      if (!t || constant(t.input(0))) continue;
      const perm = t.getInts('perm');
      const rank = rankOf(t.input(0));
      if ((perm && perm.join(',') === '1,0') || (!perm && rank === 2)) return { node: n, nodes: [t], slot, t };
    }
    return null;
  },
  rewrite(ctx, m) {
    const key = m.slot === 0 ? 'transA' : 'transB';
    ctx.graph.setInput(m.node, m.slot, m.t.input(0));
    m.node.attributes.set(key, { type: 'int', value: 1 - m.node.getInt(key, 0) });
  },
});
