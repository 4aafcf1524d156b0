"""The replaced CUDA layers alone, at the sizes DAIN runs them for a 640×480 pair (padded to
704×512), as ONNX files for `kiln bench` / `kiln profile`: what each former custom op costs now.

    /usr/bin/python3 training/dain/op_models.py .cache/dain/ops-640x480

Per frame pair DAIN calls: correlation at PWC levels 6…2 (batch 2: both directions at once),
the PWC warp at levels 5…2 (batch 2), the depth-aware projection twice (one flow each) and the
adaptive warp twice (frame ++ context, 199 channels). Each file holds ONE call; multiply by the
count in the file name (…_x2) for the per-pair cost.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dain import ops  # noqa: E402
from dain.model import pad_for  # noqa: E402


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else '.cache/dain/ops-640x480')
    out.mkdir(parents=True, exist_ok=True)
    l, r, t, b = pad_for(480, 640)
    H, W = 480 + t + b, 640 + l + r
    g = torch.Generator().manual_seed(0)
    models = {}
    # PWC pyramid: level k has H/2^k × W/2^k; channels 16, 32, 64, 96, 128, 196
    ch = {1: 16, 2: 32, 3: 64, 4: 96, 5: 128, 6: 196}
    for lvl in (6, 5, 4, 3, 2):
        h, w = H >> lvl, W >> lvl
        f = torch.randn(2, ch[lvl], h, w, generator=g)
        models[f'correlation_l{lvl}_{w}x{h}'] = (lambda a, c: ops.correlation(a, c, 4), (f, f.clone()))
        if lvl < 6:
            models[f'pwc_warp_l{lvl}_{w}x{h}'] = (ops.backward_warp, (f, torch.randn(2, 2, h, w, generator=g)))
    flow = torch.randn(1, 2, H, W, generator=g) * 4
    wgt = torch.rand(1, 1, H, W, generator=g) + 0.1
    models[f'depth_flow_projection_{W}x{H}_x2'] = (ops.depth_flow_projection, (flow, wgt))
    img = torch.rand(1, 199, H, W, generator=g)
    filt = torch.rand(1, 16, H, W, generator=g) / 16
    models[f'filter_interpolation_199ch_{W}x{H}_x2'] = (ops.filter_interpolation, (img, flow, filt))
    for name, (fn, args) in models.items():
        names = [f'in{i}' for i in range(len(args))]
        torch.onnx.export(ops.OpModule(fn), args, str(out / f'{name}.onnx'), opset_version=17, input_names=names, output_names=['out'])
        print(out / f'{name}.onnx')
    return 0


if __name__ == '__main__':
    sys.exit(main())
