// Before: x → Expand(shape) → y        After: x
// Preconditions: shape is constant, no longer than x's rank, and each of its dims (right-aligned)
//   is 1 or equals x's dim there (a symbolic dim of x only against 1); y is not a graph output.
// Formula: broadcast(shape(x), shape) = shape(x) ⇒ Expand is the identity.
import { rulePass, type Rule } from './rules.js';
import { constInts, shapeOf } from './util.js';

export const rules: Rule[] = [
  {
    op: 'Expand',
    doc: 'Expand(x, s) → x when broadcasting s adds nothing',
    shapes: true,
    apply: (_c, n) => {
      const x = n.input(0);
      const s = constInts(n.input(1));
      const dims = shapeOf(x);
      if (!s || !dims || s.length > dims.length) return null;
      const off = dims.length - s.length;
      return s.every((d, i) => d === 1 || d === dims[off + i]) ? x : null;
    },
  },
];

export default rulePass('eliminate-nop-expand', 'remove Expands that broadcast to the input shape', rules);
