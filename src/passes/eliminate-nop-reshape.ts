// Before: x:[d0…dr−1] → Reshape(shape) → y:[d0…dr−1]        After: x
// Preconditions: shape is constant and resolves (0 = copy the input dim unless allowzero, one −1 =
//   the rest) to exactly x's shape, dim by dim; dims of x that are symbolic count only when the
//   target copies them (0) or infers them (−1, with every other dim matched); y is not a graph output.
// Formula: a reshape to the same shape is the identity.
import { rulePass, type Rule } from './rules.js';
import { constInts, shapeOf } from './util.js';

export const rules: Rule[] = [
  {
    op: 'Reshape',
    doc: 'Reshape(x, shape(x)) → x',
    shapes: true,
    apply: (_c, n) => {
      const x = n.input(0);
      const shape = constInts(n.input(1));
      const dims = shapeOf(x);
      if (!shape || !dims || shape.length !== dims.length) return null;
      const allowZero = n.getInt('allowzero', 0) === 1;
      let inferred = 0;
      for (let i = 0; i < shape.length; i++) {
        const s = shape[i];
        if (s === 0 && !allowZero) continue;
        if (s === -1) {
          inferred++;
          continue;
        }
        if (s !== dims[i]) return null;
      }
      // With every other dim equal, a single −1 must be the remaining dim.
      return inferred <= 1 ? x : null;
    },
  },
];

export default rulePass('eliminate-nop-reshape', "remove Reshapes to the input's own shape", rules);
