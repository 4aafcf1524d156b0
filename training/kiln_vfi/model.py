"""kiln-vfi: a small coarse-to-fine, cost-volume-based frame interpolator built for CPU inference.

Design (written from the ideas of PWC-Net, RIFE and Super SloMo, not from their code):

* One shared feature pyramid for both inputs (1/4, 1/8, 1/16 of the input size).
* Motion is *measured*, not regressed: at 1/16 and 1/8 a local correlation (cost volume)
  compares the two frames' features over a small search window, and a small decoder turns
  the cost volume into a motion update.
* Motion is represented at the time-t grid as a symmetric "trajectory" field D (full-resolution
  pixels, frame 0 -> frame 1): the point at x at time t was at x - t*D in frame 0 and is at
  x + (1-t)*D in frame 1. Both frames' features are backward-warped to time t with it, so the
  cost volume between the two warped maps peaks at the *residual* motion, whatever t is.
* At 1/4 a refinement decoder sees both frames warped to t and predicts separate residuals for
  the two flows (occlusions break the linear model) and a fusion-mask logit.
* Only two full-resolution warps (img0 and img1 to time t); everything else runs at <= 1/4.
  The export writes them and the blend as one DeformConv (warp_blend), which onnxruntime's CPU
  kernel runs on all threads; training runs the same maths as two grid_samples.
  On CPU GridSample cost grows with warped elements (channels x pixels), so feature warps
  happen only at 1/8 with 24 channels and image warps at 1/4 with 3.
* Flow and mask heads start at zero, and the mask carries the prior log((1-t)/t): the untrained
  network outputs exactly (1-t)*img0 + t*img1 (frame averaging at t = 0.5).

All ops export to standard ONNX (opset 19): Conv, LeakyRelu, Pad, Slice, Mul, ReduceMean, Concat,
MatMul, Gather, Reshape, Transpose, Range, Resize, CumSum, Sigmoid, Log, Min, Max, DeformConv (every
warp; training runs them as grid_sample, and the 2x2 means as avg_pool2d).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

# Input height and width must be a multiple of this (one 2x average pool + three stride-2 convs).
SIZE_MULTIPLE = 16
T_EPS = 1e-3


def conv(cin: int, cout: int, k: int = 3, stride: int = 1, act: bool = True) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2)]
    if act:
        layers.append(nn.LeakyReLU(0.1))
    return nn.Sequential(*layers) if act else layers[0]


def zero_conv(cin: int, cout: int) -> nn.Conv2d:
    c = nn.Conv2d(cin, cout, 3, 1, 1)
    nn.init.zeros_(c.weight)
    nn.init.zeros_(c.bias)
    return c


def correlation(a: torch.Tensor, b: torch.Tensor, radius: int, block: int = 0) -> torch.Tensor:
    """Cost volume: cosine similarity of a(x) and b(x + d) for every integer d in [-r, r]^2.

    Written with Pad, Slice, Gather, MatMul and Reshape so it exports to plain ONNX; sizes come
    from the traced shapes, so it stays dynamic in H and W.

    block: queries per MatMul along a row (0: the whole row). The width is padded to a multiple
    of it and the padding cropped from the result, so any width works.
    """
    # Features are L2-normalised first: the costs are cosine similarities in [-1, 1], brightness
    # invariant and well scaled for the decoder (raw channel means were ~1e-2, which Adam needed
    # thousands of steps to amplify: measured as no flow learned in the first 1,000 steps).
    #
    # One batched MatMul per level: for every row y, row shift dy and block of B query pixels,
    # the products of the B queries with the B + 2r keys they can reach ([B, C] x [C, B+2r]).
    # The k costs each query needs lie on a band of that matrix (element (x, x+dx) at
    # x*(B+2r+1) + dx of its flattened form): padding the flattened block by B and viewing it as
    # [B, B+2r+1] puts them in the first k columns, which one Slice takes (contiguous runs of k,
    # where a Gather on the last axis copies element by element). A whole row as one block
    # computes (w+2r)/k times the needed products and makes a large intermediate; blocks of 10 at
    # 1/8 measured 0.63x the time of the whole-row Gather form on their own (640x480, 1 thread,
    # session 8). History: stacking all k^2 shifted copies at once was 24.8 ms at 1/8
    # (memory-bound), one Slice-Mul-ReduceSum per shift 6.4 ms.
    n, c, h, w = a.shape
    k = 2 * radius + 1
    a = a / torch.sqrt((a * a).sum(1, keepdim=True) + 1e-6)
    b = b / torch.sqrt((b * b).sum(1, keepdim=True) + 1e-6)
    if block:
        extra = (block - w % block) % block  # traced: stays dynamic in W
        a = F.pad(a, [0, extra])
        bsz = block
    else:
        extra = 0
        bsz = w
    wq = w + extra  # padded query width, nb * bsz
    nb = wq // bsz
    kw = bsz + 2 * radius
    bp = F.pad(b, [radius, radius + extra, radius, radius]).permute(0, 2, 3, 1)  # [N,h+2r,wq+2r,C]
    if block:  # the keys of every block side by side (a Gather of whole C-vectors): [N,h+2r,nb,kw,C]
        idx = (torch.arange(nb).unsqueeze(1) * bsz + torch.arange(kw).unsqueeze(0)).reshape(-1)
        bp = bp[:, :, idx].reshape(n, h + 2 * radius, nb, kw, c)
    else:
        bp = bp.unsqueeze(2)
    keys = torch.stack([bp[:, dy : dy + h] for dy in range(k)], 2)  # [N,h,k,nb,kw,C]
    queries = a.permute(0, 2, 3, 1).reshape(n, h, 1, nb, bsz, c)  # [N,h,1,nb,B,C]
    full = torch.matmul(queries, keys.transpose(-1, -2)).reshape(n, h, k, nb, bsz * kw)  # [N,h,k,nb,B*kw]
    cost = F.pad(full, [0, bsz]).reshape(n, h, k, nb, bsz, kw + 1)[..., :k]  # the band
    cost = cost.reshape(n, h, k, wq, k)[:, :, :, :w].permute(0, 2, 4, 1, 3).reshape(n, k * k, h, w)  # dy-major
    # contrast across the window is what locates the match: subtract the per-pixel mean cost
    return (cost - cost.mean(1, keepdim=True)) * 4.0


def grid_base(ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(a, b) such that grid = flow * a + b for a backward warp onto ref's pixel grid.

    a = [2/(W-1), 2/(H-1)] ([N,2,1,1]) scales pixels to GridSample's align_corners units and
    b ([N,2,H,W]) holds the normalised pixel coordinates. Built with CumSum over a ones row and
    column taken from ref, so the exported graph has no baked-in size; the two warps of a level
    share one base (one full-size Add per warp instead of rebuilding the grid).
    """
    h, w = ref.shape[2], ref.shape[3]
    row = torch.ones_like(ref[:, 0:1, 0:1, :])  # [N,1,1,W]
    col = torch.ones_like(ref[:, 0:1, :, 0:1])  # [N,1,H,1]
    ax = 2.0 / (row.sum(3, keepdim=True) - 1.0)
    ay = 2.0 / (col.sum(2, keepdim=True) - 1.0)
    bx = (torch.cumsum(row, 3) - 1.0) * ax - 1.0
    by = (torch.cumsum(col, 2) - 1.0) * ay - 1.0
    return torch.cat([ax, ay], 1), torch.cat([bx.expand(-1, -1, h, -1), by.expand(-1, -1, -1, w)], 1)


