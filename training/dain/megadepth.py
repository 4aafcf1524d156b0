"""The MegaDepth hourglass (Li & Snavely, CVPR 2018; the network of Chen et al., "Single-Image
Depth Perception in the Wild", NIPS 2016) that DAIN uses as its depth estimator, predicting
log-depth at full resolution.

Four nested hourglass levels built from inception modules (a 1×1 branch plus three reduce→k×k
branches, concatenated; batch norm without affine parameters). The public weights were
converted from Torch7, so the module tree is a nest of Sequentials whose integer indices make
the state_dict keys; the builders below reproduce that nesting: every level is
Sequential(Fork(pooled path, skip path), Add).
"""
from __future__ import annotations

import torch
import torch.nn as nn


class Concat(nn.Sequential):
    """Torch7 Concat: each child applied to the input, outputs concatenated on channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return torch.cat([m(x) for m in self], 1)


class Fork(nn.Sequential):
    """Torch7 ConcatTable: each child applied to the input, outputs kept as a list."""

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:  # type: ignore[override]
        return [m(x) for m in self]


class Add(nn.Module):
    """Torch7 CAddTable: sum of a list."""

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, 1e-5, 0.1, False)


def inception(cin: int, first: int, branches: list[tuple[int, int, int]]) -> Concat:
    """first: channels of the 1×1 branch; branches: (kernel, reduce channels, out channels)."""
    mods: list[nn.Module] = [nn.Sequential(nn.Conv2d(cin, first, 1), _bn(first), nn.ReLU())]
    for k, red, out in branches:
        mods.append(nn.Sequential(nn.Conv2d(cin, red, 1), _bn(red), nn.ReLU(),
                                  nn.Conv2d(red, out, k, 1, k // 2), _bn(out), nn.ReLU()))
    return Concat(*mods)


# the inception configurations of the published network (Chen et al. 2016, Fig. 3)
def _a() -> Concat: return inception(128, 32, [(3, 32, 32), (5, 32, 32), (7, 32, 32)])   # 128→128
def _b() -> Concat: return inception(128, 64, [(3, 32, 64), (5, 32, 64), (7, 32, 64)])   # 128→256
def _c() -> Concat: return inception(256, 64, [(3, 32, 64), (5, 32, 64), (7, 32, 64)])   # 256→256
def _d() -> Concat: return inception(256, 64, [(3, 64, 64), (7, 64, 64), (11, 64, 64)])  # 256→256
def _e() -> Concat: return inception(256, 32, [(3, 32, 32), (5, 32, 32), (7, 32, 32)])   # 256→128
def _f() -> Concat: return inception(128, 32, [(3, 64, 32), (5, 64, 32), (7, 64, 32)])   # 128→128
def _g() -> Concat: return inception(128, 32, [(3, 64, 32), (7, 64, 32), (11, 64, 32)])  # 128→128
def _h() -> Concat: return inception(128, 16, [(3, 32, 16), (7, 32, 16), (11, 32, 16)])  # 128→64
def _i() -> Concat: return inception(128, 16, [(3, 64, 16), (7, 64, 16), (11, 64, 16)])  # 128→64


def _level(first: list[nn.Module], second: list[nn.Module]) -> nn.Sequential:
    return nn.Sequential(Fork(nn.Sequential(*first), nn.Sequential(*second)), Add())


def _up() -> nn.Module:
    return nn.UpsamplingNearest2d(scale_factor=2)


def hourglass() -> nn.Sequential:
    """Input RGB [B,3,H,W] (H, W multiples of 16) → log-depth [B,1,H,W]."""
    # the two inner levels list the skip path first, the outer two the pooled path first
    l4 = _level([_c(), _d()], [nn.AvgPool2d(2, 2), _c(), _c(), _c(), _up()])           # 1/16, 256
    l3 = _level([_c(), _d()], [nn.AvgPool2d(2, 2), _c(), _c(), l4, _c(), _d(), _up()])  # 1/8, 256
    l2 = _level([nn.MaxPool2d(2, 2), _a(), _b(), l3, _c(), _e(), _up()], [_a(), _g()])  # 1/4, 128
    l1 = _level([nn.MaxPool2d(2, 2), _a(), _a(), l2, _f(), _h(), _up()], [_i()])        # 1/2, 64
    return nn.Sequential(nn.Conv2d(3, 128, 7, 1, 3), nn.BatchNorm2d(128), nn.ReLU(), l1,
                         nn.Conv2d(64, 1, 3, 1, 1))
