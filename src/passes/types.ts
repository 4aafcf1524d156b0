// What a pass is. A pass walks one graph's nodes (or initializers); `match` looks and never
// changes anything ("does not apply" is null), `rewrite` changes the graph through the Graph
// rewrite API, and the manager alone deletes what the rewrite left dead — the nodes and
// initializers the match named, once nothing reads them any more.
import type { Graph, Model, Node, Value } from '../ir/graph.js';

export type PassKind = 'eliminate' | 'fuse' | 'fold' | 'convert';

/** What a successful match hands to rewrite. */
export interface Match {
  /** The node the report names for this change (the matched root). */
  readonly node?: Node;
  /** Nodes the manager removes after the rewrite if nothing reads their outputs any more. */
  readonly nodes?: readonly Node[];
  /** Initializers the manager removes after the rewrite if nothing reads them any more. */
  readonly initializers?: readonly Value[];
}

export interface PassContext {
  readonly model: Model;
  /** The graph being walked (the main graph or a subgraph). */
  readonly graph: Graph;
  /** Opset of the default domain. */
  readonly opset: number;
  /** Shapes the user fixed with --input-shape (already applied to the graph inputs). */
  readonly inputShapes: Readonly<Record<string, readonly number[]>>;
  /** Largest number of elements a fold may create (constants larger than this stay computed). */
  readonly foldLimit: number;
  /** Records why a pass that looked at `node` left it alone ("not applied because …"). */
  note(node: Node | Value | null, reason: string): void;
}

export interface Pass<M extends Match = Match, S = unknown> {
  /** Registry key = file name (src/passes/<name>.ts). */
  readonly name: string;
  readonly kind: PassKind;
  /** One line for `--help` and reports. */
  readonly summary: string;
  /** True when one walk reaches this pass's own fixed point (the manager still reruns it while any pass changes the graph). */
  readonly oneRun: boolean;
  /** What the pass walks (default nodes, in topological order). */
  readonly walks?: 'nodes' | 'nodes-reverse' | 'initializers';
  /** Needs Value.inferred up to date (the manager reruns shape inference before it). */
  readonly needsShapes?: boolean;
  /** Per-walk state (e.g. a hash table for common subexpressions). */
  init?(ctx: PassContext): S;
  match(ctx: PassContext, item: Node & Value, state: S): M | null;
  rewrite(ctx: PassContext, m: M, state: S): void;
}

/** A pass over nodes (the usual case); the cast keeps `Pass` one type in the registry. */
export function nodePass<M extends Match, S = undefined>(p: Omit<Pass<M, S>, 'match' | 'walks'> & { walks?: 'nodes' | 'nodes-reverse'; match(ctx: PassContext, node: Node, state: S): M | null }): Pass {
  return p as unknown as Pass;
}

/** A pass over initializers. */
export function initializerPass<M extends Match, S = undefined>(p: Omit<Pass<M, S>, 'match' | 'walks'> & { match(ctx: PassContext, init: Value, state: S): M | null }): Pass {
  return { ...p, walks: 'initializers' } as unknown as Pass;
}
