"""Side-by-side PNG of a large-motion synthetic example (held-out photos, never trained on).

    /usr/bin/python3 -m kiln_vfi.figure --ckpt checkpoints/best.pt --out ../models/large-motion.png

Panels: frame 0 | frame 1 | frame average | kiln-vfi at t=0.5 | ground truth, with PSNRs.
The camera pans 40 px and a foreground object moves 64 px against it (at 320x320).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .env import require_torch

torch = require_torch()

from . import data, metrics  # noqa: E402
from . import photos as photo_list  # noqa: E402
from .export import load_net  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default="checkpoints/best.pt")
    ap.add_argument("--out", default="../models/large-motion.png")
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args(argv)
    from PIL import Image, ImageDraw

    torch.set_num_threads(2)
    net, st = load_net(a.ckpt)
    photos = data.load_photos(photo_list.HELDOUT)
    rng = np.random.default_rng(a.seed)
    size = 320
    x, t, _ = data.make_sample(rng, photos, size, force={"t": 0.5, "bg": (-40.0, 6.0), "fg": [(64.0, -10.0)]})
    q = lambda z: torch.from_numpy((z.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))  # noqa: E731
    f0, gt, f1 = [q(x[i]).permute(2, 0, 1).float().div(255)[None] for i in range(3)]
    with torch.no_grad():
        out = net(f0, f1, torch.full((1, 1, 1, 1), 0.5))
    avg = (f0 + f1) / 2
    panels = [(f0, "frame 0"), (f1, "frame 1"), (avg, "average %.2f dB" % metrics.psnr_u8(avg, gt).item()),
              (out, "kiln-vfi %.2f dB" % metrics.psnr_u8(out, gt).item()), (gt, "ground truth (t=0.5)")]
    W = size * len(panels)
    canvas = Image.new("RGB", (W, size + 22), "white")
    d = ImageDraw.Draw(canvas)
    for i, (im, label) in enumerate(panels):
        arr = (im[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
        canvas.paste(Image.fromarray(arr), (i * size, 22))
        d.text((i * size + 6, 5), label, fill="black")
    canvas.save(a.out, optimize=True)
    print(f"wrote {a.out} (checkpoint step {st['step']}): " + ", ".join(l for _, l in panels[2:4]))


if __name__ == "__main__":
    sys.exit(main())
