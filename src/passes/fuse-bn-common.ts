// Shared body of fuse-conv-bn and fuse-convtranspose-bn (the two differ only in which weight
// axis holds output channels). Not a pass: not in the registry.
import type { Node, Value } from '../ir/graph.js';
import type { PassContext } from './types.js';
import { channelScale, floatConst, sameFloatType } from './float.js';
import { constant, isOp, producedBy, retarget, soleConsumer } from './util.js';

export interface BnMatch {
  node: Node;
  nodes: Node[];
  initializers: Value[];
  conv: Node;
}

export const foldBnScale = {
  match(ctx: PassContext, bn: Node, convOp: string): BnMatch | null {
    if (!isOp(bn, 'BatchNormalization')) return null;
    const conv = producedBy(bn.input(0), convOp);
    if (!conv) return null;
    const why = ((): string | null => {
      if (soleConsumer(conv.output(0)) !== bn) return `${conv} output has other readers or is a graph output`;
      if (bn.getInt('training_mode', 0)) return 'BatchNormalization is in training mode';
      if (bn.outputs.some((v, i) => i > 0 && v && (v.uses.length || v.isGraphOutput))) return 'BatchNormalization running statistics are read';
      const params = [conv.input(1), conv.input(2), bn.input(1), bn.input(2), bn.input(3), bn.input(4)];
      if (params.some((v, i) => (v || i !== 1) && !constant(v))) return 'weights or BN parameters are not constants';
      if (!sameFloatType(params.filter((v): v is Value => v !== null).map((v) => constant(v)!))) return 'weights and BN parameters are not all one float type';
      const W = constant(conv.input(1))!;
      const channels = convOp === 'Conv' ? W.dims[0] : W.dims[1] * conv.getInt('group', 1);
      if (W.dims.length < 3 || [1, 2, 3, 4].some((i) => constant(bn.input(i))!.size !== channels)) return `BN parameters do not have one entry per output channel (${channels})`;
      return null;
    })();
    if (why) {
      ctx.note(bn, `not fused into ${conv} because ${why}`);
      return null;
    }
    const inits = [conv.input(1), conv.input(2), bn.input(1), bn.input(2), bn.input(3), bn.input(4)].filter((v): v is Value => v !== null);
    return { node: bn, nodes: [conv], initializers: inits, conv };
  },

  rewrite(ctx: PassContext, m: BnMatch, layout: (w: Value, conv: Node) => { axis: 0 | 1; groups: number; w: Value }): void {
    const { conv, node: bn } = m;
    const W = constant(conv.input(1))!;
    const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => constant(bn.input(i))!.toNumbers());
    const eps = bn.getFloat('epsilon', 1e-5);
    const s = gamma.map((g, k) => g / Math.sqrt(variance[k] + eps));
    const b = conv.input(2) ? constant(conv.input(2))!.toNumbers() : new Array<number>(s.length).fill(0);
    const bias = b.map((bk, k) => (bk - mean[k]) * s[k] + beta[k]);
    const { axis, groups } = layout(conv.input(1)!, conv);
    const w2 = channelScale(W, s, axis, groups);
    const g = ctx.graph;
    const wv = g.addConstant(`${conv.input(1)!.name}_bn`, w2);
    const bv = g.addConstant(`${conv.input(2)?.name ?? `${conv.name || 'conv'}_bias`}_bn`, floatConst(W.dataType, [bias.length], bias));
    retarget(g, bn, { op: conv.opType, inputs: [conv.input(0), wv, bv], attrs: [...conv.attributes] });
  },
};
