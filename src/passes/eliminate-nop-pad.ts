// Before: x → Pad(pads = 0…) → y        After: x
// Preconditions: every pad is 0 (attribute before opset 11, constant input after); y is not a
//   graph output. Mode and value then do not matter.
// Formula: padding by nothing is the identity.
import { rulePass, type Rule } from './rules.js';
import { constInts } from './util.js';

export const rules: Rule[] = [
  {
    op: 'Pad',
    doc: 'Pad(x, pads=0) → x',
    apply: (ctx, n) => {
      const pads = ctx.opset >= 11 ? constInts(n.input(1)) : n.getInts('pads');
      if (!pads) return null;
      return pads.every((p) => p === 0) ? n.input(0) : null;
    },
  },
];

export default rulePass('eliminate-nop-pad', 'remove Pads that pad nothing', rules);
