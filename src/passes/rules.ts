// Local simplifications as a table of rules: each rule names an op and says which value the
// node's output 0 equals, or why not. A rule pass is a concatenation of rules; the `simplify`
// table in index.ts is the concatenation of every eliminate-nop pass's rules.
//
// Shared precondition (graph output names are part of the model's contract): the output is not
// a graph output, and the node's other outputs are unread.
import type { Node, Value } from '../ir/graph.js';
import type { Pass, PassContext, PassKind } from './types.js';
import { nodePass } from './types.js';

export interface Rule {
  readonly op: string;
  /** `Identity(x) → x` — the rewrite in one line. */
  readonly doc: string;
  /** The value output 0 equals; null when the rule does not apply; a string: not applied because … */
  apply(ctx: PassContext, node: Node): Value | null | string;
  /** Needs shapes (Value.inferred) to decide. */
  readonly shapes?: boolean;
}

interface RuleMatch {
  node: Node;
  nodes: Node[];
  by: Value;
}

export function rulePass(name: string, summary: string, rules: readonly Rule[], kind: PassKind = 'eliminate'): Pass {
  const byOp = new Map<string, Rule[]>();
  for (const r of rules) byOp.set(r.op, [...(byOp.get(r.op) ?? []), r]);
  return nodePass<RuleMatch>({
    name,
    kind,
    summary,
    oneRun: true,
    needsShapes: rules.some((r) => r.shapes),
    match(ctx, node) {
      if (node.domain !== '') return null;
      for (const rule of byOp.get(node.opType) ?? []) {
        const by = rule.apply(ctx, node);
        if (by === null) continue;
        if (typeof by === 'string') {
          ctx.note(node, by);
          continue;
        }
        const out = node.outputs[0];
        if (!out) return null;
        if (out.isGraphOutput) {
          ctx.note(node, `${rule.doc} not applied because ${out} is a graph output (its name is part of the model's contract)`);
          return null;
        }
        if (node.outputs.some((v, i) => i > 0 && v && (v.uses.length || v.isGraphOutput))) {
          ctx.note(node, `${rule.doc} not applied because another output of the node is read`);
          return null;
        }
        return { node, nodes: [node], by };
      }
      return null;
    },
    rewrite(ctx, m) {
      ctx.graph.replaceAllUses(m.node.output(0), m.by);
    },
  });
}
