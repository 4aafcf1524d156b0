// Before: initializer w, read by nothing        After: w removed
// Preconditions: w is read by no node (in any subgraph) and is neither a graph input (IR < 4
//   overridable default) nor a graph output.
// Formula: —
import { initializerPass } from './types.js';

export default initializerPass({
  name: 'eliminate-unused-initializers',
  kind: 'eliminate',
  summary: 'remove initializers nothing reads',
  oneRun: true,
  match: (_c, v) => (!v.uses.length && !v.isGraphInput && !v.isGraphOutput ? { initializers: [v] } : null),
  rewrite: () => {},
});
