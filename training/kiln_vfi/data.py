"""Synthetic, video-like frame triplets with exact intermediate flow, made from still photos.

Each sample is (frame0, frame_t, frame1, t, flow_t->0, flow_t->1):

* a background layer under camera motion (translation, zoom, rotation) plus a smooth non-rigid
  wobble, and 0-3 foreground layers cut from other photos with soft, shaped mattes (blobs with
  feathered edges), each with its own motion -> occlusion and disocclusion;
* motion sizes as in video: many near-static samples, most motions a few pixels, a minority
  large (up to ~90 px at 192 px crops, i.e. >= 64 px at 480p scale);
* motion blur (each frame averages sub-frames over a random shutter), defocus blur, a small
  brightness drift, sensor noise, then an H.264 encode/decode through ffmpeg (yuv420p, random
  CRF per chunk) of all three frames;
* the ground-truth flows from time t to frames 0 and 1 are computed analytically from the layer
  motions and composited with the same mattes as frame t (stored at 1/4 resolution).

Shards are written by `python -m kiln_vfi.data gen ...` (a background producer) and read by the
trainer. Nothing here ever touches the real validation triplets.
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from .env import die, require_torch

torch = require_torch()
import torch.nn.functional as F  # noqa: E402

from . import photos as photo_list  # noqa: E402

SIZE = 192


def load_photos(paths: list[str], short: int = 640) -> list[torch.Tensor]:
    from PIL import Image

    out = []
    for p in photo_list.check(paths):
        im = Image.open(p).convert("RGB")
        w, h = im.size
        s = short / min(w, h)
        im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
        out.append(torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).float().div(255.0))
    return out


def _logu(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _motion_mag(rng: np.random.Generator, large_p: float) -> float:
    u = rng.random()
    if u < 0.15:
        return 0.0
    if u < 0.15 + large_p:
        return _logu(rng, 6.0, 90.0)
    return _logu(rng, 0.25, 6.0)


class Layer:
    """x(tau) = s(tau) R(theta(tau)) (q - q0) + o + tau*v  (+ tau*wobble(x)), q in photo pixels."""

    def __init__(self, rng, photo: torch.Tensor, size: int, fg: bool, base=None, nonrigid: float = 0.0):
        self.photo = photo
        H, W = photo.shape[1:]
        self.s0 = _logu(rng, 0.6, 1.5)
        self.logz = float(rng.normal(0, 0.04)) if rng.random() < 0.5 else 0.0
        self.th0 = float(rng.uniform(-0.2, 0.2)) if fg else 0.0
        self.om = float(rng.normal(0, 0.035)) if rng.random() < 0.3 else 0.0
        mag = _motion_mag(rng, 0.45 if fg else 0.3)
        ang = rng.uniform(0, 2 * math.pi)
        self.v = np.array([mag * math.cos(ang), mag * math.sin(ang)])
        if base is not None:  # foreground rides on the camera motion plus its own
            self.v = self.v + 0.6 * base.v
        c = size / 2.0
        if fg:
            self.o = np.array([rng.uniform(0, size), rng.uniform(0, size)]) - self.v / 2
        else:
            self.o = np.array([c, c]) - self.v / 2
        # choose q0 so the sampled region stays inside the photo where possible
        reach = (size * 0.75 + np.abs(self.v).max()) / self.s0 + 4
        lo_x, hi_x = reach, W - reach
        lo_y, hi_y = reach, H - reach
        qx = rng.uniform(lo_x, hi_x) if hi_x > lo_x else W / 2
        qy = rng.uniform(lo_y, hi_y) if hi_y > lo_y else H / 2
        self.q0 = np.array([qx, qy])
        # shaped soft matte (foreground): r(phi) = r0 (1 + sum a_k cos(k phi + p_k))
        if fg:
            self.r0 = rng.uniform(0.08, 0.38) * size / self.s0
            k = np.arange(1, 6)
            self.ak = rng.normal(0, 0.22, 5) / k
            self.pk = rng.uniform(0, 2 * math.pi, 5)
            self.soft = _logu(rng, 0.4, 4.0) / self.s0
            self.aspect = _logu(rng, 0.5, 2.0)
        # smooth non-rigid wobble (full-res pixels over the whole interval)
        amp = rng.uniform(0, 2.5) if rng.random() < 0.6 else 0.0
        self.wob = torch.from_numpy(rng.normal(0, 1, (1, 2, 4, 4)).astype(np.float32)) * amp
        # with probability `nonrigid`: a strong, finer deformation instead (bodies, water, cloth):
        # 2-12 px per control point on a 3-8 cell grid. Drawn only when asked, so the default
        # keeps the random stream (and the shards) of the earlier runs.
        if nonrigid > 0 and rng.random() < nonrigid:
            g = int(rng.choice([3, 4, 6, 8]))
            self.wob = torch.from_numpy(rng.normal(0, 1, (1, 2, g, g)).astype(np.float32)) * _logu(rng, 2.0, 12.0)

    def hold(self) -> None:
        """No motion at all: no pan, zoom, rotation or wobble."""
        self.v, self.om, self.logz, self.wob = np.zeros(2), 0.0, 0.0, self.wob * 0.0

    def mat(self, tau: float) -> np.ndarray:
        s = self.s0 * math.exp(self.logz * tau)
        th = self.th0 + self.om * tau
        return s * np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])

    def fwd(self, tau: float, q: torch.Tensor) -> torch.Tensor:
        """photo coords q [...,2] -> output coords at tau (without wobble)."""
        m = torch.from_numpy(self.mat(tau)).float()
        off = torch.from_numpy(self.o + tau * self.v).float()
        return (q - torch.from_numpy(self.q0).float()) @ m.T + off

    def inv(self, tau: float, x: torch.Tensor) -> torch.Tensor:
        m = torch.from_numpy(np.linalg.inv(self.mat(tau))).float()
        off = torch.from_numpy(self.o + tau * self.v).float()
        return (x - off) @ m.T + torch.from_numpy(self.q0).float()

    def wobble(self, size: int) -> torch.Tensor:
        return F.interpolate(self.wob, size=(size, size), mode="bicubic", align_corners=True)[0].permute(1, 2, 0)

    def alpha(self, q: torch.Tensor) -> torch.Tensor:
        if not hasattr(self, "r0"):
            return torch.ones(q.shape[:-1])
        d = q - torch.from_numpy(self.q0).float()
        dx, dy = d[..., 0] * self.aspect ** 0.5, d[..., 1] / self.aspect ** 0.5
        r = torch.sqrt(dx * dx + dy * dy + 1e-6)
        phi = torch.atan2(dy, dx)
        R = torch.ones_like(r)
        for k in range(5):
            R = R + float(self.ak[k]) * torch.cos((k + 1) * phi + float(self.pk[k]))
        return torch.sigmoid((self.r0 * R - r) / self.soft)

    def sample(self, q: torch.Tensor) -> torch.Tensor:
        H, W = self.photo.shape[1:]
        g = torch.stack([q[..., 0] / (W - 1) * 2 - 1, q[..., 1] / (H - 1) * 2 - 1], -1)[None]
        return F.grid_sample(self.photo[None], g, mode="bilinear", padding_mode="reflection", align_corners=True)[0]


def _grid(size: int) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    return torch.stack([xs, ys], -1)


def _gauss_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma < 0.2:
        return x
    r = max(1, int(math.ceil(2.5 * sigma)))
    k = torch.exp(-(torch.arange(-r, r + 1).float() ** 2) / (2 * sigma * sigma))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, [r, r, 0, 0], mode="replicate"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    x = F.conv2d(F.pad(x, [0, 0, r, r], mode="replicate"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    return x


def _solve_wobble(base: torch.Tensor, w: torch.Tensor, iters: int = 6) -> torch.Tensor:
    """Where a point lands at tau = 1: the Y with Y = base + w(Y) (render's mapping evaluates the
    wobble w [S,S,2] at the output position). Fixed-point iteration, from Y = base + w(base-grid
    position); converges while the wobble's gradient is below 1 (it is far below for these fields)."""
    if not bool(w.any()):  # no wobble (most layers): the point lands at base
        return base
    size = w.shape[0]
    field = w.permute(2, 0, 1)[None]
    y = base + w
    for _ in range(iters):
        g = (y / (size - 1) * 2 - 1)[None]
        y = base + F.grid_sample(field, g, mode="bilinear", padding_mode="border", align_corners=True)[0].permute(1, 2, 0)
    return y


