"""The shipped model as a PyTorch module, for kiln's PyTorch peers:

    npx kiln pipeline models/kiln-vfi.onnx --profile server-cpu --torch training/torch_def.py
    npx kiln bench models/kiln-vfi.onnx --torch training/torch_def.py

build_model() loads training/checkpoints/best.pt (or $KILN_VFI_CKPT) into KilnVFI and returns it
with the ONNX model's signature (img0, img1, timestep) -> output. models/kiln-vfi.onnx is
exported from that checkpoint by parity.py, so both run the same weights while they are in step
(the model card names the step).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from kiln_vfi.export import load_net  # noqa: E402
from kiln_vfi.model import ExportWrapper  # noqa: E402


SHIPPED = os.path.join(os.path.dirname(HERE), "models", "kiln-vfi.onnx")


def shipped_step():
    """kiln.train_step of models/kiln-vfi.onnx (None when the file or python3-onnx is absent)."""
    try:
        import onnx

        meta = {p.key: p.value for p in onnx.load(SHIPPED, load_external_data=False).metadata_props}
        return int(meta["kiln.train_step"])
    except Exception:
        return None


def build_model():
    path = os.environ.get("KILN_VFI_CKPT", os.path.join(HERE, "checkpoints", "best.pt"))
    net, st = load_net(path)
    step, shipped = st.get("step"), shipped_step()
    if shipped is not None and step is not None and int(step) != shipped:
        # Comparisons against the shipped ONNX model would measure different weights.
        print(f"torch_def.py: warning: {path} is step {step}, models/kiln-vfi.onnx is step {shipped}; "
              "re-export with training/parity.py or set KILN_VFI_CKPT", file=sys.stderr)
    return ExportWrapper(net).eval()
