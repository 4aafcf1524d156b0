// Before: x → Dropout(ratio) → y (, mask unread)        After: x → consumers of y
// Preconditions: inference form — no training_mode input, or a constant false one (opset 12+),
//   or is_test=1 / opset ≥ 7 before that; the mask output is absent or unread; y is not a graph output.
// Formula: in inference Dropout(x) = x (ONNX Dropout: "output = input" when not training).
import { DataType } from '../ir/dtype.js';
import { rulePass, type Rule } from './rules.js';
import { constant } from './util.js';

export const rules: Rule[] = [
  {
    op: 'Dropout',
    doc: 'Dropout(x) → x (inference)',
    apply: (ctx, n) => {
      const mask = n.outputs[1];
      if (mask && (mask.uses.length || mask.isGraphOutput)) return 'the mask output is read';
      if (ctx.opset < 7 && !n.getInt('is_test', 0)) return 'before opset 7 Dropout trains unless is_test=1';
      const tm = n.input(2);
      if (tm) {
        const t = constant(tm);
        if (!t || t.dataType !== DataType.BOOL) return 'training_mode is not a constant';
        if (t.toNumbers()[0]) return 'training_mode is true';
      }
      return n.input(0);
    },
  },
];

export default rulePass('eliminate-dropout', 'remove inference-mode Dropout', rules);
