// Before: x → Concat(axis) → y  (one input)        After: x
// Preconditions: exactly one input; y is not a graph output.
// Formula: Concat of one tensor is that tensor.
import { rulePass, type Rule } from './rules.js';

export const rules: Rule[] = [
  { op: 'Concat', doc: 'Concat(x) → x', apply: (_c, n) => (n.inputs.length === 1 && n.input(0) ? n.input(0) : null) },
];

export default rulePass('eliminate-nop-concat', 'remove single-input Concats', rules);
