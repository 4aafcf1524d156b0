// Before: x → ConvTranspose(W, b) → y → BatchNormalization(γ, β, μ, σ², ε) → z
// After:  x → ConvTranspose(W', b') → z
// Preconditions: as fuse-conv-bn. ConvTranspose weights are [C_in, C_out/group, k…], so output
//   channel m = g·(C_out/group) + j scales W[c, j, …] for every c in group g.
// Formula: s = γ/√(σ²+ε); W'[c,j,…] = W[c,j,…]·s[g(c)·C_out/group + j]; b' = (b−μ)·s + β.
import type { Node, Value } from '../ir/graph.js';
import { nodePass } from './types.js';
import { foldBnScale, type BnMatch } from './fuse-bn-common.js';

export default nodePass<BnMatch>({
  name: 'fuse-convtranspose-bn',
  kind: 'fuse',
  summary: 'fold BatchNormalization into the ConvTranspose before it',
  oneRun: true,
  match: (ctx, n) => foldBnScale.match(ctx, n, 'ConvTranspose'),
  rewrite: (ctx, m) => foldBnScale.rewrite(ctx, m, (w: Value, conv: Node) => ({ axis: 1, groups: conv.getInt('group', 1), w })),
});
