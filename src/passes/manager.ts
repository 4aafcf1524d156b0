// The fixed-point driver: runs the selected passes in order over the main graph and every
// subgraph, and repeats the whole sequence while any pass changed something (onnx-simplifier's
// loop). Each pass's rewrites, rounds and time are counted. The driver alone deletes nodes and
// initializers — the ones a match named, once the rewrite left them unread — so no pass ever
// deletes from a list it is walking.
//
// `limit` stops after that many rewrites in total; the verifier bisects over it to find the
// rewrite (and so the pass) that broke a model. The walk is deterministic, so the first k
// rewrites of a limited run are the first k rewrites of a full one.
import type { Graph, Model, Node, Value } from '../ir/graph.js';
import type { Match, Pass, PassContext } from './types.js';

export interface PassStats {
  name: string;
  kind: Pass['kind'];
  /** Rewrites applied. */
  changes: number;
  /** Dead nodes and initializers the driver removed after this pass's rewrites. */
  removed: number;
  /** Walks made (one per round per graph). */
  walks: number;
  ms: number;
}

export interface Note {
  pass: string;
  /** Node ("Conv 'conv1'") or value the note is about. */
  at: string;
  reason: string;
}

export interface AppliedChange {
  /** 1-based position in the run; `limit: step` reproduces the model after it. */
  step: number;
  pass: string;
  at: string;
}

export interface RunOptions {
  /** Stop after this many rewrites in total (for bisection). */
  limit?: number;
  /** At most this many rounds of the whole sequence (default 20). */
  maxRounds?: number;
  inputShapes?: Record<string, readonly number[]>;
  foldLimit?: number;
  /** Refreshes Value.inferred; called before a pass that needs shapes, after any change. */
  inferShapes?: (model: Model) => void;
  /** Keep a list of every rewrite (pass and node) — used by bisection to name the culprit. */
  trace?: boolean;
}

export interface RunResult {
  stats: PassStats[];
  rounds: number;
  /** Total rewrites. */
  changes: number;
  /** True when the last round changed nothing (or the limit was reached). */
  converged: boolean;
  notes: Note[];
  trace: AppliedChange[];
}

const MAX_NOTES_PER_PASS = 50;

export function runPasses(model: Model, passes: readonly Pass[], opts: RunOptions = {}): RunResult {
  const stats = new Map<string, PassStats>(passes.map((p) => [p.name, { name: p.name, kind: p.kind, changes: 0, removed: 0, walks: 0, ms: 0 }]));
  const notes: Note[] = [];
  const noteKeys = new Set<string>();
  const notesPerPass = new Map<string, number>();
  const trace: AppliedChange[] = [];
  const limit = opts.limit ?? Infinity;
  const maxRounds = opts.maxRounds ?? 20;
  let total = 0;
  let rounds = 0;
  let shapesFresh = false;
  let converged = false;

  const opset = model.opset('') ?? 1;
  outer: while (rounds < maxRounds) {
    rounds++;
    let changedThisRound = 0;
    let graphs = graphsOf(model.graph);
    for (const pass of passes) {
      const st = stats.get(pass.name)!;
      if (pass.needsShapes && !shapesFresh && opts.inferShapes) {
        opts.inferShapes(model);
        shapesFresh = true;
      }
      const t0 = performance.now();
      let changedGraphs = false;
      for (const graph of graphs) {
        const ctx: PassContext = {
          model,
          graph,
          opset,
          inputShapes: opts.inputShapes ?? {},
          foldLimit: opts.foldLimit ?? 1 << 20,
          note(at, reason) {
            const label = at ? ('opType' in at ? String(at) : `value ${at}`) : 'graph';
            const key = `${pass.name}|${label}|${reason}`;
            if (noteKeys.has(key)) return;
            noteKeys.add(key);
            const n = notesPerPass.get(pass.name) ?? 0;
            notesPerPass.set(pass.name, n + 1);
            if (n < MAX_NOTES_PER_PASS) notes.push({ pass: pass.name, at: label, reason });
          },
        };
        st.walks++;
        const { changes, removed, stopped } = walk(ctx, pass, () => {
          total++;
          return total <= limit;
        }, opts.trace ? (at) => trace.push({ step: total, pass: pass.name, at }) : undefined);
        st.changes += changes;
        st.removed += removed;
        changedThisRound += changes;
        if (changes) {
          shapesFresh = false;
          changedGraphs = true;
        }
        if (stopped) {
          total = limit;
          st.ms += performance.now() - t0;
          break outer;
        }
      }
      st.ms += performance.now() - t0;
      // A removed node may have taken subgraphs with it.
      if (changedGraphs) graphs = graphsOf(model.graph);
    }
    if (!changedThisRound) {
      converged = true;
      break;
    }
  }
  if (total >= limit) converged = true;
  for (const g of graphsOf(model.graph)) {
    const cycle = g.topoSort();
    if (cycle) throw new Error(`the passes made a cycle through ${cycle.slice(0, 3).join(', ')}`);
  }
  return { stats: [...stats.values()], rounds, changes: Math.min(total, limit), converged, notes, trace };
}

/** One walk of one pass over one graph. `allow()` is asked before each rewrite. */
function walk(ctx: PassContext, pass: Pass, allow: () => boolean, record?: (at: string) => void): { changes: number; removed: number; stopped: boolean } {
  const g = ctx.graph;
  const state = pass.init?.(ctx);
  let changes = 0;
  let removed = 0;
  const items: readonly (Node | Value)[] =
    pass.walks === 'initializers' ? [...g.initializers] : pass.walks === 'nodes-reverse' ? [...g.nodes].reverse() : [...g.nodes];
  const gone = new Set<Node | Value>();
  let stopped = false;
  for (const item of items) {
    if (gone.has(item) || !('opType' in item || item.isConstant)) continue;
    const m = pass.match(ctx, item as Node & Value, state);
    if (!m) continue;
    if (!allow()) {
      stopped = true;
      break;
    }
    pass.rewrite(ctx, m, state);
    changes++;
    record?.(String(m.node ?? item));
    removed += sweep(g, m, gone);
  }
  // No re-sort per walk: every rewrite here makes a node read values that were already
  // available before it (its own inputs' inputs, earlier duplicates, new initializers), so node
  // order stays topological; verify() in the tests checks it, and runPasses sorts once at the end.
  return { changes, removed, stopped };
}

/** Removes the match's nodes and initializers that nothing reads any more (repeatedly, consumers first). */
function sweep(g: Graph, m: Match, gone: Set<Node | Value>): number {
  let removed = 0;
  const nodes = new Set(m.nodes ?? []);
  for (let progress = true; progress; ) {
    progress = false;
    for (const n of nodes) {
      if (gone.has(n)) {
        nodes.delete(n);
        continue;
      }
      if (n.outputs.every((v) => !v || (!v.uses.length && !g.isOutput(v)))) {
        g.removeNode(n);
        gone.add(n);
        nodes.delete(n);
        removed++;
        progress = true;
      }
    }
  }
  for (const v of m.initializers ?? []) {
    if (g.ownsValue(v) && v.isConstant && !v.uses.length && !g.isOutput(v) && !g.isInput(v)) {
      g.removeInitializer(v);
      gone.add(v);
      removed++;
    }
  }
  return removed;
}

/** The main graph and every nested subgraph, outermost first. */
export function graphsOf(g: Graph): Graph[] {
  const out: Graph[] = [g];
  for (const n of g.nodes) for (const s of n.subgraphs()) out.push(...graphsOf(s));
  return out;
}
