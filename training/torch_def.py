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


def build_model():
    net, _ = load_net(os.environ.get("KILN_VFI_CKPT", os.path.join(HERE, "checkpoints", "best.pt")))
    return ExportWrapper(net).eval()
