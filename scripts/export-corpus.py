#!/usr/bin/python3
"""Exports kiln's corpus of real architectures to ONNX, with PyTorch reference inputs/outputs.

  /usr/bin/python3 scripts/export-corpus.py [--out .cache/corpus] [--force] [--only NAME ...]

Writes, per model NAME:
  NAME.onnx                   the exported model (random, seeded weights; eval mode)
  NAME.input_K.npy            reference inputs (seeded)
  NAME.output_K.npy           PyTorch's outputs for those inputs (float32)
and corpus.json listing every model with its input/output names, shapes and dynamic axes.
A model whose files all exist is not exported again (unless --force), so tests can call this
cheaply. Needs Debian's python3-torch and python3-torchvision (torch 1.13, opset 17).
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torchvision

OPSET = 17


def randomize_batchnorm(model, gen):
    """Default BatchNorm statistics (mean 0, var 1, weight 1, bias 0) make BN an identity; give
    them random values so that BN folding and similar rewrites are actually exercised."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)
    return model


class SequenceClassifier(nn.Module):
    """A two-layer LSTM over a feature sequence with a linear head on every step."""

    def __init__(self, features=32, hidden=64, classes=10):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.head(y)


class SpeechEncoder(nn.Module):
    """A GRU over 80-band audio features with a linear head (hidden 512: large enough that kiln's
    dynamic INT8 rewrites the GRU as MatMul + Scan)."""

    def __init__(self, features=80, hidden=512, classes=32):
        super().__init__()
        self.gru = nn.GRU(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        y, _ = self.gru(x)
        return self.head(y)


class AttentionBlock(nn.Module):
    """A pre-norm transformer encoder block (multi-head self-attention + GELU MLP), written out
    so that the export shows the MatMul/Softmax/LayerNormalization pattern, not a fused op."""

    def __init__(self, dim=64, heads=4, mlp=128):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp)
        self.fc2 = nn.Linear(mlp, dim)

    def forward(self, x):
        b, n, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, h, d // h).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-2, -1) * (d // h) ** -0.5, dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, n, d))
        return x + self.fc2(nn.functional.gelu(self.fc1(self.norm2(x))))


def image(shape, gen):
    return torch.rand(shape, generator=gen)


# name -> (constructor, reference input shapes, input names, output names, dynamic axes)
MODELS = {
    "resnet18": (lambda: torchvision.models.resnet18(), [(1, 3, 224, 224)], ["input"], ["logits"], None),
    "mobilenet_v3_small": (lambda: torchvision.models.mobilenet_v3_small(), [(1, 3, 224, 224)], ["input"], ["logits"], None),
    "efficientnet_b0": (lambda: torchvision.models.efficientnet_b0(), [(1, 3, 224, 224)], ["input"], ["logits"], None),
    "lstm": (lambda: SequenceClassifier(), [(1, 16, 32)], ["sequence"], ["scores"], None),
    "attention": (lambda: AttentionBlock(), [(1, 50, 64)], ["tokens"], ["encoded"], None),
    "gru": (lambda: SpeechEncoder(), [(1, 50, 80)], ["features"], ["scores"], None),
    # Dynamic batch and spatial size (for shape folding and free-dimension tests); the reference
    # input deliberately differs from the usual 1x3x224x224.
    "resnet18_dynamic": (
        lambda: torchvision.models.resnet18(),
        [(2, 3, 160, 192)],
        ["input"],
        ["logits"],
        {"input": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}},
    ),
}


def files_for(out, name, n_in, n_out):
    return [os.path.join(out, f"{name}.onnx")] + [os.path.join(out, f"{name}.input_{i}.npy") for i in range(n_in)] + [
        os.path.join(out, f"{name}.output_{i}.npy") for i in range(n_out)
    ]


def save_npy(path, arr):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".npy.tmp")
    with os.fdopen(fd, "wb") as f:
        np.save(f, np.ascontiguousarray(arr))
    os.chmod(tmp, 0o644)  # mkstemp creates 0600
    os.replace(tmp, path)


def export(out, name, seed):
    make, shapes, in_names, out_names, dynamic = MODELS[name]
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = randomize_batchnorm(make().eval(), gen)
    inputs = tuple(image(s, gen) for s in shapes)
    with torch.no_grad():
        outputs = model(*inputs)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    target = os.path.join(out, f"{name}.onnx")
    tmp = target + ".tmp"
    with torch.no_grad():
        torch.onnx.export(
            model,
            inputs,
            tmp,
            opset_version=OPSET,
            input_names=in_names,
            output_names=out_names,
            dynamic_axes=dynamic,
            do_constant_folding=True,
        )
    for i, x in enumerate(inputs):
        save_npy(os.path.join(out, f"{name}.input_{i}.npy"), x.numpy())
    for i, y in enumerate(outputs):
        save_npy(os.path.join(out, f"{name}.output_{i}.npy"), y.numpy())
    os.replace(tmp, target)  # the model last: its presence means the set is complete


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", ".cache", "corpus"))
    ap.add_argument("--force", action="store_true", help="export again even when the files exist")
    ap.add_argument("--only", nargs="*", help="export only these models")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    names = args.only or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        sys.exit(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(MODELS)}")
    manifest = []
    for seed, name in enumerate(MODELS):
        _, shapes, in_names, out_names, dynamic = MODELS[name]
        if name in names:
            if args.force or not all(os.path.exists(f) for f in files_for(out, name, len(shapes), len(out_names))):
                print(f"exporting {name} ...", file=sys.stderr, flush=True)
                export(out, name, seed)
        manifest.append(
            {
                "name": name,
                "file": f"{name}.onnx",
                "opset": OPSET,
                "inputs": [{"name": n, "shape": list(s), "file": f"{name}.input_{i}.npy"} for i, (n, s) in enumerate(zip(in_names, shapes))],
                "outputs": [{"name": n, "file": f"{name}.output_{i}.npy"} for i, n in enumerate(out_names)],
                "dynamicAxes": dynamic or {},
                "torch": torch.__version__,
                "torchvision": torchvision.__version__,
            }
        )
    with open(os.path.join(out, "corpus.json.tmp"), "w") as f:
        # The script's own hash lets callers tell a corpus made by this version from a stale one.
        script_hash = hashlib.sha256(open(os.path.abspath(__file__), "rb").read()).hexdigest()
        json.dump({"script": script_hash, "models": manifest}, f, indent=2)
    os.replace(os.path.join(out, "corpus.json.tmp"), os.path.join(out, "corpus.json"))
    print(out)


if __name__ == "__main__":
    main()