def warp(x: torch.Tensor, flow: torch.Tensor, base: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Backward warp: out(p) = x(p + flow(p)), flow in pixels of x, bilinear, border padding.
    base: grid_base() of a tensor of flow's size (built here when not given).

    Border padding is written as a grid clamped to [-1, 1] and zeros padding: with
    align_corners the clamped point lies inside the image, and a neighbour outside it has weight
    0, so the output is identical (max diff 0, PyTorch) to padding_mode="border". onnxruntime's
    CPU GridSample runs its zeros mode faster: whole model 0.948x the time (50 paired rounds,
    640x480, 2 threads, ratio IQR 0.90-0.99; session 5)."""
    a, b = grid_base(flow) if base is None else base
    grid = (flow * a + b).clamp(-1.0, 1.0).permute(0, 2, 3, 1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


class Rescale(torch.autograd.Function):
    """Bilinear resize by a factor known only at run time (a 0-d or [1] tensor).

    PyTorch runs F.interpolate; the ONNX export is a single Resize whose scales are computed in
    the graph from that tensor, so the factor can be a model input (`scale`). Half-pixel
    coordinates as F.interpolate(align_corners=False): at 0.5 each output is the mean of a 2x2
    block, as avg_pool2d(2) gives.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
        ctx.shape, ctx.factor = x.shape, float(factor)
        return F.interpolate(x, scale_factor=ctx.factor, mode="bilinear", align_corners=False, recompute_scale_factor=False)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        """The resize is linear in x: its gradient is the resize's transpose, taken from autograd
        on a stand-in input (train.py --lowres trains through it). None for the factor."""
        with torch.enable_grad():
            x = torch.zeros(ctx.shape, dtype=grad.dtype, requires_grad=True)
            y = F.interpolate(x, scale_factor=ctx.factor, mode="bilinear", align_corners=False, recompute_scale_factor=False)
            (gx,) = torch.autograd.grad(y, x, grad)
        return gx, None

    @staticmethod
    def symbolic(g, x, factor):
        f = g.op("Reshape", factor, g.op("Constant", value_t=torch.tensor([1], dtype=torch.int64)))
        scales = g.op("Concat", g.op("Constant", value_t=torch.ones(2)), f, f, axis_i=0)
        roi = g.op("Constant", value_t=torch.tensor([], dtype=torch.float32))
        return g.op("Resize", x, roi, scales, mode_s="linear", coordinate_transformation_mode_s="pytorch_half_pixel")


def up2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class Encoder(nn.Module):
    def __init__(self, c4: int = 16, c8: int = 24, c16: int = 48):
        super().__init__()
        self.l4 = nn.Sequential(conv(3, c4, stride=2), conv(c4, c4))
        self.l8 = nn.Sequential(conv(c4, c8, stride=2), conv(c8, c8))
        self.l16 = nn.Sequential(conv(c8, c16, stride=2), conv(c16, c16))

    def forward(self, x: torch.Tensor):
        """x: both frames at half resolution (2x average pooled), centred on 0."""
        f4 = self.l4(x)
        f8 = self.l8(f4)
        f16 = self.l16(f8)
        return f4, f8, f16


def heads(y: torch.Tensor, convs: list[nn.Conv2d]) -> tuple[torch.Tensor, ...]:
    """Several 3x3 convs of the same input as ONE conv with their filters stacked, split after.
    Same sums per output channel; onnxruntime runs a conv with 1-4 output channels at the cost
    of 8 (its NCHWc blocks), so three heads cost about what one does: 1/8 decoder heads 1.9 ->
    0.9 ms, 1/4 heads 2.4 -> 1.3 ms (640x480, 1 thread, session 8)."""
    w = torch.cat([c.weight for c in convs], 0)
    b = torch.cat([c.bias for c in convs], 0)
    return torch.split(F.conv2d(y, w, b, padding=1), [c.out_channels for c in convs], 1)


class Decoder(nn.Module):
    """1x1 squeeze, two 3x3 convs, then zero-initialised flow / mask heads and a hidden state."""

    def __init__(self, cin: int, c: int, c2: int, nflow: int, hidden: int):
        super().__init__()
        self.trunk = nn.Sequential(conv(cin, c, k=1), conv(c, c), conv(c, c2))
        self.flow = zero_conv(c2, nflow)
        self.mask = zero_conv(c2, 1)
        self.hidden = conv(c2, hidden) if hidden else None

    def forward(self, x: torch.Tensor):
        y = self.trunk(x)
        if self.hidden is None:
            flow, mask = heads(y, [self.flow, self.mask])
            return flow, mask, None
        flow, mask, h = heads(y, [self.flow, self.mask, self.hidden[0]])
        return flow, mask, self.hidden[1](h)


class KilnVFI(nn.Module):
    R16 = 4  # search radius at 1/16: +-64 px at full resolution
    R8 = 3  # at 1/8: +-24 px residual
    BLOCK16 = 0  # correlation() blocks: whole rows at 1/16, 10 queries at 1/8 (the fastest measured)
    BLOCK8 = 10
    HID = 16

    def __init__(self, proj16: int = 0, proj8: int = 0, stage8: str = "cost", ref4: int = 24):
        """proj16 / proj8 > 0: a 1x1 projection of the features to that many channels before the
        1/16 / 1/8 cost volume (their cost scales with channels). 0 = none: the shipped design;
        the projections add keys, so a checkpoint of one form does not load into the other.
        stage8: the 1/8 stage. "cost" (shipped): cost volume + decoder; "warp": the decoder sees the
        two warped feature maps without a cost volume (0.82x the time at 640x480); "none": no 1/8
        stage, the 1/16 motion goes straight to the 1/4 refinement (0.71x). adapt_state() turns a
        "cost" checkpoint into a warm start for the leaner forms.
        ref4: width of the first two 1/4-refinement convs (24 shipped; 16 measured 0.909x the time
        at 640x480 with random weights); adapt_state() keeps the channels the next layer uses most."""
        super().__init__()
        if stage8 not in ("cost", "warp", "none"):
            raise ValueError(f"KilnVFI: stage8 must be cost, warp or none, not {stage8!r}")
        # Saved in checkpoints ("config") so that loaders rebuild the same form: KilnVFI(**config).
        self.config = {"proj16": proj16, "proj8": proj8}
        if stage8 != "cost":  # older checkpoints have no key: they are the "cost" form
            self.config["stage8"] = stage8
        if ref4 != 24:
            self.config["ref4"] = ref4
        self.stage8 = stage8
        c4, c8, c16 = 16, 24, 48
        self.enc = Encoder(c4, c8, c16)
        self.proj16 = nn.Conv2d(c16, proj16, 1) if proj16 else None
        self.proj8 = nn.Conv2d(c8, proj8, 1) if proj8 and stage8 == "cost" else None
        n16 = (2 * self.R16 + 1) ** 2
        self.n8 = (2 * self.R8 + 1) ** 2 if stage8 == "cost" else 0  # cost-volume channels into dec8
        self.dec16 = Decoder(n16 + 2 * c16 + 1, 64, 48, 2, self.HID)
        self.dec8 = Decoder(self.n8 + 2 * c8 + 2 + 1 + 1 + self.HID, 48, 32, 2, self.HID) if stage8 != "none" else None
        # 1/4 refinement: both images warped to t (3+3), both flows (4), t, mask, hidden.
        self.ref4 = nn.Sequential(conv(3 + 3 + 4 + 1 + 1 + self.HID, ref4), conv(ref4, ref4), conv(ref4, 16))
        self.ref4_flow = zero_conv(16, 4)
        self.ref4_mask = zero_conv(16, 1)

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, timestep: torch.Tensor, scale: torch.Tensor | None = None, aux: bool = False):
        """scale (a 0-d or [1] tensor s in (0, 1]): estimate motion on the frames resized by s and
        run only the two final warps at full resolution (H*s and W*s must be multiples of 16).
        None: motion at full resolution, the training form."""
        n = img0.shape[0]
        t = timestep.reshape(-1, 1, 1, 1).clamp(T_EPS, 1.0 - T_EPS)
        x0, x1 = (img0, img1) if scale is None else (Rescale.apply(img0, scale), Rescale.apply(img1, scale))
        # Each full-resolution frame is read once by a pooling op: the 1/2 pyramid feeds the
        # encoder and, pooled again, gives the 1/4 images the refinement warps (avg4 = avg2∘avg2).
        p0 = half(x0)
        p1 = half(x1)
        f4, f8, f16 = self.enc(torch.cat([p0, p1], 0) - 0.5)
        a16, b16 = f16[:n], f16[n:]
        a8, b8 = f8[:n], f8[n:]

        # 1/16: motion measured from the unwarped pyramids.
        tmap16 = t * torch.ones_like(a16[:, :1])
        if self.proj16 is not None:
            p16 = self.proj16(f16)
            c16 = correlation(p16[:n], p16[n:], self.R16, self.BLOCK16)
        else:
            c16 = correlation(a16, b16, self.R16, self.BLOCK16)
        dd, m16, h16 = self.dec16(torch.cat([c16, a16, b16, tmap16], 1))
        d16 = dd * 16.0  # full-resolution pixels

        # 1/8: warp both feature maps to time t, measure the residual motion.
        d8 = up2(d16)
        m8 = up2(m16)
        h8 = up2(h16)
        if self.dec8 is not None:
            a8w, b8w = warp2(a8, b8, d8 * (-t / 8.0), d8 * ((1.0 - t) / 8.0))
            tmap8 = t * torch.ones_like(a8[:, :1])
            feats = [a8w, b8w, d8 / 16.0, tmap8, m8, h8]
            if self.stage8 == "cost":
                if self.proj8 is not None:
                    p8 = self.proj8(torch.cat([a8w, b8w], 0))
                    feats.insert(0, correlation(p8[:n], p8[n:], self.R8, self.BLOCK8))
                else:
                    feats.insert(0, correlation(a8w, b8w, self.R8, self.BLOCK8))
            dd, dm, h8 = self.dec8(torch.cat(feats, 1))
            d8 = d8 + dd * 8.0
            m8 = m8 + dm

        # 1/4: separate flows to frame 0 and frame 1, refined from the warped images.
        d4 = up2(d8)
        m4 = up2(m8)
        h4 = up2(h8)
        ft0 = d4 * (-t)
        ft1 = d4 * (1.0 - t)
        w0q, w1q = warp2(half(p0), half(p1), ft0 / 4.0, ft1 / 4.0)
        tmap4 = t * torch.ones_like(m4)
        y = self.ref4(torch.cat([w0q - 0.5, w1q - 0.5, ft0 / 16.0, ft1 / 16.0, tmap4, m4, h4], 1))
        df, dm = heads(y, [self.ref4_flow, self.ref4_mask])
        df = df * 4.0
        ft0 = ft0 + df[:, 0:2]
        ft1 = ft1 + df[:, 2:4]
        m4 = m4 + dm

        # Full resolution: exactly two warps and a blend, as one op in the export (warp_blend).
        # One Resize for both flows, in (y, x) order, and the two frames' mask logits z and -z
        # (sigmoid(-z) = 1 - sigmoid(z)); the prior log((1-t)/t) is added before the upsample,
        # which bilinear weights (summing to 1) leave unchanged.
        z = m4 + torch.log((1.0 - t) / t)
        q_off = torch.cat([ft0[:, 1:2], ft0[:, 0:1], ft1[:, 1:2], ft1[:, 0:1]], 1)
        q_z = torch.cat([z, -z], 1)
        if scale is None:
            off = F.interpolate(q_off, scale_factor=4.0, mode="bilinear", align_corners=False)
            zz = F.interpolate(q_z, scale_factor=4.0, mode="bilinear", align_corners=False)
        else:  # back to full resolution: flows in full-resolution pixels (scaled before the
            # upsample, on a sixteenth of the pixels: 1 ms less at 640x480, 1 thread)
            inv = 1.0 / scale.reshape(())
            off = Rescale.apply(q_off * inv, inv * 4.0)
            zz = Rescale.apply(q_z, inv * 4.0)
        weights = torch.sigmoid(zz)  # m, 1 - m
        if not aux:
            return warp_blend(img0, img1, off, weights).clamp(0.0, 1.0)
        w0, w1 = warp_pair(img0, img1, off)
        out = (weights[:, 0:1] * w0 + weights[:, 1:2] * w1).clamp(0.0, 1.0)
        return {"out": out, "d16": d16, "d8": d8, "ft0": ft0, "ft1": ft1, "mask": weights[:, 0:1], "w0": w0, "w1": w1}

    def adapt_state(self, sd: dict) -> tuple[dict, list[str]]:
        """A "cost"-form state dict made to fit this form: for "warp" the 1x1 squeeze of the 1/8
        decoder keeps the weights of its non-cost-volume inputs (the net starts as the old one with
        the cost volume zeroed: it is mean-subtracted, so zero is its neutral value); for "none"
        the 1/8 decoder's weights are dropped. Returns (state dict, what was changed)."""
        sd = dict(sd)
        notes = []
        if self.stage8 == "none":
            dropped = [k for k in sd if k.startswith(("dec8.", "proj8."))]
            for k in dropped:
                del sd[k]
            if dropped:
                notes.append(f"dropped {len(dropped)} 1/8-stage tensors")
        elif self.stage8 == "warp":
            k = "dec8.trunk.0.0.weight"
            n8 = (2 * self.R8 + 1) ** 2
            if k in sd and sd[k].shape[1] == self.dec8.trunk[0][0].in_channels + n8:
                sd[k] = sd[k][:, n8:].clone()
                notes.append(f"{k}: the {n8} cost-volume input channels removed")
            for k in [k for k in sd if k.startswith("proj8.")]:
                del sd[k]
        width = self.ref4[0][0].out_channels
        for i in (0, 1):  # narrower 1/4 refinement: keep the channels the next conv weighs most
            w, b, nxt = f"ref4.{i}.0.weight", f"ref4.{i}.0.bias", f"ref4.{i + 1}.0.weight"
            if w in sd and sd[w].shape[0] > width:
                keep = sd[nxt].pow(2).sum((0, 2, 3)).topk(width).indices.sort().values
                sd[w], sd[b], sd[nxt] = sd[w][keep].clone(), sd[b][keep].clone(), sd[nxt][:, keep].clone()
                notes.append(f"ref4.{i}: kept {width} of its channels")
        return sd, notes


