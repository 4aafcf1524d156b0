// Before: x → Split → y  (one output)        After: x
// Preconditions: the node has exactly one output (so it takes the whole axis); y is not a graph output.
// Formula: Split into one part is the identity.
import { rulePass, type Rule } from './rules.js';

export const rules: Rule[] = [
  { op: 'Split', doc: 'Split(x) → x (one output)', apply: (_c, n) => (n.outputs.length === 1 && n.outputs[0] ? n.input(0) : null) },
];

export default rulePass('eliminate-nop-split', 'remove Splits with a single output', rules);
