// Before: x → Identity → y → consumers        After: x → consumers
// Preconditions: y is not a graph output (graph output names are part of the contract).
// Formula: Identity(x) = x.
import { rulePass, type Rule } from './rules.js';

export const rules: Rule[] = [
  { op: 'Identity', doc: 'Identity(x) → x', apply: (_c, n) => n.input(0) },
];

export default rulePass('eliminate-identity', 'remove Identity nodes', rules);
