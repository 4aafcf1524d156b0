// Before: A[M,K] → MatMul(B[K,N]) → y → Add(C) → z        After: A → Gemm(B, C) → z
// Preconditions: A and B have rank 2 (Gemm is 2-D only; known from the model or shape
//   inference); C broadcasts to [M, N] without growing it (Gemm's C is unidirectional); one float
//   element type (Gemm takes float types only); y has one consumer and is not a graph output.
//   Either Add operand order.
// Formula: Gemm(A, B, C; α=1, β=1) = A·B + C.
import { isFloat } from '../ir/dtype.js';
import type { Node, Value } from '../ir/graph.js';
import { nodePass } from './types.js';
import { isOp, producedBy, retarget, shapeOf, soleConsumer } from './util.js';

interface M {
  node: Node;
  nodes: Node[];
  mm: Node;
  c: Value;
}

export default nodePass<M>({
  name: 'fuse-matmul-add',
  kind: 'fuse',
  summary: 'turn MatMul + Add of 2-D operands into Gemm',
  oneRun: true,
  needsShapes: true,
  match(ctx, n) {
    if (!isOp(n, 'Add')) return null;
    for (const side of [0, 1]) {
      const mm = producedBy(n.input(side), 'MatMul');
      const c = n.input(1 - side);
      if (!mm || !c) continue;
      const a = shapeOf(mm.input(0)), b = shapeOf(mm.input(1)), cs = shapeOf(c), y = shapeOf(mm.output(0));
      const why =
        soleConsumer(mm.output(0)) !== n ? 'the MatMul output has other readers' :
        !a || !b || a.length !== 2 || b.length !== 2 ? 'its operands are not both known to be 2-D' :
        !cs || cs.length > 2 ? 'the addend rank is unknown or above 2' :
        c.elemType === undefined || !isFloat(c.elemType) || c.elemType !== mm.input(0)?.elemType ? 'the types are not one float type' : null;
      if (why) {
        ctx.note(n, `${mm} not turned into Gemm because ${why}`);
        continue;
      }
      const out = [a![0], b![1]];
      const fits = cs!.every((d, i) => d === 1 || d === out[out.length - cs!.length + i]);
      if (!fits || (y && y.length !== 2)) {
        ctx.note(n, `${mm} not turned into Gemm because the addend [${cs!.join(',')}] does not broadcast to [${out.join(',')}] one way`);
        continue;
      }
      return { node: n, nodes: [mm], mm, c: c! };
    }
    return null;
  },
  rewrite(ctx, m) {
    retarget(ctx.graph, m.node, { op: 'Gemm', inputs: [m.mm.input(0), m.mm.input(1), m.c] });
  },
});
