"""Write the PyTorch-vs-ONNX parity fixtures for the TypeScript test suite.

    /usr/bin/python3 training/parity.py [--ckpt training/checkpoints/best.pt] [--onnx models/kiln-vfi.onnx]

Exports the checkpoint to ONNX (unless --no-export) and saves, under models/parity/:
  img0.npy, img1.npy  float32 [1,3,64,64] seeded random inputs in [0,1] (smooth + noise)
  timestep.npy        float32 [1,1,1,1] = 0.3
  expected.npy        float32 [1,3,64,64] PyTorch output for those inputs (scale = 1)
  expected_scale0.5.npy  the same with scale = 0.5 (motion estimated at 32x32)
  expected_scale2.npy    the same with scale = 2 (motion estimated at 128x128: --scale auto on small frames)
The TS side runs models/kiln-vfi.onnx in onnxruntime on the same inputs and checks
max |onnx - expected| <= 1e-4 (FP32). (onnxruntime for Python is not available here.)
Regenerate both together: the fixtures belong to the exact weights in the ONNX file.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from kiln_vfi.env import require_torch  # noqa: E402

torch = require_torch()
import numpy as np  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from kiln_vfi.export import checkpoint_meta, export, load_net  # noqa: E402


def inputs(seed: int = 6):
    g = torch.Generator().manual_seed(seed)
    # smooth structure (so the flow estimate is not degenerate) plus fine noise
    base = F.interpolate(torch.rand(1, 3, 8, 8, generator=g), size=(64, 64), mode="bicubic", align_corners=False)
    img0 = (base + 0.1 * torch.rand(1, 3, 64, 64, generator=g)).clamp(0, 1)
    img1 = torch.roll(img0, shifts=(2, 3), dims=(2, 3)) * 0.97 + 0.02 * torch.rand(1, 3, 64, 64, generator=g)
    return img0.float(), img1.clamp(0, 1).float(), torch.full((1, 1, 1, 1), 0.3)


def main(argv=None):
    root = os.path.dirname(HERE)
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "checkpoints/best.pt"))
    ap.add_argument("--onnx", default=os.path.join(root, "models/kiln-vfi.onnx"))
    ap.add_argument("--out", default=os.path.join(root, "models/parity"))
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--train-note", help="how the checkpoint was trained (metadata kiln.train_note)")
    a = ap.parse_args(argv)
    net, st = load_net(a.ckpt)
    if not a.no_export:
        meta = checkpoint_meta(st)
        if a.train_note:
            meta["train_note"] = a.train_note
        export(net, a.onnx, meta)
    img0, img1, t = inputs()
    with torch.no_grad():
        out = net(img0, img1, t)
        half = net(img0, img1, t, torch.tensor([0.5]))
        double = net(img0, img1, t, torch.tensor([2.0]))
    os.makedirs(a.out, exist_ok=True)
    for name, x in [("img0", img0), ("img1", img1), ("timestep", t), ("expected", out), ("expected_scale0.5", half), ("expected_scale2", double)]:
        np.save(os.path.join(a.out, f"{name}.npy"), x.numpy().astype(np.float32))
    print(f"wrote parity fixtures to {a.out} for {a.ckpt} (step {st['step']}); tolerance FP32_ABS = 1e-4")


if __name__ == "__main__":
    sys.exit(main())
