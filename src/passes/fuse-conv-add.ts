// Before: x → Conv(W, b) → y → Add(c) → z        After: x → Conv(W, b + c) → z
// Preconditions: c is a constant of the conv's float type, one value per output channel or a
//   scalar (shape broadcastable to [1, M, 1, …] without growing y); W (and b) constant; y has one
//   consumer and is not a graph output. Either Add operand order.
// Formula: Conv(x, W, b) + c = Conv(x, W, b + c) since c[m] is added to every pixel of channel m.
import type { Node, Value } from '../ir/graph.js';
import { nodePass } from './types.js';
import { floatConst, perChannel } from './float.js';
import { constant, isOp, producedBy, retarget, soleConsumer } from './util.js';

interface M {
  node: Node;
  nodes: Node[];
  initializers: Value[];
  conv: Node;
  add: number[];
}

export default nodePass<M>({
  name: 'fuse-conv-add',
  kind: 'fuse',
  summary: 'fold a per-channel constant Add into the Conv bias',
  oneRun: true,
  match(ctx, n) {
    if (!isOp(n, 'Add')) return null;
    for (const side of [0, 1]) {
      const conv = producedBy(n.input(side), 'Conv');
      const cv = n.input(1 - side);
      const c = constant(cv);
      if (!conv || !c) continue;
      const W = constant(conv.input(1));
      const b = conv.input(2) ? constant(conv.input(2)) : undefined;
      const why =
        soleConsumer(conv.output(0)) !== n ? 'the Conv output has other readers' :
        !W || (conv.input(2) && !b) ? 'the Conv weights are not constants' :
        c.dataType !== W.dataType ? 'the addend has another type' : null;
      if (why) {
        ctx.note(n, `not fused into ${conv} because ${why}`);
        continue;
      }
      const add = perChannel(c, W!.dims[0], W!.dims.length);
      if (!add) {
        ctx.note(n, `not fused into ${conv} because the addend [${c.dims.join(',')}] is not one value per output channel`);
        continue;
      }
      return { node: n, nodes: [conv], initializers: [cv!, ...(conv.input(2) ? [conv.input(2)!] : [])], conv, add };
    }
    return null;
  },
  rewrite(ctx, m) {
    const W = constant(m.conv.input(1))!;
    const b = m.conv.input(2) ? constant(m.conv.input(2))!.toNumbers() : new Array<number>(m.add.length).fill(0);
    const bias = ctx.graph.addConstant(`${m.conv.name || 'conv'}_bias`, floatConst(W.dataType, [m.add.length], b.map((x, i) => x + m.add[i])));
    retarget(ctx.graph, m.node, { op: 'Conv', inputs: [m.conv.input(0), m.conv.input(1), bias], attrs: [...m.conv.attributes] });
  },
});
