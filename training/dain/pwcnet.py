"""PWC-Net (Sun et al., CVPR 2018), the "DC" variant DAIN uses: six-level feature pyramid
(three convs per level), cost volume over ±4 px after warping by the upsampled coarser flow,
DenseNet-style flow decoders, and a dilated context network refining the finest (1/4) flow.

Attribute names and layer shapes follow the public DAIN implementation's PWCDCNet so its
checkpoint loads under the `flownets.` prefix.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .ops import backward_warp, correlation


def conv(cin: int, cout: int, k: int = 3, stride: int = 1, padding: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding, dilation, bias=True), nn.LeakyReLU(0.1))


def predict_flow(cin: int) -> nn.Conv2d:
    return nn.Conv2d(cin, 2, 3, 1, 1, bias=True)


def deconv(cin: int, cout: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=True)


# feature channels per pyramid level 1..6 and (first, second, third) conv names per level
_PYRAMID = [(3, 16), (16, 32), (32, 64), (64, 96), (96, 128), (128, 196)]
_DENSE = [128, 128, 96, 64, 32]  # decoder growth; each conv's output is concatenated in front


class PWCDCNet(nn.Module):
    def __init__(self, md: int = 4) -> None:
        super().__init__()
        self.md = md
        for lvl, (cin, cout) in enumerate(_PYRAMID, start=1):
            names = ('a', 'aa', 'b') if lvl < 6 else ('aa', 'a', 'b')  # level 6 order as published
            setattr(self, f'conv{lvl}{names[0]}', conv(cin, cout, 3, 2))
            setattr(self, f'conv{lvl}{names[1]}', conv(cout, cout, 3, 1))
            setattr(self, f'conv{lvl}{names[2]}', conv(cout, cout, 3, 1))
        self.leakyRELU = nn.LeakyReLU(0.1)
        nd = (2 * md + 1) ** 2
        dense_in = [0]
        for g in _DENSE:
            dense_in.append(dense_in[-1] + g)
        for lvl in (6, 5, 4, 3, 2):
            od = nd if lvl == 6 else nd + _PYRAMID[lvl - 1][1] + 4
            for i, g in enumerate(_DENSE):
                setattr(self, f'conv{lvl}_{i}', conv(od + dense_in[i], g, 3, 1))
            setattr(self, f'predict_flow{lvl}', predict_flow(od + dense_in[5]))
            setattr(self, f'deconv{lvl}', deconv(2, 2))
            if lvl > 2:
                setattr(self, f'upfeat{lvl}', deconv(od + dense_in[5], 2))
        od = nd + _PYRAMID[1][1] + 4 + dense_in[5]
        self.dc_conv1 = conv(od, 128, 3, 1, 1, 1)
        self.dc_conv2 = conv(128, 128, 3, 1, 2, 2)
        self.dc_conv3 = conv(128, 128, 3, 1, 4, 4)
        self.dc_conv4 = conv(128, 96, 3, 1, 8, 8)
        self.dc_conv5 = conv(96, 64, 3, 1, 16, 16)
        self.dc_conv6 = conv(64, 32, 3, 1, 1, 1)
        self.dc_conv7 = predict_flow(32)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, mode='fan_in')
                nn.init.zeros_(m.bias)

    def pyramid(self, im: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        x = im
        for lvl in range(1, 7):
            names = ('a', 'aa', 'b') if lvl < 6 else ('aa', 'a', 'b')
            for n in names:
                x = getattr(self, f'conv{lvl}{n}')(x)
            feats.append(x)
        return feats

    def _decode(self, lvl: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for i in range(5):
            x = torch.cat((getattr(self, f'conv{lvl}_{i}')(x), x), 1)
        return getattr(self, f'predict_flow{lvl}')(x), x

    def decode(self, f1: list[torch.Tensor], f2: list[torch.Tensor]) -> torch.Tensor:
        """Flow from image 1 to image 2 at 1/4 resolution, in units of 1/20 pixel at that scale
        (the FlowNet convention: DAIN multiplies by 20 and upsamples ×4)."""
        corr = self.leakyRELU(correlation(f1[5], f2[5], self.md))
        flow, x = self._decode(6, corr)
        up_flow, up_feat = self.deconv6(flow), self.upfeat6(x)
        # warp scale per level: 20 / 2**level of the next finer level (0.625 … 5.0)
        for lvl, scale in ((5, 0.625), (4, 1.25), (3, 2.5), (2, 5.0)):
            warped = backward_warp(f2[lvl - 1], up_flow * scale)
            corr = self.leakyRELU(correlation(f1[lvl - 1], warped, self.md))
            flow, x = self._decode(lvl, torch.cat((corr, f1[lvl - 1], up_flow, up_feat), 1))
            if lvl > 2:
                up_flow = getattr(self, f'deconv{lvl}')(flow)
                up_feat = getattr(self, f'upfeat{lvl}')(x)
        x = self.dc_conv4(self.dc_conv3(self.dc_conv2(self.dc_conv1(x))))
        return flow + self.dc_conv7(self.dc_conv6(self.dc_conv5(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x = image1 ++ image2 on channels, as the public model takes it."""
        return self.decode(self.pyramid(x[:, :3]), self.pyramid(x[:, 3:]))

    def bidirectional(self, im0: torch.Tensor, im1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both directions with one pyramid per image (DAIN runs the whole net twice; the
        pyramid of each image is the same both times, so computing it once is exact)."""
        b = int(im0.shape[0])
        feats = self.pyramid(torch.cat((im0, im1), 0))
        fa = [torch.cat((f[:b], f[b:]), 0) for f in feats]
        fb = [torch.cat((f[b:], f[:b]), 0) for f in feats]
        flow = self.decode(fa, fb)
        return flow[:b], flow[b:]
