"""DAIN on standard ops: the inference path of Bao et al. (CVPR 2019), t = 0.5.

    frames I0, I2 ──► PWC-Net (both directions) ─► ×20·t, ×4 bilinear ─► F0→t, F2→t
                 ├──► MegaDepth hourglass ─► log depth D ─► w = 1e-6 + exp(-D)
                 ├──► context extractor (S2DF: 7×7 conv + two dilated residual blocks) ++ D
                 └──► kernel estimator (U-Net, 16-channel heads for each frame)
    depth-aware flow projection(F, w) ─► Ft→0, Ft→2
    adaptive warping (4×4 kernel + bilinear) of frame ++ context along Ft→0 / Ft→2
    residual rectifier on [blend, warped frames, flows, kernels, warped contexts] + blend

Module names and shapes follow the public implementation (networks/DAIN.py and the modules it
imports) so that its `best.pth` loads with strict key matching; see convert.py.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import ops
from .megadepth import hourglass
from .pwcnet import PWCDCNet


def _conv3x3(cin: int, cout: int, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, 1, dilation, dilation, bias=False)


class BasicBlock(nn.Module):
    """ResNet basic block without batch norm and without bias, as both DAIN sub-nets use it."""

    def __init__(self, inplanes: int, planes: int, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, dilation)
        self.relu = nn.ReLU()
        self.conv2 = _conv3x3(planes, planes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv2(self.relu(self.conv1(x))) + x)


class ContextExtractor(nn.Module):
    """S2DF_3dense: input ++ conv7×7 features ++ two dilated (4, 8) residual blocks = 195 ch."""

    def __init__(self) -> None:
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(3, 64, 7, 1, 3, bias=False), nn.ReLU())
        self.block2 = BasicBlock(64, 64, dilation=4)
        self.block3 = BasicBlock(64, 64, dilation=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y1 = self.block1(x)
        y2 = self.block2(y1)
        y3 = self.block3(y2)
        return torch.cat((x, y1, y2, y3), 1)


class Rectifier(nn.Module):
    """MultipleBasicBlock_4: 7×7 conv, three residual blocks, 3×3 conv to an RGB residual."""

    def __init__(self, cin: int, mid: int = 128) -> None:
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(cin, mid, 7, 1, 3, bias=True), nn.ReLU())
        self.block2 = BasicBlock(mid, mid)
        self.block3 = BasicBlock(mid, mid)
        self.block4 = BasicBlock(mid, mid)
        self.block5 = nn.Sequential(nn.Conv2d(mid, 3, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block5(self.block4(self.block3(self.block2(self.block1(x)))))


def _mono_net(cin: int, cout: int) -> tuple[nn.ModuleList, nn.ModuleList, nn.ModuleList]:
    """Kernel estimator, a flat layer list (its indices are the checkpoint's keys): five
    conv+ReLU+maxpool stages 16→512, a 512 conv, five bilinear-up+conv+ReLU stages back to 16,
    each upsampled map plus the encoder map saved before the matching pool; two heads."""
    layers: list[nn.Module] = [nn.Conv2d(cin, 16, 3, 1, 1), nn.ReLU()]
    for a, b in ((16, 32), (32, 64), (64, 128), (128, 256), (256, 512)):
        layers += [nn.Conv2d(a, b, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2)]
    layers += [nn.Conv2d(512, 512, 3, 1, 1), nn.ReLU()]
    for a, b in ((512, 256), (256, 128), (128, 64), (64, 32), (32, 16)):
        layers += [nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False), nn.Conv2d(a, b, 3, 1, 1), nn.ReLU()]

    def head() -> nn.ModuleList:
        return nn.ModuleList([nn.Conv2d(16, 16, 3, 1, 1), nn.ReLU(), nn.Conv2d(16, cout, 3, 1, 1)])

    return nn.ModuleList(layers), head(), head()


def _single_path(layers: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    skips: list[torch.Tensor] = []
    for m in layers:
        if isinstance(m, nn.MaxPool2d):
            skips.append(x)
        x = m(x)
        if isinstance(m, nn.Upsample):
            x = x + skips.pop()
    return x


class DAIN(nn.Module):
    CTX_CH = 3 * 64 + 3

    def __init__(self, filter_size: int = 4) -> None:
        super().__init__()
        if filter_size != 4:
            raise ValueError('only the published 4×4 adaptive kernel is implemented')
        self.filter_size = filter_size
        taps = filter_size * filter_size
        self.initScaleNets_filter, self.initScaleNets_filter1, self.initScaleNets_filter2 = _mono_net(3 * 2, taps)
        self.ctxNet = ContextExtractor()
        self.rectifyNet = Rectifier(3 + 3 + 3 + 2 * 1 + 2 * 2 + taps * 2 + 2 * self.CTX_CH, 128)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self.flownets = PWCDCNet()
        self.depthNet = hourglass()
        self.div_flow = 20.0

    def forward(self, i0: torch.Tensor, i2: torch.Tensor, t: float = 0.5) -> torch.Tensor:
        """i0, i2: RGB [B,3,H,W] in [0,1], H and W multiples of 64 (see pad_for). Returns the
        rectified middle frame [B,3,H,W]."""
        b = ops.dims(i0)[0]
        both = torch.cat((i0, i2), 0)
        log_depth = self.depthNet(both)
        ctx = torch.cat((self.ctxNet(both), log_depth), 1)
        feat = _single_path(self.initScaleNets_filter, torch.cat((i0, i2), 1))
        filt0 = _single_path(self.initScaleNets_filter1, feat)
        filt2 = _single_path(self.initScaleNets_filter2, feat)
        inv_depth = 1e-6 + 1.0 / torch.exp(log_depth)

        f02, f20 = self.flownets.bidirectional(i0, i2)
        up = lambda f, s: F.interpolate(self.div_flow * f * s, scale_factor=4, mode='bilinear', align_corners=False)  # noqa: E731
        flow0 = ops.depth_flow_projection(up(f02, t), inv_depth[:b])
        flow2 = ops.depth_flow_projection(up(f20, 1.0 - t), inv_depth[b:])

        # frame and context share flow and kernel, so they are warped in one pass each
        w0 = ops.filter_interpolation(torch.cat((i0, ctx[:b]), 1), flow0, filt0)
        w2 = ops.filter_interpolation(torch.cat((i2, ctx[b:]), 1), flow2, filt2)
        ref0, ref2 = w0[:, :3], w2[:, :3]
        blend = ref0 * (1.0 - t) + ref2 * t
        rect_in = torch.cat((blend, ref0, ref2, flow0, flow2, filt0, filt2, w0[:, 3:], w2[:, 3:]), 1)
        return self.rectifyNet(rect_in) + blend


def pad_for(h: int, w: int) -> tuple[int, int, int, int]:
    """DAIN's test-time padding (left, right, top, bottom): up to the next multiple of 128,
    split evenly; a side already a multiple of 128 still gets 32 on each end."""
    def side(n: int) -> tuple[int, int]:
        if n % 128 != 0:
            full = (n // 128 + 1) * 128
            a = (full - n) // 2
            return a, full - n - a
        return 32, 32
    left, right = side(w)
    top, bottom = side(h)
    return left, right, top, bottom


class DAINFrames(nn.Module):
    """Export wrapper: two frames [1,3,H,W] in [0,1] → middle frame [1,3,H,W] in [0,1], with
    DAIN's replicate padding and the crop inside the graph."""

    def __init__(self, net: DAIN, h: int, w: int) -> None:
        super().__init__()
        self.net = net
        self.h, self.w = h, w
        self.pads = pad_for(h, w)

    def forward(self, frame0: torch.Tensor, frame1: torch.Tensor) -> torch.Tensor:
        l, r, t, b = self.pads
        p0 = F.pad(frame0, (l, r, t, b), mode='replicate')
        p1 = F.pad(frame1, (l, r, t, b), mode='replicate')
        out = self.net(p0, p1)
        return out[:, :, t:t + self.h, l:l + self.w].clamp(0.0, 1.0)
