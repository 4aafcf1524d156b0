// Before: x → Conv(W, b) → y → Mul(s) → z        After: x → Conv(W', b') → z
// Preconditions: s is a constant of the conv's float type, one value per output channel or a
//   scalar (broadcastable to [1, M, 1, …] without growing y); W (and b) constant; y has one
//   consumer and is not a graph output. Either Mul operand order.
// Formula: W'[m,…] = W[m,…]·s[m], b' = b·s (conv is linear in W and b per output channel).
import type { Node, Value } from '../ir/graph.js';
import { nodePass } from './types.js';
import { channelScale, floatConst, perChannel } from './float.js';
import { constant, isOp, producedBy, retarget, soleConsumer } from './util.js';

interface M {
  node: Node;
  nodes: Node[];
  initializers: Value[];
  conv: Node;
  scale: number[];
}

export default nodePass<M>({
  name: 'fuse-conv-mul',
  kind: 'fuse',
  summary: 'fold a per-channel constant Mul into the Conv weights',
  oneRun: true,
  match(ctx, n) {
    if (!isOp(n, 'Mul')) return null;
    for (const side of [0, 1]) {
      const conv = producedBy(n.input(side), 'Conv');
      const sv = n.input(1 - side);
      const s = constant(sv);
      if (!conv || !s) continue;
      const W = constant(conv.input(1));
      const b = conv.input(2) ? constant(conv.input(2)) : undefined;
      const why =
        soleConsumer(conv.output(0)) !== n ? 'the Conv output has other readers' :
        !W || (conv.input(2) && !b) ? 'the Conv weights are not constants' :
        s.dataType !== W.dataType ? 'the factor has another type' : null;
      if (why) {
        ctx.note(n, `not fused into ${conv} because ${why}`);
        continue;
      }
      const scale = perChannel(s, W!.dims[0], W!.dims.length);
      if (!scale) {
        ctx.note(n, `not fused into ${conv} because the factor [${s.dims.join(',')}] is not one value per output channel`);
        continue;
      }
      return { node: n, nodes: [conv], initializers: [sv!, conv.input(1)!, ...(conv.input(2) ? [conv.input(2)!] : [])], conv, scale };
    }
    return null;
  },
  rewrite(ctx, m) {
    const W = constant(m.conv.input(1))!;
    const g = ctx.graph;
    const w2 = g.addConstant(`${m.conv.input(1)!.name}_scaled`, channelScale(W, m.scale, 0, 1));
    const inputs: (Value | null)[] = [m.conv.input(0), w2];
    if (m.conv.input(2)) {
      const b = constant(m.conv.input(2))!.toNumbers();
      inputs.push(g.addConstant(`${m.conv.input(2)!.name}_scaled`, floatConst(W.dataType, [b.length], b.map((x, i) => x * m.scale[i]))));
    }
    retarget(g, m.node, { op: 'Conv', inputs, attrs: [...m.conv.attributes] });
  },
});
