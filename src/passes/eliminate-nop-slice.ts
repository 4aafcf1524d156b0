// Before: x → Slice(starts, ends, axes, steps) → y        After: x
// Preconditions: starts/ends/axes/steps constant (inputs from opset 10, attributes before); on every
//   sliced axis step = 1, start clamps to 0 and end to the full dim (end ≥ dim, e.g. INT64_MAX;
//   a symbolic dim only with end ≥ 2^31); y is not a graph output.
// Formula: x[0:d:1] = x on every axis.
import { rulePass, type Rule } from './rules.js';
import { constInts, shapeOf } from './util.js';

const HUGE = 2 ** 31 - 1;

export const rules: Rule[] = [
  {
    op: 'Slice',
    doc: 'Slice(x, 0, ≥dim, step 1) → x',
    shapes: true,
    apply: (ctx, n) => {
      const x = n.input(0);
      let starts: number[] | undefined, ends: number[] | undefined, axes: number[] | undefined, steps: number[] | undefined;
      if (ctx.opset >= 10) {
        starts = constInts(n.input(1));
        ends = constInts(n.input(2));
        axes = n.input(3) ? constInts(n.input(3)) : undefined;
        steps = n.input(4) ? constInts(n.input(4)) : undefined;
        if ((n.input(3) && !axes) || (n.input(4) && !steps)) return null;
      } else {
        starts = n.getInts('starts');
        ends = n.getInts('ends');
        axes = n.getInts('axes');
      }
      if (!starts || !ends) return null;
      const dims = shapeOf(x);
      for (let i = 0; i < starts.length; i++) {
        if ((steps?.[i] ?? 1) !== 1) return null;
        const axis = axes?.[i] ?? i;
        const d = dims?.[axis < 0 ? axis + (dims?.length ?? 0) : axis];
        const start = starts[i], end = ends[i];
        if (start !== 0 && !(typeof d === 'number' && start <= -d)) return null;
        if (!(end >= HUGE || (typeof d === 'number' && end >= d))) return null;
      }
      return x;
    },
  },
];

export default rulePass('eliminate-nop-slice', 'remove Slices that take the whole tensor', rules);
