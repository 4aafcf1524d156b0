// Before: … → n → v (read by nothing, not a graph output)        After: n removed
// Preconditions: every output of n is unread and not a graph output. ONNX ops have no side
//   effects, so such a node cannot change any output (custom-domain ops are treated the same way,
//   as onnxruntime does). Walks the graph backwards so one walk removes whole dead chains.
// Formula: —
import { nodePass } from './types.js';

export default nodePass({
  name: 'eliminate-dead-nodes',
  kind: 'eliminate',
  summary: 'remove nodes whose outputs nothing reads',
  oneRun: true,
  walks: 'nodes-reverse',
  match: (_c, n) => (n.outputs.every((v) => !v || (!v.uses.length && !v.isGraphOutput)) ? { node: n, nodes: [n] } : null),
  rewrite: () => {},
});
