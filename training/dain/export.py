"""Export DAIN (standard ops) to ONNX at a fixed frame size.

    /usr/bin/python3 training/dain/export.py -o .cache/dain/dain_640x480.onnx            # random weights
    /usr/bin/python3 training/dain/export.py --height 480 --width 640 --seed 0 -o out.onnx

Inputs `frame0`, `frame1` float32 [1,3,H,W] RGB in [0,1]; output `frame_t` [1,3,H,W] in [0,1]
(t = 0.5). DAIN's padding (next multiple of 128, replicate) and the crop are inside the graph.
Only the default ONNX domain is used; opset 17 (the newest Debian's onnx 1.12 checks).
With random weights (no checkpoint) the model is for speed and structure only, and its
metadata says so. For the official weights use convert.py.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import torch

if __package__ in (None, ''):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from dain.model import DAIN, DAINFrames, pad_for  # noqa: E402
else:
    from .model import DAIN, DAINFrames, pad_for

OPSET = 17


def _fold_shape_constants(model) -> int:
    """Evaluate the small constant subgraphs torch's exporter leaves in front of Pad and
    Expand (pads built by Concat/Transpose/Reshape/Cast, expand shapes by Where/Equal), and
    give those inputs as initializers. onnxruntime folds them anyway; kiln's shape inference
    (and every other static tool) needs constant pads and shapes to resolve the graph."""
    import numpy as np
    from onnx import helper, mapping, numpy_helper

    const = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}

    def attr(n, name, default=None):
        for a in n.attribute:
            if a.name == name:
                return helper.get_attribute_value(a)
        return default

    def ev(n, xs):
        op = n.op_type
        if op == 'Constant':
            return numpy_helper.to_array(attr(n, 'value'))
        if op == 'Cast':
            return xs[0].astype(mapping.TENSOR_TYPE_TO_NP_TYPE[attr(n, 'to')])
        if op == 'Reshape':
            shape = [xs[0].shape[i] if d == 0 else d for i, d in enumerate(xs[1].tolist())]
            return xs[0].reshape(shape)
        if op == 'Transpose':
            return np.transpose(xs[0], attr(n, 'perm'))
        if op == 'Concat':
            return np.concatenate(xs, axis=attr(n, 'axis'))
        if op == 'ConstantOfShape':
            v = attr(n, 'value')
            fill = numpy_helper.to_array(v) if v is not None else np.zeros(1, np.float32)
            return np.full(xs[0].tolist(), fill.reshape(-1)[0], dtype=fill.dtype)
        if op == 'Slice':
            starts, ends = xs[1].tolist(), xs[2].tolist()
            axes = xs[3].tolist() if len(xs) > 3 else list(range(len(starts)))
            steps = xs[4].tolist() if len(xs) > 4 else [1] * len(starts)
            sl = [slice(None)] * xs[0].ndim
            for a, b, e, st in zip(axes, starts, ends, steps):
                sl[a] = slice(b, e, st)
            return xs[0][tuple(sl)]
        if op == 'Equal':
            return np.equal(xs[0], xs[1])
        if op == 'Where':
            return np.where(xs[0], xs[1], xs[2])
        if op == 'Mul':
            return xs[0] * xs[1]
        return None

    for n in model.graph.node:
        if all(i in const for i in n.input if i):
            xs = [const[i] for i in n.input if i]
            if n.op_type != 'Constant' and sum(x.size for x in xs) > 4096:
                continue  # only small shape arithmetic, never weights
            y = ev(n, xs)
            if y is not None:
                const[n.output[0]] = np.asarray(y)
    inits = {t.name for t in model.graph.initializer}
    replaced = 0
    for n in model.graph.node:
        if n.op_type not in ('Pad', 'Expand'):
            continue
        for k in range(1, len(n.input)):
            name = n.input[k]
            if name and name not in inits and name in const:
                folded = name + '_folded'
                if folded not in inits:
                    model.graph.initializer.append(numpy_helper.from_array(const[name], folded))
                    inits.add(folded)
                n.input[k] = folded
                replaced += 1
    # drop what no longer feeds anything
    while True:
        used = {i for n in model.graph.node for i in n.input} | {o.name for o in model.graph.output}
        keep = [n for n in model.graph.node if any(o in used for o in n.output)]
        if len(keep) == len(model.graph.node):
            break
        del model.graph.node[:]
        model.graph.node.extend(keep)
    used = {i for n in model.graph.node for i in n.input}
    keep_init = [t for t in model.graph.initializer if t.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep_init)
    return replaced


def export_onnx(net: DAIN, out: str, h: int, w: int, weights: str, opset: int = OPSET) -> None:
    """Trace `net` at h×w and write ONNX to `out` atomically (temp file beside it, rename)."""
    import onnx  # local: the rest of the package works without onnx

    if opset < 16:
        raise ValueError('opset >= 16 is needed for ScatterElements(reduction=add) and GridSample')
    net = net.eval()
    wrapper = DAINFrames(net, h, w).eval()
    g = torch.Generator().manual_seed(0)
    f0 = torch.rand(1, 3, h, w, generator=g)
    f1 = torch.rand(1, 3, h, w, generator=g)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + '.', suffix='.tmp', dir=target.parent)
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(wrapper, (f0, f1), tmp, opset_version=opset, input_names=['frame0', 'frame1'],
                              output_names=['frame_t'], do_constant_folding=True)
        model = onnx.load(tmp)
        _fold_shape_constants(model)
        # the exporter names a symbolic batch on the output; every size is fixed here
        for d, n in zip(model.graph.output[0].type.tensor_type.shape.dim, (1, 3, h, w)):
            d.Clear()
            d.dim_value = n
        l, r, t, b = pad_for(h, w)
        meta = {
            'kiln.model': 'DAIN (Bao et al., CVPR 2019) on standard ops',
            'kiln.weights': weights,
            'kiln.timestep': '0.5',
            'kiln.input_range': '0..1 RGB',
            'dain.padding': f'replicate left={l} right={r} top={t} bottom={b} (inside the graph)',
        }
        for k, v in meta.items():
            p = model.metadata_props.add()
            p.key, p.value = k, v
        model.producer_name = 'kiln training/dain/export.py'
        bad = sorted({n.op_type for n in model.graph.node if n.domain not in ('', 'ai.onnx')})
        if bad:
            raise RuntimeError(f'non-default-domain ops in the export: {bad}')
        onnx.save(model, tmp)
        onnx.checker.check_model(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('-o', '--output', required=True)
    ap.add_argument('--height', type=int, default=480)
    ap.add_argument('--width', type=int, default=640)
    ap.add_argument('--seed', type=int, default=0, help='seed of the random weights')
    ap.add_argument('--opset', type=int, default=OPSET)
    a = ap.parse_args(argv)
    torch.manual_seed(a.seed)
    net = DAIN()
    export_onnx(net, a.output, a.height, a.width, f'random (seed {a.seed}); not trained', a.opset)
    print(f'wrote {a.output} ({a.width}x{a.height}, random weights, seed {a.seed})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
