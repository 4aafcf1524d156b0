// Before: x → Transpose(perm = [0, 1, …, r−1]) → y        After: x
// Preconditions: perm is the identity (or absent with rank ≤ 1); y is not a graph output.
// Formula: y[i…] = x[perm(i…)] = x[i…].
import { rulePass, type Rule } from './rules.js';
import { rankOf } from './util.js';

export const rules: Rule[] = [
  {
    op: 'Transpose',
    doc: 'Transpose(x, identity perm) → x',
    apply: (_c, n) => {
      const perm = n.getInts('perm');
      if (perm) return perm.every((p, i) => p === i) ? n.input(0) : null;
      const r = rankOf(n.input(0));
      return r !== undefined && r <= 1 ? n.input(0) : null;
    },
  },
];

export default rulePass('eliminate-nop-transpose', 'remove Transposes with the identity permutation', rules);
