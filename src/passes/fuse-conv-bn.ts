// Before: x → Conv(W, b) → y → BatchNormalization(γ, β, μ, σ², ε) → z
// After:  x → Conv(W', b') → z           (the BN node becomes the Conv; the old Conv is removed)
// Preconditions: W, b (if any), γ, β, μ, σ² are constants of one float type; y has one consumer
//   and is not a graph output; BN is in inference form (training_mode = 0, only output 0 read).
// Formula: s = γ/√(σ²+ε) per output channel m; W'[m,…] = W[m,…]·s[m]; b' = (b−μ)·s + β.
import type { Node, Value } from '../ir/graph.js';
import { nodePass } from './types.js';
import { foldBnScale, type BnMatch } from './fuse-bn-common.js';

export default nodePass<BnMatch>({
  name: 'fuse-conv-bn',
  kind: 'fuse',
  summary: 'fold BatchNormalization into the Conv before it',
  oneRun: true,
  match: (ctx, n) => foldBnScale.match(ctx, n, 'Conv'),
  rewrite: (ctx, m) => foldBnScale.rewrite(ctx, m, (w: Value, conv: Node) => ({ axis: 0, groups: conv.getInt('group', 1), w })),
});
