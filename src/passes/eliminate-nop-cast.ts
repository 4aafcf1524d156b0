// Before: x:T → Cast(to = T) → y        After: x
// Preconditions: x's element type is known and equals `to`; y is not a graph output.
// Formula: Cast to the same type is the identity.
import { rulePass, type Rule } from './rules.js';

export const rules: Rule[] = [
  {
    op: 'Cast',
    doc: 'Cast(x, to=type(x)) → x',
    shapes: true,
    apply: (_c, n) => {
      const t = n.input(0)?.elemType;
      return t !== undefined && t === n.getInt('to') ? n.input(0) : null;
    },
  },
  {
    op: 'CastLike',
    doc: 'CastLike(x, y) → x when type(x) = type(y)',
    shapes: true,
    apply: (_c, n) => {
      const t = n.input(0)?.elemType;
      return t !== undefined && t === n.input(1)?.elemType ? n.input(0) : null;
    },
  },
];

export default rulePass('eliminate-nop-cast', 'remove Casts to the type the value already has', rules);