def clamp_offsets(off: torch.Tensor) -> torch.Tensor:
    """off: [N,4,H,W] pixel offsets (y0, x0, y1, x1) of two backward warps. Clamped so that every
    sample point p + off lies inside the image (border padding, as warp() does)."""
    n, _, h, w = off.shape
    row = torch.ones_like(off[:, 0:1, 0:1, :])  # [N,1,1,W]
    col = torch.ones_like(off[:, 0:1, :, 0:1])  # [N,1,H,1]
    px = torch.cumsum(row, 3) - 1.0
    py = torch.cumsum(col, 2) - 1.0
    p = torch.cat([py.expand(-1, -1, -1, w), px.expand(-1, -1, h, -1)], 1).unsqueeze(1)  # [N,1,2,H,W]
    size = torch.cat([col.sum(2, keepdim=True), row.sum(3, keepdim=True)], 1).unsqueeze(1) - 1.0  # [N,1,2,1,1]
    o = torch.minimum(torch.maximum(off.reshape(n, 2, 2, h, w), -p), size - p)
    return o.reshape(n, 4, h, w)


def half(x: torch.Tensor) -> torch.Tensor:
    """2x2 mean (even H and W). Exported as a bilinear Resize by 0.5 (half-pixel: exactly the 2x2
    mean): onnxruntime 1.30 runs AveragePool-19 ~4x slower than AveragePool-11 (3.2 vs 0.6 ms on
    a 640x480 frame), and the model is opset 19 for its DeformConv."""
    if torch.onnx.is_in_onnx_export():
        return F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)
    return F.avg_pool2d(x, 2)


