"""Export a kiln-vfi checkpoint to ONNX (opset 19, dynamic N/H/W).

    /usr/bin/python3 -m kiln_vfi.export --ckpt checkpoints/best.pt --out ../models/kiln-vfi.onnx

I/O convention (also written into the model's metadata_props):
  img0, img1  float32 [N,3,H,W] RGB in [0,1]; H and W multiples of 16 (the caller pads)
  timestep    float32 [N,1,1,1], t in (0,1) (0 = img0, 1 = img1), clamped to [1e-3, 1-1e-3]
  scale       float32 [1], s in [1/16, 4]: motion estimated on the frames resized by s, the two final
              warps at full resolution (1 = the training form; H*s and W*s multiples of 16)
  output      float32 [N,3,H,W] RGB in [0,1]
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from .env import require_onnx, require_torch

torch = require_torch()

from .model import DEFERRED_DOMAIN, SIZE_MULTIPLE, ExportWrapper, KilnVFI, count_macs, count_params  # noqa: E402
from .train import load_ckpt  # noqa: E402

# PyTorch 1.13 exports up to opset 17; every warp is a DeformConv (opset 19), written
# in DEFERRED_DOMAIN by the exporter and moved to the default domain here (to_opset19).
TORCH_OPSET = 17
OPSET = 19
MAX_BYTES = 10 * 1024 * 1024


def load_net(path: str) -> tuple[KilnVFI, dict]:
    st = load_ckpt(path)
    net = KilnVFI(**st.get("config", {}))
    net.load_state_dict(st["model"])
    net.eval()
    return net, st


def export(net: KilnVFI, out: str, meta: dict | None = None) -> None:
    onnx = require_onnx()
    x = torch.rand(1, 3, 64, 64)
    t = torch.full((1, 1, 1, 1), 0.5)
    s = torch.ones(1)
    dyn = {"img0": {0: "N", 2: "H", 3: "W"}, "img1": {0: "N", 2: "H", 3: "W"}, "timestep": {0: "N"}, "output": {0: "N", 2: "H", 3: "W"}}
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            ExportWrapper(net), (x, x, t, s), out, opset_version=TORCH_OPSET, input_names=["img0", "img1", "timestep", "scale"],
            output_names=["output"], dynamic_axes=dyn, do_constant_folding=True,
            custom_opsets={DEFERRED_DOMAIN: 1},
        )
    m = onnx.load(out)
    props = {
        "kiln.model": "kiln-vfi",
        "kiln.size_multiple": str(SIZE_MULTIPLE),
        "kiln.input_range": "0..1 RGB float32 NCHW",
        "kiln.timestep_shape": "N,1,1,1",
        "kiln.scale": "float32 [1] in [1/16, 4]: motion estimated on the frames resized by this factor (kiln interpolate --scale auto: the power of two bringing the short side nearest 480 px); H*scale and W*scale multiples of 16",
        # benchmarks and calibration feed scale = 1 rather than random values (src/runtime/input-defaults.ts)
        "kiln.input_defaults": '{"scale": 1}',
        "kiln.license": "Apache-2.0",
    }
    props.update({f"kiln.{k}": str(v) for k, v in (meta or {}).items()})
    for k, v in props.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    m.producer_name = "kiln-training"
    onnx.checker.check_model(m)  # Debian's onnx 1.12 knows opsets up to 17: checked before the move
    to_opset19(m)
    onnx.save(m, out)
    size = os.path.getsize(out)
    if size > MAX_BYTES:
        raise SystemExit(f"kiln-vfi: {out} is {size} bytes, over the 10 MB budget")


def to_opset19(m) -> None:
    """Opset 17 -> 19 in place for the ops this model uses: the DEFERRED_DOMAIN nodes join the
    default domain, and ReduceMean takes its axes as an input (opset 18). No other op kiln-vfi
    uses changed meaning in 18-19 (Resize, Pad, Cast, Reshape, Shape and Equal only gained
    attributes or types whose defaults keep the old behaviour). Other reductions whose axes moved
    in opset 18 are refused rather than converted untested."""
    import numpy as np
    from onnx import helper, numpy_helper

    g = m.graph
    moved = {"ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}
    for n in g.node:
        if n.op_type in moved:
            raise SystemExit(f"kiln-vfi export: {n.op_type} ({n.name}) takes axes as an input from opset 18; add its conversion to to_opset19")
        if n.domain == DEFERRED_DOMAIN:
            n.domain = ""
        if n.op_type == "ReduceMean":
            axes = next((a for a in n.attribute if a.name == "axes"), None)
            if axes is not None:
                name = f"{n.name or n.output[0]}_axes"
                g.initializer.append(numpy_helper.from_array(np.array(list(axes.ints), np.int64), name))
                n.attribute.remove(axes)
                n.input.append(name)
    known = {"", "ai.onnx", DEFERRED_DOMAIN}
    imports = [o for o in m.opset_import if o.domain not in known]
    del m.opset_import[:]
    m.opset_import.extend([helper.make_opsetid("", OPSET), *imports])
    m.ir_version = max(m.ir_version, 9)  # opset 19 needs IR version 9


def checkpoint_meta(st: dict) -> dict:
    """The model file's training metadata: the step, and the validation score it was selected by
    (train.py --lowres selects by the mean of the synthetic val PSNR at full and at half size)."""
    best = f"{st.get('best', float('nan')):.3f}"
    if (st.get("args") or {}).get("lowres", 0) > 0:
        return {"train_step": st["step"], "synthetic_val_selection": f"{best} (mean of full size and half size at scale 2)"}
    return {"train_step": st["step"], "synthetic_val_psnr": best}


def main(argv=None):
    ap = argparse.ArgumentParser(description="export kiln-vfi to ONNX")
    ap.add_argument("--ckpt", default="checkpoints/best.pt")
    ap.add_argument("--out", default="../models/kiln-vfi.onnx")
    a = ap.parse_args(argv)
    net, st = load_net(a.ckpt)
    export(net, a.out, checkpoint_meta(st))
    macs = count_macs(net)
    print(f"wrote {a.out} ({os.path.getsize(a.out)} bytes) from {a.ckpt} step {st['step']}")
    print(f"params {count_params(net)}  MACs@640x480 {macs['total'] / 1e9:.3f} G  gridsample elements {macs['gridsample_elements']}")


if __name__ == "__main__":
    sys.exit(main())
