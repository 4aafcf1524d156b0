// Before: a = Op(x, y; attrs), b = Op(x, y; attrs)        After: readers of b read a
// Preconditions: same domain, op type, attributes (compared by value) and inputs (the same
//   values); deterministic op (no Random*, Multinomial, Bernoulli); no subgraph; none of b's
//   outputs is a graph output (their names are the contract). The earlier node is kept.
// Formula: a pure function of equal arguments gives equal results.
import type { Attribute, Node } from '../ir/graph.js';
import { DataType } from '../ir/dtype.js';
import { nodePass } from './types.js';

const RANDOM = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli']);

function attrKey(a: Attribute): string {
  switch (a.type) {
    case 'string': return `s:${Buffer.from(a.value).toString('hex')}`;
    case 'strings': return `S:${a.value.map((s) => Buffer.from(s).toString('hex')).join(',')}`;
    case 'tensor': {
      const t = a.value;
      const data = t.dataType === DataType.STRING ? t.stringData().map((s) => Buffer.from(s).toString('hex')).join(',') : Buffer.from(t.bytes()).toString('base64');
      return `t:${t.dataType}:${t.dims.join(',')}:${data}`;
    }
    case 'float': case 'int': return `${a.type}:${Object.is(a.value, -0) ? '-0' : a.value}`;
    case 'floats': case 'ints': return `${a.type}:${a.value.join(',')}`;
    default: return `?${Math.random()}`; // graphs and other kinds never compare equal
  }
}

function key(n: Node): string | null {
  if (RANDOM.has(n.opType) || n.subgraphs().length || !n.outputs.length) return null;
  if (n.opType === 'Dropout' && n.input(2)) return null;
  const attrs = [...n.attributes.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, a]) => `${k}=${attrKey(a)}`);
  const ins = n.inputs.map((v) => (v ? v.name : ''));
  const outs = n.outputs.map((v) => (v ? 'o' : '-')).join('');
  return `${n.domain}|${n.opType}|${ins.join('\u0001')}|${attrs.join('\u0001')}|${outs}`;
}

interface M {
  node: Node;
  nodes: Node[];
  keep: Node;
}

export default nodePass<M, Map<string, Node>>({
  name: 'eliminate-common-subexpressions',
  kind: 'eliminate',
  summary: 'compute identical nodes once',
  oneRun: true, // consumers of a merged pair come later in the walk and now read the same value
  init: () => new Map(),
  match(ctx, n, seen) {
    const k = key(n);
    if (k === null) return null;
    const keep = seen.get(k);
    if (!keep) {
      seen.set(k, n);
      return null;
    }
    if (n.outputs.some((v) => v?.isGraphOutput)) {
      ctx.note(n, `same as ${keep}, not merged because its output is a graph output`);
      return null;
    }
    return { node: n, nodes: [n], keep };
  },
  rewrite(ctx, m) {
    m.node.outputs.forEach((v, i) => {
      if (v) ctx.graph.replaceAllUses(v, m.keep.output(i));
    });
  },
});
