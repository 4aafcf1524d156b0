"""Resumable training of kiln-vfi on the synthetic shards (2 CPU cores, hours, in the background).

    nice -n 15 /usr/bin/python3 -m kiln_vfi.train --ckpt-dir checkpoints --log logs/train.log

* resumes from <ckpt-dir>/last.pt, else from <ckpt-dir>/best.pt, else starts fresh (seeded);
  a checkpoint that exists but does not load is reported and the run stops (exit 3);
* validates at step 0 (must equal frame blending: heads start at zero) and every --val-every
  steps on the fixed held-out synthetic set; best.pt is kept by that score, never by the real
  dev triplets, whose score is only printed for monitoring;
* writes last.pt every --save-min minutes (atomic rename).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time

import numpy as np

from .env import die, require_torch

torch = require_torch()
import torch.nn.functional as F  # noqa: E402

from . import data, metrics  # noqa: E402
from .model import KilnVFI, count_params  # noqa: E402


def log(fh, msg: str) -> None:
    line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
    print(line, flush=True)
    if fh:
        fh.write(line + "\n")
        fh.flush()


# ---------------------------------------------------------------- losses
def charbonnier(x: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    return torch.sqrt(x * x + eps * eps).mean()


def _gauss_down(x: torch.Tensor) -> torch.Tensor:
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
    k = (k[:, None] * k[None, :]).view(1, 1, 5, 5).repeat(x.shape[1], 1, 1, 1)
    return F.conv2d(F.pad(x, [2, 2, 2, 2], mode="replicate"), k, groups=x.shape[1])


def lap_loss(out: torch.Tensor, gt: torch.Tensor, levels: int = 4) -> torch.Tensor:
    """Multi-scale loss: L1 between Laplacian pyramids (each band and the low-pass residual,
    equal weights). Much cheaper on CPU than a 7x7 census."""
    loss = out.new_zeros(())
    a, b = out, gt
    for i in range(levels):
        da, db = _gauss_down(a), _gauss_down(b)
        loss = loss + ((a - da) - (b - db)).abs().mean()
        a, b = F.avg_pool2d(da, 2), F.avg_pool2d(db, 2)
    return loss + (a - b).abs().mean()


def flow_loss(pred: dict, gt_flow: torch.Tensor) -> torch.Tensor:
    """L1 (full-res pixels) on the 1/4 flows and on the trajectory field D at 1/8 and 1/16."""
    l = (pred["ft0"] - gt_flow[:, 0:2]).abs().mean() + (pred["ft1"] - gt_flow[:, 2:4]).abs().mean()
    d = gt_flow[:, 2:4] - gt_flow[:, 0:2]
    l = l + (pred["d8"] - F.avg_pool2d(d, 2)).abs().mean()
    l = l + (pred["d16"] - F.avg_pool2d(d, 4)).abs().mean()
    return l


# ---------------------------------------------------------------- data feeding
class Feeder:
    """A pool of loaded shards, refreshed one shard at a time as the producer writes new ones."""

    def __init__(self, d: str, rng: np.random.Generator, pool: int, min_shards: int, fh):
        self.d, self.rng, self.size = d, rng, pool
        waited = 0
        while len(data.list_shards(d)) < min_shards:
            if waited % 60 == 0:
                log(fh, f"waiting for >= {min_shards} shards in {d} (have {len(data.list_shards(d))})")
            time.sleep(5)
            waited += 5
        self.pool = [self._load_random() for _ in range(pool)]

    def _load_random(self):
        for _ in range(5):
            files = data.list_shards(self.d)
            p = files[int(self.rng.integers(len(files)))]
            try:
                return data.load_shard(p)
            except Exception:  # being rewritten by the producer; pick another
                time.sleep(1)
        raise RuntimeError(f"could not read any shard in {self.d}")

    def refresh(self):
        self.pool[int(self.rng.integers(len(self.pool)))] = self._load_random()

    def batch(self, b: int, crop: int, static_p: float = 0.0):
        fr, ts, fl = [], [], []
        for _ in range(b):
            s = self.pool[int(self.rng.integers(len(self.pool)))]
            i = int(self.rng.integers(len(s["t"])))
            f, t, w = data.augment(self.rng, s["frames"][i], float(s["t"][i]), s["flow"][i], crop)
            if self.rng.random() < static_p:
                # a static shot made on the fly: one (compressed) frame three times, each with its
                # own sensor noise, zero flow. Run 2 at step 1000 drew ~1 px of spurious flow on
                # the static real triplets and lost 4-7 dB there.
                sigma = self.rng.uniform(0.0, 3.0)
                base = f[int(self.rng.integers(3))].astype(np.float32)
                f = np.stack([np.clip(base + self.rng.normal(0, sigma, base.shape), 0, 255) for _ in range(3)]).round().astype(np.uint8)
                w = np.zeros_like(w)
            fr.append(f)
            ts.append(t)
            fl.append(w)
        return data.to_tensors(np.stack(fr), np.array(ts, np.float32), np.stack(fl))


def val_fingerprint(val) -> str:
    """sha1 of the validation frames: best-so-far scores are only comparable on the same set."""
    import hashlib

    h = hashlib.sha1()
    for x in val[:4]:
        h.update(x.numpy().tobytes())
    return h.hexdigest()[:16]


def load_val(d: str):
    files = data.list_shards(d)
    if not files:
        die(f"no validation shards in {d}; make them with:\n  {sys.executable} -m kiln_vfi.data gen --out {d} --shards 2 --per-shard 128 --seed 777 --heldout")
    sh = [data.load_shard(p) for p in files]
    return data.to_tensors(
        np.concatenate([s["frames"] for s in sh]), np.concatenate([s["t"] for s in sh]), np.concatenate([s["flow"] for s in sh])
    )


def lowres(*xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Frames at half size (2x2 means): content at twice the pixel scale of the photos, as in
    small video. The net then runs at motion scale 2 (`kiln interpolate --scale auto` on 240p),
    so its flows keep the full-size labels' resolution and units (flow_loss applies unchanged)."""
    return tuple(F.avg_pool2d(x, 2) for x in xs)