def make_sample(rng: np.random.Generator, photos: list[torch.Tensor], size: int = SIZE, force: dict | None = None,
                nonrigid: float = 0.0, static_bg: float = 0.0):
    """One triplet before compression: frames float [3,3,S,S] in [0,1], t, flows [4,S,S].

    nonrigid: the probability that a layer gets a strong non-rigid deformation (Layer).
    static_bg: the probability of a locked-off camera: the background does not move at all (no
    pan, zoom, rotation or wobble) while the foreground layers keep their own motion. Real footage
    (the dev set's lectures, gyms) is full of it; a flow that is not exactly zero there blurs
    static detail such as writing.

    force (figures and tests): {"t": .., "bg": (vx, vy), "fg": [(vx, vy), ...]} fixes t and the
    layer velocities (output pixels over the interval).
    """
    t = 0.5 if rng.random() < 0.35 else float(rng.uniform(0.05, 0.95))
    bg = Layer(rng, photos[rng.integers(len(photos))], size, fg=False, nonrigid=nonrigid)
    if static_bg > 0 and not force and rng.random() < static_bg:  # drawn only when asked (keeps the stream)
        bg.hold()
        bg.o = np.array([size / 2.0, size / 2.0])
    layers = [bg]
    nfg = rng.choice([0, 1, 2, 3], p=[0.25, 0.4, 0.25, 0.1])
    if force:
        nfg = len(force["fg"])
    for _ in range(nfg):
        layers.append(Layer(rng, photos[rng.integers(len(photos))], size, fg=True, base=bg, nonrigid=nonrigid))
    if not force and rng.random() < 0.2:  # a static shot: only noise and compression differ
        for L in layers:
            L.hold()
    if force:
        t = force["t"]
        for L, v in zip(layers, [force["bg"]] + list(force["fg"])):
            v = np.array(v, float)
            L.o = L.o + (L.v - v) / 2 if L is not bg else np.array([size / 2.0, size / 2.0]) - v / 2
            L.v = v
            L.om, L.logz = 0.0, L.logz * 0.5
    X = _grid(size)
    shutter = rng.uniform(0, 0.3) if rng.random() < 0.7 else 0.0
    nsub = 5 if shutter > 0.02 else 1
    wobs = [L.wobble(size) for L in layers]

    def render(tau: float):
        acc = torch.zeros(3, size, size)
        for j in range(nsub):
            tj = tau + (shutter * (j / (nsub - 1) - 0.5) if nsub > 1 else 0.0)
            img = torch.zeros(3, size, size)
            for L, w in zip(layers, wobs):
                q = L.inv(tj, X - tj * w)
                a = L.alpha(q)[None]
                img = img * (1 - a) + L.sample(q) * a
            acc += img
        return acc / nsub

    frames = [render(0.0), render(t), render(1.0)]
    # ground-truth flows at time t, composited like frame t
    flow = torch.zeros(4, size, size)
    for L, w in zip(layers, wobs):
        q = L.inv(t, X - t * w)
        a = L.alpha(q)[None]
        f0 = (L.fwd(0.0, q) - X).permute(2, 0, 1)
        f1 = (_solve_wobble(L.fwd(1.0, q), w) - X).permute(2, 0, 1)
        flow = flow * (1 - a) + torch.cat([f0, f1], 0) * a
    x = torch.stack(frames, 0)
    # video-like degradations: brightness drift, defocus, noise (compression comes later)
    gain0, gain1 = 1 + rng.normal(0, 0.03), 1 + rng.normal(0, 0.03)
    gains = torch.tensor([gain0, gain0 + t * (gain1 - gain0), gain1]).float().view(3, 1, 1, 1)
    x = x * gains
    x = _gauss_blur(x, float(rng.uniform(0, 1.1)) if rng.random() < 0.6 else 0.0)
    nz = float(rng.uniform(0, 0.015)) if rng.random() < 0.7 else 0.0
    x = x + torch.randn(x.shape, generator=torch.Generator().manual_seed(int(rng.integers(2**31)))) * nz
    return x.clamp(0, 1), t, flow


