"""Plain-loop restatements of DAIN's CUDA forward kernels, pixel by pixel, for small inputs.

Each follows the kernel's documented semantics directly (no vectorisation), so that ops.py is
checked against an independent formulation rather than against itself.
"""
from __future__ import annotations

import math

import numpy as np


def correlation(f1: np.ndarray, f2: np.ndarray, d: int = 4) -> np.ndarray:
    b, c, h, w = f1.shape
    n = 2 * d + 1
    out = np.zeros((b, n * n, h, w), dtype=np.float64)
    for bi in range(b):
        for y in range(h):
            for x in range(w):
                for dy in range(-d, d + 1):
                    for dx in range(-d, d + 1):
                        yy, xx = y + dy, x + dx
                        s = 0.0
                        if 0 <= yy < h and 0 <= xx < w:
                            for ci in range(c):
                                s += float(f1[bi, ci, y, x]) * float(f2[bi, ci, yy, xx])
                        out[bi, (dy + d) * n + (dx + d), y, x] = s / c
    return out


def backward_warp(x: np.ndarray, flow: np.ndarray) -> np.ndarray:
    b, c, h, w = x.shape
    out = np.zeros((b, c, h, w), dtype=np.float64)
    for bi in range(b):
        for y in range(h):
            for xx in range(w):
                sx = xx + float(flow[bi, 0, y, xx])
                sy = y + float(flow[bi, 1, y, xx])
                x0, y0 = math.floor(sx), math.floor(sy)
                ax, ay = sx - x0, sy - y0
                taps = [(y0, x0, (1 - ax) * (1 - ay)), (y0, x0 + 1, ax * (1 - ay)),
                        (y0 + 1, x0, (1 - ax) * ay), (y0 + 1, x0 + 1, ax * ay)]
                # mask: the in-image share of the bilinear weights must be ~1
                inside = sum(wt for (ty, tx, wt) in taps if 0 <= ty < h and 0 <= tx < w)
                if inside < 0.9999:
                    continue
                for ci in range(c):
                    s = 0.0
                    for ty, tx, wt in taps:
                        if 0 <= ty < h and 0 <= tx < w:
                            s += wt * float(x[bi, ci, ty, tx])
                    out[bi, ci, y, xx] = s
    return out


def depth_flow_projection(flow: np.ndarray, weight: np.ndarray, fill_holes: bool = True) -> np.ndarray:
    b, _, h, w = flow.shape
    out = np.zeros((b, 2, h, w), dtype=np.float64)
    count = np.zeros((b, h, w), dtype=np.float64)
    # 1. forward splat (the CUDA kernel's atomicAdds)
    for bi in range(b):
        for y in range(h):
            for x in range(w):
                fx, fy = float(flow[bi, 0, y, x]), float(flow[bi, 1, y, x])
                x2, y2 = x + fx, y + fy
                if x2 >= 0 and y2 >= 0 and x2 <= w - 1 and y2 <= h - 1:
                    xl, yt = int(x2), int(y2)
                    xr, yb = min(xl + 1, w - 1), min(yt + 1, h - 1)
                    t = float(weight[bi, 0, y, x])
                    for (py, px) in ((yt, xl), (yt, xr), (yb, xl), (yb, xr)):
                        out[bi, 0, py, px] += -t * fx
                        out[bi, 1, py, px] += -t * fy
                        count[bi, py, px] += t
    # 2. averaging
    for bi in range(b):
        for y in range(h):
            for x in range(w):
                if count[bi, y, x] > 0:
                    out[bi, :, y, x] /= count[bi, y, x]
    if not fill_holes:
        return out
    # 3. hole filling: reads only filled pixels, so a copy is not needed
    filled = out.copy()
    for bi in range(b):
        for y in range(h):
            for x in range(w):
                if count[bi, y, x] > 0:
                    continue
                found = []
                for (sy, sx) in ((0, -1), (0, 1), (-1, 0), (1, 0)):
                    yy, xx = y + sy, x + sx
                    while 0 <= yy < h and 0 <= xx < w:
                        if count[bi, yy, xx] != 0:
                            found.append((yy, xx))
                            break
                        yy, xx = yy + sy, xx + sx
                if not found:
                    continue
                for ch in range(2):
                    filled[bi, ch, y, x] = sum(out[bi, ch, yy, xx] for yy, xx in found) / len(found)
    return filled


def filter_interpolation(img: np.ndarray, flow: np.ndarray, filt: np.ndarray, fs: int = 4) -> np.ndarray:
    b, c, h, w = img.shape
    out = np.zeros((b, c, h, w), dtype=np.float64)
    for bi in range(b):
        for y in range(h):
            for x in range(w):
                fx, fy = float(flow[bi, 0, y, x]), float(flow[bi, 1, y, x])
                x2, y2 = x + fx, y + fy
                if not (x2 >= 0 and y2 >= 0 and x2 <= w - 1 and y2 <= h - 1 and abs(fx) < w / 2 and abs(fy) < h / 2):
                    out[bi, :, y, x] = img[bi, :, y, x]
                    continue
                ixl = int(x2) + 1 - fs // 2
                iyt = int(y2) + 1 - fs // 2
                alpha, beta = x2 - int(x2), y2 - int(y2)
                for ci in range(c):
                    quad = {'TL': 0.0, 'TR': 0.0, 'BL': 0.0, 'BR': 0.0}
                    for fj in range(iyt, iyt + fs):
                        for fi in range(ixl, ixl + fs):
                            cj = min(max(0, fj), h - 1)
                            cii = min(max(0, fi), w - 1)
                            v = float(img[bi, ci, cj, cii]) * float(filt[bi, (fj - iyt) * fs + (fi - ixl), y, x])
                            key = ('T' if fj <= int(y2) else 'B') + ('L' if fi <= int(x2) else 'R')
                            quad[key] += v
                    out[bi, ci, y, x] = ((1 - alpha) * (1 - beta) * quad['TL'] + alpha * (1 - beta) * quad['TR']
                                         + (1 - alpha) * beta * quad['BL'] + alpha * beta * quad['BR'])
    return out
