// Before: initializers a and b with the same type, dims and bytes; readers of b        After: they read a
// Preconditions: byte-identical (compared in full after a hash match); b is neither a graph input
//   nor a graph output. The first one in file order is kept.
// Formula: —
import { createHash } from 'node:crypto';
import type { Value } from '../ir/graph.js';
import { DataType } from '../ir/dtype.js';
import { initializerPass } from './types.js';

interface M {
  initializers: Value[];
  keep: Value;
}

/** Hashes are kept per tensor: the manager reruns this pass every round over unchanged weights. */
const hashes = new WeakMap<object, string>();

const key = (v: Value): string => {
  const t = v.initializer!;
  const known = hashes.get(t);
  if (known) return known;
  const h = createHash('sha1');
  if (t.dataType === DataType.STRING) for (const s of t.stringData()) h.update(s).update('\0');
  else h.update(t.bytes());
  const k = `${t.dataType}|${t.dims.join(',')}|${h.digest('hex')}`;
  hashes.set(t, k);
  return k;
};

export default initializerPass<M, Map<string, Value[]>>({
  name: 'eliminate-duplicate-initializers',
  kind: 'eliminate',
  summary: 'make readers of byte-identical initializers share one',
  oneRun: true,
  init: () => new Map(),
  match(_c, v, seen) {
    // An overridable default (IR < 4 graph input) may change at run time: never share it.
    if (v.isGraphInput || (!v.uses.length && !v.isGraphOutput)) return null;
    const k = key(v);
    const same = seen.get(k) ?? [];
    const keep = same.find((s) => s.initializer!.equals(v.initializer!));
    if (!keep) {
      seen.set(k, [...same, v]);
      return null;
    }
    if (v.isGraphOutput) return null;
    return { initializers: [v], keep };
  },
  rewrite(c, m) {
    c.graph.replaceAllUses(m.initializers[0], m.keep);
  },
});
