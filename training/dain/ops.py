"""DAIN's custom CUDA layers as standard tensor ops (each exports to default-domain ONNX).

Semantics follow the forward kernels of the public implementation (inference path, batch-first
NCHW float32); tests/reference.py restates each one as plain loops, and tests/test_ops.py checks
these against it.

  correlation             PWC-Net cost volume (FlowNet2 Correlation, kernel 1, stride 1):
                          out[(dy+d)*(2d+1)+(dx+d), y, x] = mean_c f1[c,y,x] * f2[c,y+dy,x+dx],
                          f2 zero outside the image.           → Pad, Slice, Mul, ReduceMean, Concat
  backward_warp           PWC-Net's warp: bilinear sample of x at p + flow(p), align_corners
                          grid, zeros outside, times a mask that is 1 only where all four
                          bilinear taps are inside.            → GridSample
  depth_flow_projection   DepthFlowProjection: each source pixel p with flow f lands at
                          q = p + f; if q is inside, -f weighted by w(p) (inverse depth) is added
                          to the four integer pixels floor(q) + {0,1}² (clamped to the border,
                          equal weight), normalised by the summed weights; pixels nothing landed
                          on take the mean of the nearest filled pixel left / right / up / down
                          in their row and column.             → ScatterElements(reduction=add),
                                                                 Max/Min scans, GatherElements
  filter_interpolation    FilterInterpolation: at q = p + f (if inside and |f| < size/2) the 4×4
                          neighbourhood floor(q) + {-1..2}² (clamped) weighted by the learned
                          per-pixel 16-tap kernel times the bilinear weight of the quadrant the
                          tap lies in; else the input pixel itself.  → 16 × Gather(axis 0) of pixel rows
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def dims(x: torch.Tensor) -> list[int]:
    """Static sizes as Python ints, so a trace records constants instead of Shape/Gather chains
    (the export is for one fixed frame size; kiln's shape inference then resolves every op)."""
    return [int(d) for d in x.shape]


def _arange(n: int, shape: list[int], like: torch.Tensor) -> torch.Tensor:
    # from numpy: a constant in the trace (torch.arange would become Range + Expand)
    return torch.from_numpy(np.arange(n, dtype=np.float32).reshape(shape)).to(like.dtype)


def correlation(f1: torch.Tensor, f2: torch.Tensor, max_disp: int = 4) -> torch.Tensor:
    """Cost volume [B, (2d+1)², H, W] as padded shifted products."""
    _, _, h, w = dims(f1)
    d = max_disp
    f2p = F.pad(f2, (d, d, d, d))
    planes = []
    for dy in range(-d, d + 1):
        for dx in range(-d, d + 1):
            shifted = f2p[:, :, d + dy:d + dy + h, d + dx:d + dx + w]
            planes.append((f1 * shifted).mean(dim=1, keepdim=True))
    return torch.cat(planes, dim=1)


def _grid(h: int, w: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel coordinates x [1,1,W] and y [1,H,1]; they broadcast against [B,H,W]."""
    return _arange(w, [1, 1, w], like), _arange(h, [1, h, 1], like)


def backward_warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """PWC-Net warp: x sampled at p + flow(p), zeroed where any bilinear tap falls outside."""
    b, _, h, w = dims(x)
    gx, gy = _grid(h, w, x)
    vx = 2.0 * (gx + flow[:, 0]) / max(w - 1, 1) - 1.0
    vy = 2.0 * (gy + flow[:, 1]) / max(h - 1, 1) - 1.0
    grid = torch.stack((vx, vy), dim=3)
    # The public code ran on PyTorch 1.0, whose grid_sample behaved as align_corners=True
    # (it normalises by W-1 accordingly).
    out = F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=True)
    ones = torch.ones((b, 1, h, w), dtype=x.dtype, device=x.device)
    inside = F.grid_sample(ones, grid, mode='bilinear', padding_mode='zeros', align_corners=True)
    # original: mask[mask < 0.9999] = 0; mask[mask > 0] = 1
    return out * (inside >= 0.9999).to(x.dtype)


def _prefix(a: torch.Tensor, dim: int, reverse: bool, fill: float, op) -> torch.Tensor:
    """Inclusive prefix max/min along `dim` by log-step doubling (Hillis–Steele): opset 17 has
    CumSum but no CumMax, and log2(704) = 10 Pad+Max steps are cheap next to the network."""
    n = dims(a)[dim]
    s = 1
    while s < n:
        pad = [0, 0] * (a.dim() - 1 - dim)
        pad += [0, s] if reverse else [s, 0]
        shifted = F.pad(a, pad, value=fill)
        shifted = shifted.narrow(dim, s if reverse else 0, n)
        a = op(a, shifted)
        s *= 2
    return a


def _nearest_filled(valid: torch.Tensor, dim: int, reverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of the nearest filled pixel strictly before (or after, `reverse`) each pixel along
    `dim` of a [B,H,W] mask, and whether one exists."""
    n = dims(valid)[dim]
    shape = [1, 1, 1]
    shape[dim] = n
    pos = torch.from_numpy(np.arange(n, dtype=np.float32).reshape(shape))
    if not reverse:
        cand = torch.where(valid, pos, torch.tensor(-1.0))
        incl = _prefix(cand, dim, False, -1.0, torch.maximum)
        # exclusive: shift by one towards higher indices
        pad = [0, 0] * (2 - dim) + [1, 0]
        excl = F.pad(incl, pad, value=-1.0).narrow(dim, 0, n)
        found = excl >= 0
    else:
        big = float(n)
        cand = torch.where(valid, pos, torch.tensor(big))
        incl = _prefix(cand, dim, True, big, torch.minimum)
        pad = [0, 0] * (2 - dim) + [0, 1]
        excl = F.pad(incl, pad, value=big).narrow(dim, 1, n)
        found = excl < big
    idx = excl.clamp(0, n - 1).to(torch.int64)
    return idx, found


def depth_flow_projection(flow: torch.Tensor, weight: torch.Tensor, fill_holes: bool = True) -> torch.Tensor:
    """Project flow [B,2,H,W] (source → t, already scaled by t) to the time-t grid, weighted by
    weight [B,1,H,W] (DAIN: inverse depth), returning flow t → source [B,2,H,W]."""
    b, _, h, w = dims(flow)
    gx, gy = _grid(h, w, flow)
    fx, fy = flow[:, 0], flow[:, 1]
    x2 = gx + fx
    y2 = gy + fy
    inside = (x2 >= 0) & (y2 >= 0) & (x2 <= w - 1) & (y2 <= h - 1)
    wt = torch.where(inside, weight[:, 0], torch.tensor(0.0))
    # outside pixels add zero; their (clamped) target keeps the index in range
    xl = x2.clamp(0, w - 1).floor()
    yt = y2.clamp(0, h - 1).floor()
    xr = (xl + 1).clamp(max=w - 1)
    yb = (yt + 1).clamp(max=h - 1)
    corners = [yt * w + xl, yt * w + xr, yb * w + xl, yb * w + xr]
    idx = torch.cat([c.reshape(b, 1, h * w) for c in corners], dim=2).to(torch.int64)
    vals = torch.stack((-fx * wt, -fy * wt, wt), dim=1).reshape(b, 3, h * w)
    vals = torch.cat([vals] * 4, dim=2)
    # the zero base is computed from the data: torch.zeros would be folded into a constant
    # initializer of B·3·H·W floats stored in the model
    z = (x2 * 0).reshape(b, 1, h * w)
    acc = torch.cat((z, z, z), 1).scatter_add(2, idx.expand(b, 3, 4 * h * w), vals)  # ScatterElements, reduction=add
    acc = acc.reshape(b, 3, h, w)
    count = acc[:, 2:3]
    filled = count > 0
    out = acc[:, 0:2] / torch.where(filled, count, torch.tensor(1.0))
    if not fill_holes:
        return out
    valid = filled[:, 0]
    hole = ~valid
    total = None
    n = None
    for dim, reverse in ((2, False), (2, True), (1, False), (1, True)):
        idx_d, found = _nearest_filled(valid, dim, reverse)
        g = torch.gather(out, dim + 1, idx_d.unsqueeze(1).expand(b, 2, h, w))
        f = found.unsqueeze(1).to(out.dtype)
        total = g * f if total is None else total + g * f
        n = f if n is None else n + f
    can = hole.unsqueeze(1) & (n > 0)
    return torch.where(can, total / torch.where(n > 0, n, torch.tensor(1.0)), out)


def filter_interpolation(img: torch.Tensor, flow: torch.Tensor, filt: torch.Tensor) -> torch.Tensor:
    """Adaptive warping layer: img [B,C,H,W] sampled at p + flow(p) with a learned 4×4 kernel
    filt [B,16,H,W] (tap k = row*4 + col), bilinear weight per quadrant."""
    b, c, h, w = dims(img)
    gx, gy = _grid(h, w, img)
    fx, fy = flow[:, 0], flow[:, 1]
    x2 = gx + fx
    y2 = gy + fy
    ok = (x2 >= 0) & (y2 >= 0) & (x2 <= w - 1) & (y2 <= h - 1) & (fx.abs() < w / 2.0) & (fy.abs() < h / 2.0)
    x0 = x2.clamp(0, w - 1).floor()
    y0 = y2.clamp(0, h - 1).floor()
    alpha = x2 - x0
    beta = y2 - y0
    # Pixels as rows of a [B·H·W, C] table and one Gather(axis=0) per tap: each index copies a
    # contiguous row of C values. Gather on axis 1 of [C, B·H·W] (one float per index) took
    # 63 s vs 23 s for this layout in onnxruntime-node at 199×704×512 on the shared 2-core
    # machine; an index expanded to GatherElements' per-channel form would be gigabytes.
    flat = img.permute(0, 2, 3, 1).reshape(b * h * w, c)
    base = _arange(b, [b, 1, 1], img) * (h * w)
    acc = None  # starting from torch.zeros would store a B·H·W·C constant in the model
    for j in range(4):
        ty = (y0 + (j - 1)).clamp(0, h - 1)
        wy = (1 - beta) if j < 2 else beta
        for i in range(4):
            tx = (x0 + (i - 1)).clamp(0, w - 1)
            wx = (1 - alpha) if i < 2 else alpha
            k = j * 4 + i
            tap_w = (filt[:, k] * wx * wy).reshape(b * h * w, 1)
            index = (base + ty * w + tx).reshape(b * h * w).to(torch.int64)
            tap = torch.index_select(flat, 0, index) * tap_w
            acc = tap if acc is None else acc + tap
    out = acc.reshape(b, h, w, c).permute(0, 3, 1, 2)
    return torch.where(ok.unsqueeze(1), out, img)


class OpModule(torch.nn.Module):
    """One function of this module as an nn.Module (what torch.onnx.export takes), for the
    per-op ONNX files of op_models.py and tests/cases.py."""

    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)