LOWRES_SCALE = torch.tensor([2.0])


@torch.no_grad()
def score_val(net, val, bs: int = 16, low: bool = False) -> dict:
    """PSNR on the synthetic val set; low: on its frames at half size, motion at scale 2."""
    i0, gt, i1, t, _ = val
    if low:
        i0, gt, i1 = lowres(i0, gt, i1)
    ps = []
    for k in range(0, len(t), bs):
        out = net(i0[k : k + bs], i1[k : k + bs], t[k : k + bs], LOWRES_SCALE if low else None)
        ps.append(metrics.psnr_u8(out, gt[k : k + bs]))
    ps = torch.cat(ps)
    half = (t.view(-1) - 0.5).abs() < 1e-6
    return {"psnr": ps.mean().item(), "psnr_t05": ps[half].mean().item() if half.any() else float("nan")}


# ---------------------------------------------------------------- checkpoints
def save_ckpt(path: str, state: dict) -> None:
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_ckpt(path: str) -> dict:
    try:
        st = torch.load(path, map_location="cpu")
        if not isinstance(st, dict) or "model" not in st or "step" not in st:
            raise ValueError("not a kiln-vfi checkpoint (no 'model'/'step' keys)")
        return st
    except Exception as e:  # report, never silently restart
        print(
            f"kiln-vfi: checkpoint {path} is corrupt or unreadable: {e}\n"
            "  not starting over on my own: move it away (or pass --fresh) to start a new run.",
            file=sys.stderr,
        )
        sys.exit(3)


def lr_at(step: int, a) -> float:
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    p = min(1.0, (step - a.warmup) / max(1, a.total_steps - a.warmup))
    return a.lr_min + 0.5 * (a.lr - a.lr_min) * (1 + math.cos(math.pi * p))


def init_from(net: KilnVFI, path: str) -> list[str]:
    """Loads a checkpoint's weights into a (possibly larger) net. Keys the checkpoint lacks keep
    their init and are returned; keys the net lacks, or a shape that differs, are an error."""
    sd, notes = net.adapt_state(load_ckpt(path)["model"])
    for n in notes:
        print(f"--init {path}: {n}", flush=True)
    own = net.state_dict()
    extra = [k for k in sd if k not in own]
    shape = [k for k in sd if k in own and sd[k].shape != own[k].shape]
    if extra or shape:
        raise SystemExit(f"--init {path}: does not fit this net: unexpected {extra[:5]}, shape mismatch {shape[:5]}")
    missing = net.load_state_dict(sd, strict=False).missing_keys
    return sorted(missing)


