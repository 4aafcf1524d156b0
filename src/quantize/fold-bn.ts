// TEMPORARY, private to the quantizer: folds BatchNormalization into the Conv before it so that
// the quantized weights are the folded ones (quantizing W and then applying a float BN would both
// waste the integer kernel and quantize the wrong range). Remove once src/passes has
// fuse-conv-bn and quantizeModel runs optimizeModel first.
//
// Before: x → Conv(W, b) → y → BatchNormalization(γ, β, μ, σ²) → z
// After:  x → Conv(W', b') → z
// Preconditions: W, b, γ, β, μ, σ² constant float32; y has one consumer and is not a graph output;
//   BN has a single output (inference form).
// Formula: W' = W·γ/√(σ²+ε) per output channel, b' = (b−μ)·γ/√(σ²+ε) + β.
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { constTensor, dropDeadConstants, isFloatConstant, soleConsumer } from './graph-util.js';

export function foldBatchNorm(model: Model): number {
  const g = model.graph;
  let folded = 0;
  for (const conv of [...g.nodes]) {
    if (conv.opType !== 'Conv' || conv.domain !== '') continue;
    const y = conv.outputs[0];
    const bn = y ? soleConsumer(y) : null;
    if (!bn || bn.opType !== 'BatchNormalization' || bn.outputs.filter((v) => v).length !== 1) continue;
    const w = conv.input(1);
    const b = conv.input(2);
    const params = [1, 2, 3, 4].map((i) => bn.input(i));
    // A BN that is itself a graph output would need its value renamed: left alone (rare).
    if (bn.output(0).isGraphOutput) continue;
    if (!isFloatConstant(w) || (b && !isFloatConstant(b)) || !params.every(isFloatConstant)) continue;
    const [gamma, beta, mean, variance] = params.map((v) => constTensor(v)!.toFloat32());
    const eps = bn.getFloat('epsilon', 1e-5);
    const wt = constTensor(w)!;
    const W = wt.toFloat32();
    const m = wt.dims[0];
    if (gamma.length !== m) continue;
    const per = W.length / m;
    const bias = b ? constTensor(b)!.toFloat32() : new Float32Array(m);
    const W2 = new Float32Array(W.length);
    const b2 = new Float32Array(m);
    for (let c = 0; c < m; c++) {
      const k = gamma[c] / Math.sqrt(variance[c] + eps);
      for (let j = 0; j < per; j++) W2[c * per + j] = W[c * per + j] * k;
      b2[c] = (bias[c] - mean[c]) * k + beta[c];
    }
    const nw = g.addConstant(`${w!.name}_bnfold`, Tensor.from(DataType.FLOAT, wt.dims, W2));
    const nb = g.addConstant(`${conv.name || 'conv'}_bias_bnfold`, Tensor.from(DataType.FLOAT, [m], b2));
    const z = bn.output(0);
    const fused = g.addNode({ op: 'Conv', inputs: [conv.input(0), nw, nb], attrs: Object.fromEntries(conv.attributes), name: conv.name }, { before: conv });
    g.replaceAllUses(z, fused.output(0));
    g.removeNode(bn);
    g.removeNode(conv);
    folded++;
  }
  if (folded) dropDeadConstants(g);
  return folded;
}
