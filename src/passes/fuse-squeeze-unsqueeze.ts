// Before: x → Squeeze(a) → Unsqueeze(a) → y   or   x → Unsqueeze(a) → Squeeze(a) → y
// After:  x
// Preconditions: both axes lists known (attribute before opset 13, constant input after) and
//   equal once normalised against the same rank (rank of x for Squeeze→Unsqueeze, rank of x plus
//   the count for Unsqueeze→Squeeze); y is not a graph output.
// Formula: Unsqueeze re-inserts exactly the size-1 axes Squeeze removed, and vice versa.
import type { Node } from '../ir/graph.js';
import type { PassContext } from './types.js';
import { rulePass, type Rule } from './rules.js';
import { constInts, producedBy, rankOf } from './util.js';

function axesOf(ctx: PassContext, n: Node): number[] | undefined {
  return ctx.opset >= 13 ? (n.input(1) ? constInts(n.input(1)) : undefined) : n.getInts('axes');
}

function norm(axes: number[], rank: number | undefined): string | undefined {
  if (axes.some((a) => a < 0) && rank === undefined) return undefined;
  return [...new Set(axes.map((a) => (a < 0 ? a + rank! : a)))].sort((a, b) => a - b).join(',');
}

export const rules: Rule[] = [
  {
    op: 'Unsqueeze',
    doc: 'Unsqueeze(Squeeze(x, a), a) → x',
    apply: (ctx, n) => {
      const sq = producedBy(n.input(0), 'Squeeze');
      if (!sq) return null;
      const a = axesOf(ctx, sq), b = axesOf(ctx, n);
      if (!a || !b) return null;
      const r = rankOf(sq.input(0));
      const ka = norm(a, r), kb = norm(b, r);
      return ka !== undefined && ka === kb ? sq.input(0) : null;
    },
  },
  {
    op: 'Squeeze',
    doc: 'Squeeze(Unsqueeze(x, a), a) → x',
    apply: (ctx, n) => {
      const un = producedBy(n.input(0), 'Unsqueeze');
      if (!un) return null;
      const a = axesOf(ctx, un), b = axesOf(ctx, n);
      if (!a || !b) return null;
      const r0 = rankOf(un.input(0));
      const r = r0 === undefined ? undefined : r0 + a.length;
      const ka = norm(a, r), kb = norm(b, r);
      return ka !== undefined && ka === kb ? un.input(0) : null;
    },
  },
];

export default rulePass('fuse-squeeze-unsqueeze', 'cancel Squeeze/Unsqueeze pairs over the same axes', rules, 'fuse');
