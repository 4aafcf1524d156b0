// Before: x → Pad(pads, mode=constant, value) → y → Conv | AveragePool | MaxPool(pads p) → z
// After:  x → Conv | AveragePool | MaxPool(pads p + spatial pads) → z
// Preconditions: Pad mode 'constant' with constant non-negative pads that touch only spatial axes
//   (not N, C); y has one consumer, not a graph output; the consumer has auto_pad NOTSET.
//   Conv: pad value 0. AveragePool: pad value 0 and count_include_pad=1 afterwards — allowed when
//   the pool already counts pads, or has no pads of its own (then we set count_include_pad=1).
//   MaxPool: pad value −∞ (its own padding is ignored by max), no Indices output read.
// Formula: Conv(Pad₀(x), W) = Conv(x, W; pads += Pad's pads) — both read zeros outside x.
import type { Node } from '../ir/graph.js';
import { nodePass } from './types.js';
import { constant, constInts, producedBy, soleConsumer } from './util.js';

interface M {
  node: Node;
  nodes: Node[];
  pad: Node;
  pads: number[];
  setCountIncludePad: boolean;
}

const TARGETS = new Set(['Conv', 'AveragePool', 'MaxPool']);

function padValue(ctx: { opset: number }, pad: Node): number | undefined {
  if (ctx.opset < 11) return pad.getFloat('value', 0);
  if (!pad.input(2)) return 0;
  const t = constant(pad.input(2));
  return t && t.size === 1 ? t.toNumbers()[0] : undefined;
}

export default nodePass<M>({
  name: 'fuse-pad-into-conv',
  kind: 'fuse',
  summary: 'merge a constant Pad into the pads of the Conv or pool after it',
  oneRun: true,
  match(ctx, n) {
    if (n.domain !== '' || !TARGETS.has(n.opType)) return null;
    const pad = producedBy(n.input(0), 'Pad');
    if (!pad) return null;
    const fail = (why: string): null => {
      ctx.note(n, `${pad} not merged because ${why}`);
      return null;
    };
    if (soleConsumer(pad.output(0)) !== n) return fail('its output has other readers or is a graph output');
    if (pad.getString('mode', 'constant') !== 'constant') return fail(`mode is ${pad.getString('mode')}`);
    if (pad.input(3)) return fail('it has an axes input');
    const pads = ctx.opset >= 11 ? constInts(pad.input(1)) : pad.getInts('pads');
    if (!pads) return fail('its pads are not constant');
    const r = pads.length / 2;
    if (pads.some((p) => p < 0)) return fail('it crops (negative pads)');
    if (pads[0] || pads[1] || pads[r] || pads[r + 1]) return fail('it pads the batch or channel axis');
    const autoPad = n.getString('auto_pad', 'NOTSET');
    if (autoPad !== 'NOTSET') return fail(`${n} uses auto_pad=${autoPad}`);
    const value = padValue(ctx, pad);
    if (value === undefined) return fail('its pad value is not constant');
    let setCountIncludePad = false;
    if (n.opType === 'Conv' && value !== 0) return fail(`it pads with ${value}, not 0`);
    if (n.opType === 'AveragePool') {
      if (value !== 0) return fail(`it pads with ${value}, not 0`);
      if (!n.getInt('count_include_pad', 0)) {
        if ((n.getInts('pads') ?? []).some((p) => p !== 0)) return fail(`${n} has its own pads that it does not count`);
        setCountIncludePad = true;
      }
    }
    if (n.opType === 'MaxPool') {
      if (value !== -Infinity) return fail(`MaxPool ignores its own padding, which equals padding with −∞, not ${value}`);
      if (n.outputs[1] && (n.outputs[1].uses.length || n.outputs[1].isGraphOutput)) return fail('the MaxPool Indices output is read');
    }
    const spatial = r - 2;
    const own = n.getInts('pads') ?? new Array<number>(2 * spatial).fill(0);
    if (own.length !== 2 * spatial) return fail(`${n} pads have ${own.length} entries for ${spatial} spatial axes`);
    const merged = own.map((p, i) => p + (i < spatial ? pads[2 + i] : pads[r + 2 + (i - spatial)]));
    return { node: n, nodes: [pad], pad, pads: merged, setCountIncludePad };
  },
  rewrite(ctx, m) {
    ctx.graph.setInput(m.node, 0, m.pad.input(0));
    m.node.attributes.set('pads', { type: 'ints', value: m.pads });
    if (m.setCountIncludePad) m.node.attributes.set('count_include_pad', { type: 'int', value: 1 });
  },
});