def h264_roundtrip(frames_u8: np.ndarray, crf: int, tmpdir: str) -> np.ndarray:
    """frames [K,S,S,3] uint8 -> the same frames after libx264 (yuv420p) encode + decode."""
    k, h, w, _ = frames_u8.shape
    path = os.path.join(tmpdir, "chunk.mp4")
    enc = [
        "ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", "25",
        "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
        "-threads", "1", "-bf", "0", "-g", "12", path,
    ]
    subprocess.run(enc, input=frames_u8.tobytes(), check=True)
    dec = ["ffmpeg", "-v", "error", "-threads", "1", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(dec, check=True, capture_output=True).stdout
    out = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
    if out.shape[0] != k:
        raise RuntimeError(f"h264 roundtrip returned {out.shape[0]} frames, expected {k}")
    return out


def make_shard(rng: np.random.Generator, photos, n: int, size: int = SIZE, chunk: int = 32, nonrigid: float = 0.0,
               static_bg: float = 0.0):
    frames = np.zeros((n, 3, size, size, 3), np.uint8)
    ts = np.zeros(n, np.float32)
    flows = np.zeros((n, 4, size // 4, size // 4), np.float16)
    with tempfile.TemporaryDirectory() as td:
        for c0 in range(0, n, chunk):
            m = min(chunk, n - c0)
            clip = np.zeros((m, 3, size, size, 3), np.uint8)
            for i in range(m):
                x, t, fl = make_sample(rng, photos, size, nonrigid=nonrigid, static_bg=static_bg)
                clip[i] = (x.permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8)
                ts[c0 + i] = t
                flows[c0 + i] = F.avg_pool2d(fl[None], 4)[0].numpy().astype(np.float16)
            crf = int(rng.integers(16, 33))
            frames[c0 : c0 + m] = h264_roundtrip(clip.reshape(-1, size, size, 3), crf, td).reshape(m, 3, size, size, 3)
    return {"frames": frames, "t": ts, "flow": flows}


def save_shard(path: str, shard: dict) -> None:
    tmp = path + ".tmp.npz"
    np.savez(tmp, **shard)
    os.replace(tmp, path)


def generate(out: str, shards: int, per_shard: int, seed: int, heldout: bool, loop: bool, pause: float = 0.0,
             nonrigid: float = 0.0, static_bg: float = 0.0) -> None:
    photos = load_photos(photo_list.HELDOUT if heldout else photo_list.TRAIN)
    os.makedirs(out, exist_ok=True)
    k = 0
    while True:
        for i in range(shards):
            path = os.path.join(out, f"shard_{i:04d}.npz")
            if k == 0 and os.path.exists(path):
                continue  # first pass fills gaps only (resumable producer)
            rng = np.random.default_rng([seed, k, i])
            t0 = time.time()
            save_shard(path, make_shard(rng, photos, per_shard, nonrigid=nonrigid, static_bg=static_bg))
            print(f"{time.strftime('%H:%M:%S')} wrote {path} pass {k} in {time.time() - t0:.1f}s", flush=True)
            if k > 0 and pause > 0:
                time.sleep(pause)  # later passes only refresh variety; leave the CPU to training
        k += 1
        if not loop:
            break


def list_shards(d: str) -> list[str]:
    return sorted(glob.glob(os.path.join(d, "shard_*.npz")))


def load_shard(path: str) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def to_tensors(frames: np.ndarray, t: np.ndarray, flow: np.ndarray):
    """uint8 [B,3,S,S,3], [B], f16 [B,4,s,s] -> img0, gt, img1 float [B,3,S,S], t [B,1,1,1], flow."""
    x = torch.from_numpy(frames).float().div(255.0).permute(0, 1, 4, 2, 3)
    return x[:, 0], x[:, 1], x[:, 2], torch.from_numpy(t).float().view(-1, 1, 1, 1), torch.from_numpy(flow.astype(np.float32))


def augment(rng: np.random.Generator, frames: np.ndarray, t: float, flow: np.ndarray, crop: int):
    """Random crop (offset on the 4-px flow grid), flips and temporal reversal, labels kept exact."""
    s = frames.shape[2]
    ox = int(rng.integers(0, (s - crop) // 4 + 1)) * 4
    oy = int(rng.integers(0, (s - crop) // 4 + 1)) * 4
    fr = frames[:, oy : oy + crop, ox : ox + crop]
    fl = flow[:, oy // 4 : (oy + crop) // 4, ox // 4 : (ox + crop) // 4].astype(np.float32)
    if rng.random() < 0.5:  # horizontal flip
        fr = fr[:, :, ::-1]
        fl = fl[:, :, ::-1] * np.array([-1, 1, -1, 1], np.float32)[:, None, None]
    if rng.random() < 0.5:  # vertical flip
        fr = fr[:, ::-1]
        fl = fl[:, ::-1] * np.array([1, -1, 1, -1], np.float32)[:, None, None]
    if rng.random() < 0.5:  # temporal reversal: frame1 becomes frame0, t -> 1-t, flows swap
        fr = fr[::-1]
        t = 1.0 - t
        fl = fl[[2, 3, 0, 1]]
    return np.ascontiguousarray(fr), t, np.ascontiguousarray(fl)


def main(argv=None):
    ap = argparse.ArgumentParser(description="generate synthetic VFI shards")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--out", required=True)
    g.add_argument("--shards", type=int, default=80)
    g.add_argument("--per-shard", type=int, default=128)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--heldout", action="store_true", help="use the held-out photos (validation set)")
    g.add_argument("--loop", action="store_true", help="keep regenerating shards in rotation")
    g.add_argument("--threads", type=int, default=1)
    g.add_argument("--pause", type=float, default=0.0, help="seconds to sleep after each shard on passes after the first")
    g.add_argument("--nonrigid", type=float, default=0.0,
                   help="probability that a layer gets a strong non-rigid deformation (0 = the recipe of runs 1-6)")
    g.add_argument("--static-bg", type=float, default=0.0,
                   help="probability of a locked-off camera (static background, moving foreground; 0 = runs 1-6)")
    a = ap.parse_args(argv)
    for flag, v in (("--nonrigid", a.nonrigid), ("--static-bg", a.static_bg)):
        if not 0.0 <= v <= 1.0:
            die(f"{flag} must be a probability in [0, 1], not {v}")
    torch.set_num_threads(a.threads)
    if subprocess.run(["which", "ffmpeg"], capture_output=True).returncode != 0:
        die("ffmpeg is missing (needed for the H.264 degradation).\n  install: apt-get install -y ffmpeg")
    generate(a.out, a.shards, a.per_shard, a.seed, a.heldout, a.loop, a.pause, a.nonrigid, a.static_bg)


if __name__ == "__main__":
    sys.exit(main())