def main(argv=None):
    ap = argparse.ArgumentParser(description="train kiln-vfi")
    ap.add_argument("--cache", default="cache/train")
    ap.add_argument("--val", default="cache/val")
    ap.add_argument("--ckpt-dir", default="checkpoints")
    ap.add_argument("--log", default="logs/train.log")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=160)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--lr-min", type=float, default=2e-5)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--total-steps", type=int, default=20000)
    ap.add_argument("--flow-w", type=float, default=0.01, help="flow supervision weight at step 0")
    ap.add_argument("--flow-decay", type=float, default=8000, help="steps for the flow weight to fall by e")
    ap.add_argument("--lap-w", type=float, default=1.0)
    ap.add_argument("--val-every", type=int, default=1000)
    ap.add_argument("--save-min", type=float, default=4.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps in this process (smoke tests)")
    ap.add_argument("--fresh", action="store_true", help="ignore existing checkpoints (start a new run)")
    ap.add_argument("--proj16", type=int, default=0, help="new run: 1x1 projection to N channels before the 1/16 cost volume (0 = none)")
    ap.add_argument("--proj8", type=int, default=0, help="new run: the same before the 1/8 cost volume")
    ap.add_argument("--stage8", choices=["cost", "warp", "none"], default="cost", help="new run: the 1/8 stage's form (model.KilnVFI)")
    ap.add_argument("--ref4", type=int, default=24, help="new run: width of the 1/4 refinement's first two convs (model.KilnVFI)")
    ap.add_argument("--init", help="new run: start from this checkpoint's weights (layers it lacks keep their init)")
    ap.add_argument("--min-shards", type=int, default=8)
    ap.add_argument("--pool", type=int, default=8)
    ap.add_argument("--static-p", type=float, default=0.15, help="share of on-the-fly static triplets per batch")
    ap.add_argument("--lowres", type=float, default=0.0,
                    help="share of batches run at half size with motion scale 2 (train.lowres); > 0 also selects"
                         " checkpoints by the mean of the val PSNR at full size and at half size / scale 2")
    a = ap.parse_args(argv)

    torch.set_num_threads(a.threads)
    os.makedirs(a.ckpt_dir, exist_ok=True)
    os.makedirs(os.path.dirname(a.log) or ".", exist_ok=True)
    fh = open(a.log, "a")

    step, best, best_step = 0, -1.0, -1
    last_p, best_p = os.path.join(a.ckpt_dir, "last.pt"), os.path.join(a.ckpt_dir, "best.pt")
    src = None if a.fresh else (last_p if os.path.exists(last_p) else best_p if os.path.exists(best_p) else None)
    st = load_ckpt(src) if src else None
    # A resumed run keeps its checkpoint's form; a new one takes it from the arguments.
    net = KilnVFI(**st.get("config", {})) if st else KilnVFI(proj16=a.proj16, proj8=a.proj8, stage8=a.stage8, ref4=a.ref4)
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=1e-4)
    rng = np.random.default_rng(a.seed)
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    if st:
        net.load_state_dict(st["model"])
        if "opt" in st:
            opt.load_state_dict(st["opt"])
        step, best, best_step = st["step"], st.get("best", -1.0), st.get("best_step", -1)
        if "np_rng" in st:
            rng.bit_generator.state = st["np_rng"]
        if "torch_rng" in st:
            torch.set_rng_state(st["torch_rng"])
        log(fh, f"resumed from {src} at step {step} (best val {best:.3f} dB at step {best_step})")
    else:
        log(fh, f"fresh run, seed {a.seed}, {count_params(net)} parameters, form {net.config}")
        if a.init:
            new_keys = init_from(net, a.init)
            log(fh, f"weights from {a.init} (step {load_ckpt(a.init)['step']}); new layers left at their init: {', '.join(new_keys) or 'none'}")
    log(fh, "args " + " ".join(f"{k}={v}" for k, v in vars(a).items()))

    val = load_val(a.val)
    val_fp = val_fingerprint(val)

    def val_scores(m: KilnVFI) -> tuple[dict, float | None, float]:
        """(full-size scores, half-size / scale-2 PSNR or None, the selection metric): val PSNR,
        with --lowres the mean of it at full size and at half size / motion scale 2."""
        v = score_val(m, val)
        lo = score_val(m, val, low=True)["psnr"] if a.lowres > 0 else None
        return v, lo, v["psnr"] if lo is None else (v["psnr"] + lo) / 2

    if src and st.get("val_fp") != val_fp and os.path.exists(best_p):
        # the val set was regenerated (or the checkpoint predates fingerprints): re-score the
        # best checkpoint on this set so "best" keeps meaning best on the set in use
        ref_st = load_ckpt(best_p)
        ref = KilnVFI(**ref_st.get("config", {}))
        ref.load_state_dict(ref_st["model"])
        ref.eval()
        old = best
        best = val_scores(ref)[2]
        log(fh, f"val set {val_fp} differs from the checkpoint's ({st.get('val_fp')}): best.pt re-scored {old:.3f} -> {best:.3f} dB")
    log(fh, f"val set fingerprint {val_fp}")
    dev = metrics.load_dev()
    if dev is None:
        log(fh, f"real dev triplets not found at {metrics.DEV_DIR}; dev score skipped")

    def validate():
        net.eval()
        v, lo, sel = val_scores(net)
        msg = f"VAL step {step} synth {v['psnr']:.3f} dB (t=0.5: {v['psnr_t05']:.3f})"
        if lo is not None:
            msg += f" half-size/scale 2 {lo:.3f} dB, selection mean {sel:.3f}"
        if dev is not None:
            d = metrics.score_dev(net, dev)
            msg += f" | dev(monitor only) {d['psnr']:.3f} dB IE {d['ie']:.3f} SSIM {d['ssim']:.4f}"
            if a.lowres > 0:
                d2 = metrics.score_dev(lambda x, y, tt: net(x, y, tt, LOWRES_SCALE), dev, multiple=8)
                msg += f", at scale 2 {d2['psnr']:.3f} dB"
        net.train()
        return sel, msg

    def state():
        return {
            "model": net.state_dict(), "opt": opt.state_dict(), "step": step, "best": best, "best_step": best_step,
            "np_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "args": vars(a), "val_fp": val_fp, "config": net.config,
        }

    if step == 0:
        i0, gt, i1, t, _ = val
        blend = metrics.psnr_u8((1 - t) * i0 + t * i1, gt).mean().item()
        v, msg = validate()
        log(fh, msg + f" | linear blend on synth {blend:.3f} dB (step 0 must match)")
        best, best_step = v, 0
        save_ckpt(best_p, state())

    feeder = Feeder(a.cache, rng, a.pool, a.min_shards, fh)
    net.train()
    t_save = time.time()
    t_log, n_log, acc = time.time(), 0, np.zeros(4)
    start_step = step
    while True:
        if a.max_steps and step - start_step >= a.max_steps:
            break
        lr = lr_at(step, a)
        for g in opt.param_groups:
            g["lr"] = lr
        i0, gt, i1, t, fl = feeder.batch(a.batch, a.crop, a.static_p)
        low = a.lowres > 0 and rng.random() < a.lowres
        if low:
            i0, gt, i1 = lowres(i0, gt, i1)
        pred = net(i0, i1, t, LOWRES_SCALE if low else None, aux=True)
        l_img = charbonnier(pred["out"] - gt)
        l_cen = lap_loss(pred["out"], gt)
        fw = a.flow_w * math.exp(-step / a.flow_decay)
        l_flow = flow_loss(pred, fl)
        loss = l_img + a.lap_w * l_cen + fw * l_flow
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        step += 1
        acc += [loss.item(), l_img.item(), l_cen.item(), l_flow.item()]
        n_log += 1
        if step % 100 == 0:
            feeder.refresh()
            m = acc / n_log
            log(fh, f"step {step} lr {lr:.2e} loss {m[0]:.4f} l1 {m[1]:.4f} lap {m[2]:.4f} flow {m[3]:.2f}px "
                f"fw {fw:.4f} {(time.time() - t_log) / n_log:.3f}s/it")
            t_log, n_log, acc = time.time(), 0, np.zeros(4)
        if step % a.val_every == 0:
            v, msg = validate()
            if v > best:
                best, best_step = v, step
                save_ckpt(best_p, state())
                msg += "  [new best]"
            log(fh, msg)
            save_ckpt(last_p, state())
            t_save = time.time()
        elif time.time() - t_save > a.save_min * 60:
            save_ckpt(last_p, state())
            t_save = time.time()
    save_ckpt(last_p, state())
    log(fh, f"stopped at step {step}; best val {best:.3f} dB at step {best_step}")


if __name__ == "__main__":
    sys.exit(main())
