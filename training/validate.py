"""Score kiln-vfi on the real dev triplets (../shared/data/vfi-dev) and the synthetic val set.

    /usr/bin/python3 training/validate.py [--model training/checkpoints/best.pt] [--baseline average]
                                         [--synthetic] [--per-triplet] [--large-motion] [--texture-pans] [--scale auto|0.5|2]
                                         [--json out.json]

PSNR on uint8 output, IE (mean abs error, 0-255) and SSIM, averaged over the 21 triplets, next
to the README's reference scores. Inputs are replicate-padded to a multiple of 16 and cropped
back, as the TypeScript adapter does (to a multiple of 16 / scale with --scale: motion is then
estimated on the frames resized by that factor, as `kiln interpolate --scale` runs the model;
`--scale auto` picks it per frame size as `kiln interpolate` does by default, metrics.auto_scale:
2 on the 320x240 dev triplets, 0.5 on the HD pans; the synthetic set, the training checkpoint
selection metric, is then scored at 1, its training form). The ONNX file cannot be run from Python here (no
onnxruntime for Python); the TS side scores the ONNX model, and models/parity/ ties the two.
These 21 triplets are for validation only: do not tune on them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from kiln_vfi.env import require_torch  # noqa: E402

torch = require_torch()
torch.set_num_threads(2)

from kiln_vfi import metrics  # noqa: E402

REFERENCE = {"average": (30.52, 3.672), "minterpolate (mci, aobmc, bidir)": (33.05, 2.759)}


TEXTURE_PHOTO = "/usr/share/backgrounds/mate/nature/Wood.jpg"
TEXTURE_PANS = (((1280, 720), 16), ((1920, 1080), 24))  # px between the input frames, as the benchmark's clips


def print_pans(title: str, name: str, scores: dict) -> None:
    """Rows of metrics.score_large_motion (and their mean) as validate.py prints them."""
    print(f"  {title} (t = 0.5; averaging in parentheses):")
    for r in scores["rows"]:
        print(f"    {r['size']:>9}, {r['shift']:>3} px: {r['psnr']:.2f} dB ({r['average']:.2f})")
    print(f"  {name} mean: {scores['psnr']:.2f} dB")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(HERE, "checkpoints/best.pt"), help="a kiln-vfi checkpoint (.pt)")
    ap.add_argument("--baseline", choices=["average", "minterpolate"], help="score a baseline instead of the model (minterpolate: ffmpeg, dev triplets only)")
    ap.add_argument("--dev", default=metrics.DEV_DIR)
    ap.add_argument("--synthetic", action="store_true", help="also score the held-out synthetic val set")
    ap.add_argument("--val", default=os.path.join(HERE, "cache/val"))
    ap.add_argument("--per-triplet", action="store_true")
    ap.add_argument("--large-motion", action="store_true",
                    help="also score pans of 32-128 px over the held-out photos at 1280x720 and 1920x1080")
    ap.add_argument("--texture-pans", action="store_true",
                    help="also score pans over Wood.jpg (repeating grain) at the interpolate benchmark's motion: 16 px at 1280x720, 24 px at 1920x1080 (~20 s)")
    ap.add_argument("--scale", default="1", help="motion scale: auto (kiln interpolate's default), or a number in [1/16, 4] with 16/scale a whole number (default 1)")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    auto = a.scale == "auto"
    try:
        fixed = 1.0 if auto else float(a.scale)
    except ValueError:
        fixed = -1.0
    multiple = 16 / fixed if fixed > 0 else 0.5
    if not (1 / 16 <= fixed <= 4) or abs(multiple - round(multiple)) > 1e-6:
        print(f"kiln-vfi: --scale {a.scale}: must be auto or in [1/16, 4] with 16/scale a whole number (0.25, 0.5, 2, 4)", file=sys.stderr)
        return 2
    if a.model.endswith(".onnx"):
        print("kiln-vfi: ONNX models are scored on the TypeScript side (no onnxruntime for Python here);"
              " pass the checkpoint the ONNX file was exported from.", file=sys.stderr)
        return 2

    if a.baseline == "average":
        fn, name, step = (lambda x, y, t: (1 - t) * x + t * y), "frame average", None
    elif a.baseline == "minterpolate":
        if a.synthetic or a.large_motion or a.texture_pans or a.scale != "1":
            print("kiln-vfi: --baseline minterpolate scores the dev triplets only (t = 0.5, no --scale)", file=sys.stderr)
            return 2
        fn, name, step = metrics.minterpolate, f"ffmpeg {metrics.MINTERPOLATE}", None
    else:
        from kiln_vfi.export import load_net

        net, st = load_net(a.model)
        step = st["step"]
        name = a.model if a.scale == "1" else f"{a.model} at scale {a.scale}"

    def runner(s: float):
        """(fn, padding multiple) at motion scale s; a baseline ignores the scale."""
        if a.baseline:
            return fn, 16
        if s == 1:
            return net, 16
        st_ = torch.tensor([s])
        return (lambda x, y, t: net(x, y, t, st_)), round(16 / s)

    def at(w: int, h: int):
        """runner() for w x h frames at the chosen scale."""
        return runner(metrics.auto_scale(w, h) if auto else fixed)

    result = {"model": name, "step": step, "scale": a.scale}
    trip = metrics.load_dev(a.dev)
    if trip is None:
        print(f"vfi-dev not found at {a.dev}: dev scores skipped")
    else:
        sizes = {(x[1].shape[-1], x[1].shape[-2]) for x in trip}
        if len(sizes) != 1:
            raise SystemExit(f"kiln-vfi: the dev triplets have several sizes {sorted(sizes)}; one expected")
        dw, dh = sizes.pop()
        if auto:
            result["dev_scale"] = metrics.auto_scale(dw, dh)
            print(f"--scale auto: {dw}x{dh} dev triplets at motion scale {result['dev_scale']}")
        dfn, dmult = at(dw, dh)
        r = metrics.score_dev(dfn, trip, multiple=dmult)
        result["dev"] = {k: r[k] for k in ("psnr", "ie", "ssim")}
        print(f"{name}" + (f" (step {step})" if step is not None else "") + f" on {len(trip)} vfi-dev triplets:")
        print(f"  PSNR {r['psnr']:.2f} dB   IE {r['ie']:.3f}   SSIM {r['ssim']:.4f}")
        for k, (p, ie) in REFERENCE.items():
            print(f"  reference {k}: PSNR {p:.2f} dB, IE {ie:.3f}")
        if a.per_triplet:
            for (tname, *_), p in zip(trip, r["per"]):
                print(f"    {tname:>4}: {p:.2f} dB")
            result["dev"]["per_triplet"] = dict(zip([x[0] for x in trip], r["per"]))
    if a.synthetic:
        from kiln_vfi.train import load_val

        val = load_val(a.val)
        i0, gt, i1, t, _ = val
        sfn = runner(1.0)[0] if auto else at(i0.shape[-1], i0.shape[-2])[0]  # auto: the training form
        with torch.no_grad():
            ps = torch.cat([metrics.psnr_u8(sfn(i0[k:k + 16], i1[k:k + 16], t[k:k + 16]), gt[k:k + 16]) for k in range(0, len(t), 16)])
        result["synthetic_val_psnr"] = ps.mean().item()
        print(f"  synthetic held-out val ({len(t)} triplets, random t): PSNR {ps.mean().item():.2f} dB")
    if a.large_motion:
        from kiln_vfi import photos
        from kiln_vfi.data import load_photos

        # short side 1600: room for a 1920-px window moving 128 px on every aspect ratio used (3:2 to 16:9)
        held = load_photos(photos.HELDOUT, short=1600)
        rows = []
        for size in metrics.LARGE_MOTION_SIZES:
            lfn, lmult = at(*size)
            rows += metrics.score_large_motion(lfn, held, sizes=(size,), multiple=lmult)["rows"]
        lm = {"rows": rows, "psnr": sum(r["psnr"] for r in rows) / len(rows)}
        result["large_motion"] = lm
        print_pans(f"large-motion pans over the {len(photos.HELDOUT)} held-out photos", "large-motion", lm)
    if a.texture_pans:
        from kiln_vfi.data import load_photos

        # The interpolate benchmark's clips pan over mate-backgrounds' Wood.jpg, a training photo
        # whose grain repeats: a regression check for false matches, not a generalisation score.
        # Run 3 (cost-volume projections) lost 1.4-1.5 dB here against run 4 on raw frames, the
        # same ranking as its 2-4 dB loss on the benchmark's H.264 clips (session 6).
        wood = load_photos([TEXTURE_PHOTO], short=1600)
        rows = []
        for size, shift in TEXTURE_PANS:
            tfn, tmult = at(*size)
            rows += metrics.score_large_motion(tfn, wood, sizes=(size,), shifts=(shift,), multiple=tmult)["rows"]
        result["texture_pans"] = {"rows": rows, "psnr": sum(r["psnr"] for r in rows) / len(rows)}
        print_pans("texture pans over Wood.jpg", "texture-pan", result["texture_pans"])
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
