// The one generic runner over the evaluator table: checks domain, opset and element type from
// the row, runs it, and turns every refusal into a reason ("not applied because …").
import { dtypeInfo, dtypeName } from '../../ir/dtype.js';
import type { Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { EvalRefusal } from './array.js';
import { EVALUATORS, type TypeClass } from './table.js';

export type EvalResult = { ok: true; outputs: Tensor[] } | { ok: false; reason: string };

function typeFits(cls: TypeClass, dt: number): boolean {
  const kind = dtypeInfo(dt).kind;
  switch (cls) {
    case 'any': return kind !== 'string' && kind !== 'complex';
    case 'number': return kind === 'float' || kind === 'int' || kind === 'uint';
    case 'float': return kind === 'float';
    case 'int': return kind === 'int' || kind === 'uint';
    case 'bool': return kind === 'bool';
  }
}

/** Why the table cannot evaluate this node at all (before looking at values), or null. */
export function cannotEvaluate(node: Node, opset: number): string | null {
  if (node.domain !== '') return `domain '${node.domain}' has no evaluator`;
  const row = EVALUATORS[node.opType];
  if (!row) return `${node.opType} has no evaluator`;
  if (opset < row.opsets[0] || opset > row.opsets[1]) return `the ${node.opType} evaluator knows opsets ${row.opsets[0]}–${row.opsets[1]}, the model uses ${opset}`;
  if (node.subgraphs().length) return `${node.opType} has a subgraph`;
  return null;
}

export function evaluate(node: Node, inputs: readonly (Tensor | null)[], opset: number): EvalResult {
  const why = cannotEvaluate(node, opset);
  if (why) return { ok: false, reason: why };
  const row = EVALUATORS[node.opType];
  const first = inputs[0];
  if (first && !typeFits(row.types, first.dataType)) return { ok: false, reason: `${node.opType} evaluator does not take ${dtypeName(first.dataType)}` };
  try {
    const outputs = row.run({ node, inputs, opset });
    const want = node.outputs.filter((v) => v).length;
    if (outputs.length < want) return { ok: false, reason: `${node.opType} evaluator computes ${outputs.length} outputs, the node has ${want}` };
    return { ok: true, outputs };
  } catch (e) {
    if (e instanceof EvalRefusal) return { ok: false, reason: e.message };
    if (e instanceof RangeError || e instanceof TypeError) return { ok: false, reason: `${node.opType}: ${e.message}` };
    throw e;
  }
}
