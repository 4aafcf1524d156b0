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
