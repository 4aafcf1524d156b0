"""Test cases for the TypeScript tests (test/dain/*.test.ts), which run them in onnxruntime-node.

    /usr/bin/python3 training/dain/tests/cases.py ops OUTDIR
        one small ONNX model per replaced CUDA layer, its inputs, and the plain-loop reference
        output (tests/reference.py) — so ORT's ScatterElements/GridSample/Gather semantics are
        checked against the kernels' semantics, not against PyTorch.
    /usr/bin/python3 training/dain/tests/cases.py model OUTDIR [--height 96 --width 128]
        a seeded DAIN's state dict saved to OUTDIR/dain_sd.pth, converted by convert.py to
        OUTDIR/dain.onnx, plus seeded frames and PyTorch's output for them. Random weights.

Every case is written as OUTDIR/cases.json ({name: {model, inputs: {name: {file, dims}},
outputs: {...}}}) and raw little-endian float32 .bin files.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # training/
from dain import ops  # noqa: E402
from dain.tests import reference as ref  # noqa: E402

OPSET = 17


def _save(out: Path, name: str, arr: np.ndarray) -> dict:
    a = np.ascontiguousarray(arr, dtype='<f4')
    a.tofile(out / f'{name}.bin')
    return {'file': f'{name}.bin', 'dims': list(a.shape)}


def make_ops(out: Path) -> dict:
    g = torch.Generator().manual_seed(11)
    cases = {}

    def case(name: str, fn, inputs: dict[str, torch.Tensor], want: np.ndarray) -> None:
        path = out / f'{name}.onnx'
        torch.onnx.export(ops.OpModule(fn), tuple(inputs.values()), str(path), opset_version=OPSET,
                          input_names=list(inputs), output_names=['out'])
        cases[name] = {
            'model': path.name,
            'inputs': {k: _save(out, f'{name}.{k}', v.numpy()) for k, v in inputs.items()},
            'outputs': {'out': _save(out, f'{name}.out', want)},
        }

    f1, f2 = torch.randn(1, 6, 7, 9, generator=g), torch.randn(1, 6, 7, 9, generator=g)
    case('correlation', lambda a, b: ops.correlation(a, b, 4), {'f1': f1, 'f2': f2},
         ref.correlation(f1.numpy(), f2.numpy(), 4))

    x, fl = torch.randn(2, 3, 6, 8, generator=g), torch.randn(2, 2, 6, 8, generator=g) * 2.5
    case('backward_warp', ops.backward_warp, {'x': x, 'flow': fl}, ref.backward_warp(x.numpy(), fl.numpy()))

    flow = torch.randn(2, 2, 7, 9, generator=g) * 3
    flow[0, 0, :, :3] = 4.0  # a block moving onto its neighbours: collisions and holes
    w = torch.rand(2, 1, 7, 9, generator=g) + 0.05
    case('depth_flow_projection', ops.depth_flow_projection, {'flow': flow, 'weight': w},
         ref.depth_flow_projection(flow.numpy(), w.numpy(), True))

    img, fl2 = torch.randn(2, 5, 7, 9, generator=g), torch.randn(2, 2, 7, 9, generator=g) * 2
    fl2[0, :, 3, 3] = torch.tensor([5.0, 0.0])
    filt = torch.randn(2, 16, 7, 9, generator=g)
    case('filter_interpolation', ops.filter_interpolation, {'img': img, 'flow': fl2, 'filt': filt},
         ref.filter_interpolation(img.numpy(), fl2.numpy(), filt.numpy()))
    return cases


def make_model(out: Path, h: int, w: int) -> dict:
    from dain import convert
    from dain.model import DAIN, DAINFrames

    torch.manual_seed(3)
    net = DAIN().eval()
    # Random weights, scaled so that every stage matters in the output: flows of a few pixels
    # (not hundreds), kernels near a 1/16 box, a small residual; else the clamped output
    # saturates and the warps see only out-of-range flows.
    with torch.no_grad():
        for conv in (net.flownets.predict_flow2, net.flownets.dc_conv7):
            conv.weight.mul_(0.05)
        for head in (net.initScaleNets_filter1, net.initScaleNets_filter2):
            head[2].weight.mul_(0.01)
            head[2].bias.fill_(1.0 / 16)
        net.rectifyNet.block5[0].weight.mul_(0.02)
    sd_path = out / 'dain_sd.pth'
    torch.save(net.state_dict(), sd_path)
    onnx_path = out / 'dain.onnx'
    rc = convert.main([str(sd_path), '-o', str(onnx_path), '--height', str(h), '--width', str(w)])
    if rc != 0:
        raise SystemExit(f'convert.py failed with {rc}')
    # frames with structure (a shifted gradient and a square) rather than noise
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing='ij')
    f0 = torch.stack((xx, yy, 0.5 * (xx + yy)), 0)[None].clone()
    f1 = torch.roll(f0, shifts=(1, 3), dims=(2, 3)).clone()
    f0[:, :, h // 4:h // 2, w // 4:w // 2] = 0.9
    f1[:, :, h // 4 + 2:h // 2 + 2, w // 4 + 4:w // 2 + 4] = 0.9
    with torch.no_grad():
        y = DAINFrames(net, h, w)(f0, f1)
    inside = float(((y > 0) & (y < 1)).float().mean())
    return {'dain': {
        'unsaturated': inside,
        'model': onnx_path.name,
        'inputs': {'frame0': _save(out, 'frame0', f0.numpy()), 'frame1': _save(out, 'frame1', f1.numpy())},
        'outputs': {'frame_t': _save(out, 'frame_t', y.numpy())},
        'params': int(sum(p.numel() for p in net.parameters())),
    }}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('what', choices=['ops', 'model'])
    ap.add_argument('out')
    ap.add_argument('--height', type=int, default=96)
    ap.add_argument('--width', type=int, default=128)
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cases = make_ops(out) if a.what == 'ops' else make_model(out, a.height, a.width)
    tmp = out / 'cases.json.tmp'
    tmp.write_text(json.dumps(cases, indent=1))
    tmp.replace(out / 'cases.json')  # last: its presence means the directory is complete
    return 0


if __name__ == '__main__':
    sys.exit(main())