def warp2(x0: torch.Tensor, x1: torch.Tensor, f0: torch.Tensor, f1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(warp(x0, f0), warp(x1, f1)): two backward warps (flows (x, y) in pixels, border padding) on
    one pixel grid. Exported as one depthwise DeformConv (1x1 kernel, weight 1, two offset groups),
    which onnxruntime runs over all channels of both inputs at once."""
    if not torch.onnx.is_in_onnx_export():
        base = grid_base(f0)
        return warp(x0, f0, base), warp(x1, f1, base)
    off = clamp_offsets(torch.cat([f0[:, 1:2], f0[:, 0:1], f1[:, 1:2], f1[:, 0:1]], 1))
    c = int(x0.shape[1])  # static: the channel count is fixed by the architecture
    both = WarpDepthwise.apply(torch.cat([x0, x1], 1), off, 2 * c)
    return both[:, :c], both[:, c:]


class WarpDepthwise(torch.autograd.Function):
    """x [N,2C,H,W] (two stacked inputs), off (y0, x0, y1, x1) clamped: each half warped by its own
    offsets. ONNX: DeformConv with group = 2C, offset_group = 2, a ones [2C,1,1,1] weight."""

    @staticmethod
    def forward(ctx, x, off, channels):
        c = channels // 2
        return torch.cat(warp_pair(x[:, :c], x[:, c:], off), 1)

    @staticmethod
    def symbolic(g, x, off, c2):
        wt = g.op("Constant", value_t=torch.ones(c2, 1, 1, 1))
        bias = g.op("Constant", value_t=torch.zeros(c2))
        return g.op(f"{DEFERRED_DOMAIN}::DeformConv", x, wt, off, bias, kernel_shape_i=[1, 1], group_i=c2, offset_group_i=2)


def warp_pair(img0: torch.Tensor, img1: torch.Tensor, off: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both frames backward-warped by off = (y0, x0, y1, x1) pixel offsets (the training form)."""
    base = grid_base(img0)
    return warp(img0, off[:, [1, 0]], base), warp(img1, off[:, [3, 2]], base)


class WarpBlend(torch.autograd.Function):
    """out = m * warp(img0, off0) + (1 - m) * warp(img1, off1) exported as ONE DeformConv (opset 19):
    a 1x1 kernel, the six input channels in two offset groups (img0's with (y0, x0), img1's with
    (y1, x1)), the per-pixel weights (m, 1 - m) as its mask input, and a fixed [3,6,1,1] weight
    adding the two groups channel by channel. The offsets are clamped first (clamp_offsets), so
    the bilinear samples are those of the GridSample warp with border padding. onnxruntime's CPU
    DeformConv samples all six planes on both threads; its GridSample parallelises over the
    three channels of one warp only: the two 640x480 warps plus blend measured ~16 ms as one
    DeformConv against ~30 ms as two GridSamples (2 threads, session 6). The exporter knows no
    opset 19, so the node is written in the domain DEFERRED_DOMAIN and export.py moves it."""

    @staticmethod
    def forward(ctx, img0, img1, off, weights):
        return blend_pair(img0, img1, off, weights)

    @staticmethod
    def symbolic(g, img0, img1, off, weights):
        w = torch.zeros(3, 6, 1, 1)
        for c in range(3):
            w[c, c] = w[c, c + 3] = 1.0
        x = g.op("Concat", img0, img1, axis_i=1)
        wt = g.op("Constant", value_t=w)
        bias = g.op("Constant", value_t=torch.zeros(3))
        return g.op(f"{DEFERRED_DOMAIN}::DeformConv", x, wt, off, bias, weights, kernel_shape_i=[1, 1], offset_group_i=2)


DEFERRED_DOMAIN = "kiln_deferred"


def warp_blend(img0: torch.Tensor, img1: torch.Tensor, off: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """weights[:, 0] * warp(img0) + weights[:, 1] * warp(img1), off = (y0, x0, y1, x1) in pixels."""
    off = clamp_offsets(off)
    if torch.onnx.is_in_onnx_export():
        return WarpBlend.apply(img0, img1, off, weights)
    return blend_pair(img0, img1, off, weights)


def blend_pair(img0: torch.Tensor, img1: torch.Tensor, off: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    w0, w1 = warp_pair(img0, img1, off)
    return weights[:, 0:1] * w0 + weights[:, 1:2] * w1


class ExportWrapper(nn.Module):
    """ONNX entry point: (img0, img1, timestep) -> output, without the training extras."""

    def __init__(self, net: KilnVFI):
        super().__init__()
        self.net = net

    def forward(self, img0, img1, timestep, scale=None):
        return self.net(img0, img1, timestep, scale)


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def count_macs(net: KilnVFI, h: int = 480, w: int = 640) -> dict:
    """Multiply-accumulates of one forward pass (batch 1) by hooking every Conv2d, plus the
    cost volumes' MatMuls counted by hand. Also reports GridSample output elements per level."""
    macs = {"conv": 0}

    def hook(mod, inp, out):
        k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
        macs["conv"] += out.numel() * k

    hs = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv2d)]

    # heads() runs its convs as one F.conv2d, which no module hook sees: counted at the output of
    # the layer that feeds them
    def heads_hook(convs):
        def f(mod, inp, out):
            macs["conv"] += out.shape[0] * out.shape[2] * out.shape[3] * sum(c.out_channels * c.in_channels * c.kernel_size[0] * c.kernel_size[1] for c in convs)
        return f

    feeds = [(d.trunk, [d.flow, d.mask] + ([d.hidden[0]] if d.hidden is not None else [])) for d in (net.dec16, net.dec8) if d is not None]
    feeds.append((net.ref4, [net.ref4_flow, net.ref4_mask]))
    hs += [mod.register_forward_hook(heads_hook(convs)) for mod, convs in feeds]
    x = torch.zeros(1, 3, h, w)
    with torch.no_grad():
        net(x, x, torch.full((1, 1, 1, 1), 0.5))
    for hh in hs:
        hh.remove()
    # the cost volumes as the graph computes them: per row, row shift and block of B queries (a
    # whole row when B = 0), B x (B + 2r) products (correlation()), over the channels compared
    # (the projections' when present)
    def corr(r: int, c: int, hh: int, ww: int, block: int) -> int:
        bsz = block or ww
        wq = -(-ww // bsz) * bsz
        return hh * (2 * r + 1) * wq * (bsz + 2 * r) * c

    c16 = net.proj16.out_channels if net.proj16 is not None else 48
    c8 = net.proj8.out_channels if net.proj8 is not None else 24
    macs["correlation"] = corr(net.R16, c16, h // 16, w // 16, net.BLOCK16) + (corr(net.R8, c8, h // 8, w // 8, net.BLOCK8) if net.stage8 == "cost" else 0)
    macs["total"] = macs["conv"] + macs["correlation"]
    macs["gridsample_elements"] = {
        "1/8 features (2 x 24 ch)": 2 * 24 * (h // 8) * (w // 8),
        "1/4 images (2 x 3 ch)": 2 * 3 * (h // 4) * (w // 4),
        "full-res images (2 x 3 ch)": 2 * 3 * h * w,
    }
    return macs
