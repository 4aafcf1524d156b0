"""PyTorch definition of the exported DAIN for `kiln pipeline --torch` / `kiln bench` peers.

build_model() returns the same network export.py writes with its defaults (seed 0, random
weights, 640×480, DAIN's padding inside), so the PyTorch eager row and the ONNX rows compare
the same function. Set DAIN_HEIGHT / DAIN_WIDTH / DAIN_SEED to match a different export.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dain.model import DAIN, DAINFrames  # noqa: E402


def build_model() -> torch.nn.Module:
    torch.manual_seed(int(os.environ.get('DAIN_SEED', '0')))
    net = DAIN().eval()
    return DAINFrames(net, int(os.environ.get('DAIN_HEIGHT', '480')), int(os.environ.get('DAIN_WIDTH', '640'))).eval()
