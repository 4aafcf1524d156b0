// Before: x:[1,3,480,640] → Shape → s → Gather/Concat/… → Reshape        After: s = [1,3,480,640] (initializer)
// Preconditions: the (sliced, opset 15 start/end) shape of x is fully static — from the model,
//   from shape inference, or from --input-shape fixing the graph inputs; s is not a graph output.
//   fold-constants then computes the rest of the shape chain.
// Formula: Shape(x) = dims(x); Size(x) = ∏ dims(x).
import { DataType } from '../ir/dtype.js';
import type { Node } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { shapeTensor } from './eval/table.js';
import { nodePass } from './types.js';
import { isOp, shapeOf } from './util.js';

interface M {
  node: Node;
  nodes: Node[];
  value: Tensor;
}

export default nodePass<M>({
  name: 'fold-shapes',
  kind: 'fold',
  summary: 'replace Shape/Size of statically shaped values by constants',
  oneRun: true,
  needsShapes: true,
  match(ctx, n) {
    if (!isOp(n, 'Shape') && !isOp(n, 'Size')) return null;
    const dims = shapeOf(n.input(0));
    if (!dims) return null;
    let value: Tensor;
    if (isOp(n, 'Shape')) {
      const r = dims.length;
      const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
      const start = ctx.opset >= 15 ? clamp(n.getInt('start', 0)) : 0;
      const endAttr = ctx.opset >= 15 ? n.getInt('end') : undefined;
      const end = endAttr === undefined ? r : clamp(endAttr);
      const part = dims.slice(start, end);
      if (part.some((d) => typeof d !== 'number')) return null;
      value = shapeTensor(dims as number[], start, end);
    } else {
      if (dims.some((d) => typeof d !== 'number')) return null;
      value = Tensor.scalar(DataType.INT64, (dims as number[]).reduce((a, b) => a * b, 1));
    }
    if (n.output(0).isGraphOutput) {
      ctx.note(n, 'not folded because its output is a graph output');
      return null;
    }
    return { node: n, nodes: [n], value };
  },
  rewrite(ctx, m) {
    const out = m.node.output(0);
    ctx.graph.replaceAllUses(out, ctx.graph.addConstant(out.name, m.value));
  },
});
