// verify(model): the structural invariants every pass must keep. Run at load and after every
// rewrite in tests. Returns problems as sentences naming the node or value; empty = valid.
import { DataType, dtypeName } from './dtype.js';
import type { Graph, Model, Node } from './graph.js';

export function verify(model: Model): string[] {
  const problems: string[] = [];
  if (!model.graph.outputs.length) problems.push('the graph has no outputs');
  // onnxruntime and onnx.checker need an opset import for every domain a node uses.
  const missing = new Map<string, string>();
  for (const n of model.graph.allNodes()) if (!model.opsetImports.has(n.domain) && !missing.has(n.domain)) missing.set(n.domain, String(n));
  for (const [domain, node] of missing) problems.push(`the model imports no opset for domain '${domain || 'ai.onnx'}', which ${node} uses`);
  verifyGraph(model.graph, problems, 'graph');
  return problems;
}

function verifyGraph(g: Graph, problems: string[], where: string): void {
  const seen = new Set<Node>();
  const scope = (n: Node): string => (where === 'graph' ? `${n}` : `${where}: ${n}`);
  // onnxruntime refuses a graph in which two nodes share a (non-empty) name.
  const named = new Map<string, Node>();
  for (const n of g.nodes) {
    if (!n.name) continue;
    const other = named.get(n.name);
    if (other) problems.push(`${scope(n)} has the same name as ${other} (node names must be unique in a graph)`);
    else named.set(n.name, n);
  }
  for (const n of g.nodes) {
    if (n.graph !== g) problems.push(`${scope(n)} belongs to another graph`);
    if (!n.opType) problems.push(`${scope(n)} has no op_type`);
    n.inputs.forEach((v, i) => {
      if (!v) return;
      const owner = v.graph;
      if (!owner.ownsValue(v)) problems.push(`${scope(n)} input ${i} ${v} no longer exists (its producer was removed)`);
      let visible = false;
      for (let s: Graph | null = g; s; s = s.parent) if (s === owner) visible = true;
      if (!visible) problems.push(`${scope(n)} input ${i} ${v} is defined in a different subgraph`);
      if (!v.uses.some((u) => u.node === n && u.index === i)) problems.push(`${scope(n)} input ${i} ${v}: use list out of date`);
      const p = v.producer;
      if (p && p.graph === g && !seen.has(p)) problems.push(`${scope(n)} reads ${v} before its producer ${p} runs (graph not in topological order, or a cycle)`);
      if (!p && !v.isConstant && !v.isGraphInput && !isSparse(owner, v.name)) problems.push(`${scope(n)} input ${i} ${v} has no producer and is neither an initializer nor a graph input`);
    });
    n.outputs.forEach((v, i) => {
      if (v && v.producer !== n) problems.push(`${scope(n)} output ${i} ${v} is recorded as produced by ${v.producer ?? 'nothing'}`);
      if (v && v.isConstant) problems.push(`${scope(n)} output ${v} is also an initializer`);
    });
    for (const [k, a] of n.attributes) {
      if (a.type === 'graph') verifyGraph(a.value, problems, `${scope(n)} attribute '${k}'`);
      if (a.type === 'graphs') a.value.forEach((sg, i) => verifyGraph(sg, problems, `${scope(n)} attribute '${k}'[${i}]`));
    }
    checkQdq(n, problems, scope(n));
    seen.add(n);
  }
  for (const v of g.allValues()) {
    for (const u of v.uses) if (u.node.inputs[u.index] !== v) problems.push(`${v}: stale use by ${u.node}`);
    const declared = v.type;
    if (v.initializer && declared && declared.kind !== 'opaque' && declared.elemType !== v.initializer.dataType)
      problems.push(`initializer ${v} holds ${dtypeName(v.initializer.dataType)} but is declared ${dtypeName(declared.elemType)}`);
    if (declared && declared.kind !== 'opaque' && v.inferred && declared.elemType !== v.inferred.elemType && v.inferred.elemType !== DataType.UNDEFINED)
      problems.push(`${v} is declared ${dtypeName(declared.elemType)} but computed as ${dtypeName(v.inferred.elemType)}${v.producer ? ` by ${v.producer}` : ''}`);
  }
  for (const v of g.outputs) {
    if (!v.graph.ownsValue(v)) problems.push(`${where} output ${v} no longer exists`);
  }
}

const isSparse = (g: Graph, name: string): boolean =>
  g.sparseInitializers.some((s) => (s as { values?: { name?: string } }).values?.name === name);

/** A QuantizeLinear/DequantizeLinear pair is well formed when scale and zero point agree in type. */
function checkQdq(n: Node, problems: string[], label: string): void {
  if (n.domain !== '' || (n.opType !== 'QuantizeLinear' && n.opType !== 'DequantizeLinear')) return;
  const scale = n.input(1);
  const zp = n.input(2);
  if (!scale) problems.push(`${label} has no scale input`);
  const st = scale?.elemType;
  if (st !== undefined && st !== DataType.FLOAT && st !== DataType.FLOAT16 && st !== DataType.BFLOAT16)
    problems.push(`${label} scale ${scale} is ${dtypeName(st)}, expected a float type`);
  if (n.opType === 'DequantizeLinear' && zp) {
    const xt = n.input(0)?.elemType;
    if (xt !== undefined && zp.elemType !== undefined && xt !== zp.elemType)
      problems.push(`${label} input is ${dtypeName(xt)} but its zero point ${zp} is ${dtypeName(zp.elemType)}`);
  }
}
