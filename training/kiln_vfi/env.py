"""Fail early, with the command that fixes it, when the recipe's system packages are missing."""
import sys

PYTHON = "/usr/bin/python3"


def die(msg: str, code: int = 2) -> None:
    print(f"kiln-vfi: {msg}", file=sys.stderr)
    sys.exit(code)


def require_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        die(
            "PyTorch is not importable from this interpreter ("
            + sys.executable
            + ").\n  install: apt-get install -y python3-torch python3-torchvision python3-numpy python3-pil\n"
            f"  and run the recipe with {PYTHON} (a pyenv/venv python on PATH has no torch)."
        )
    import torch

    return torch


def require_onnx():
    try:
        import onnx  # noqa: F401
    except ImportError:
        die("the onnx python package is missing.\n  install: apt-get install -y python3-onnx")
    import onnx

    return onnx
