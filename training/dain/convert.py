"""Convert the official DAIN checkpoint (best.pth of the public implementation) to ONNX.

    /usr/bin/python3 training/dain/convert.py best.pth -o dain.onnx [--height 480 --width 640]

The checkpoint is matched key by key, strictly, against this project's DAIN module. If any
key is missing or unexpected, or any shape differs, every mismatch is listed, nothing is
written and the exit status is 1. Accepted forms: a plain state_dict, {'state_dict': ...}, and
keys prefixed with 'module.' (saved from DataParallel). The only tolerated difference is absent
`num_batches_tracked` counters (checkpoints from PyTorch < 0.4.1); batch norm does not read
them at inference, and the conversion says how many were absent.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

if __package__ in (None, ''):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from dain.model import DAIN  # noqa: E402
else:
    from .model import DAIN


@dataclass
class Match:
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    shape: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)  # key, checkpoint, model
    dtype: list[tuple[str, str]] = field(default_factory=list)
    absent_counters: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.shape or self.dtype)

    def report(self, limit: int = 50) -> str:
        lines = []

        def section(title: str, items: list[str]) -> None:
            if not items:
                return
            lines.append(f'{title} ({len(items)}):')
            lines.extend(f'  {s}' for s in items[:limit])
            if len(items) > limit:
                lines.append(f'  … and {len(items) - limit} more')

        section('missing from the checkpoint', self.missing)
        section('unexpected in the checkpoint', self.unexpected)
        section('shape mismatch (checkpoint vs model)',
                [f'{k}: {list(a)} vs {list(b)}' for k, a, b in self.shape])
        section('not a floating-point tensor', [f'{k}: {t}' for k, t in self.dtype])
        return '\n'.join(lines)


def read_state_dict(path: str) -> dict[str, torch.Tensor]:
    obj = torch.load(path, map_location='cpu')
    if isinstance(obj, dict) and 'state_dict' in obj and isinstance(obj['state_dict'], dict):
        obj = obj['state_dict']
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise ValueError(f'{path}: not a state_dict (a dict of tensors by name); got {type(obj).__name__}')
    if obj and all(k.startswith('module.') for k in obj):
        obj = {k[len('module.'):]: v for k, v in obj.items()}
    return obj


def match(sd: dict[str, torch.Tensor], model: DAIN) -> Match:
    want = model.state_dict()
    m = Match()
    for k, v in want.items():
        if k not in sd:
            if k.endswith('num_batches_tracked'):
                m.absent_counters += 1
            else:
                m.missing.append(k)
            continue
        got = sd[k]
        if not isinstance(got, torch.Tensor):
            m.dtype.append((k, type(got).__name__))
        elif tuple(got.shape) != tuple(v.shape):
            m.shape.append((k, tuple(got.shape), tuple(v.shape)))
        elif v.is_floating_point() and not got.is_floating_point():
            m.dtype.append((k, str(got.dtype)))
    m.unexpected = [k for k in sd if k not in want]
    return m


def load_checkpoint(path: str) -> tuple[DAIN | None, Match]:
    """The model with the checkpoint loaded, or None and the mismatches."""
    sd = read_state_dict(path)
    model = DAIN()
    m = match(sd, model)
    if not m.ok:
        return None, m
    if m.absent_counters:
        sd = dict(sd)
        for k, v in model.state_dict().items():
            if k.endswith('num_batches_tracked') and k not in sd:
                sd[k] = v
    model.load_state_dict(sd, strict=True)
    return model.eval(), m


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('checkpoint')
    ap.add_argument('-o', '--output', required=True)
    ap.add_argument('--height', type=int, default=480)
    ap.add_argument('--width', type=int, default=640)
    ap.add_argument('--check-only', action='store_true', help='match the keys and stop; write nothing')
    a = ap.parse_args(argv)
    if Path(a.output).resolve() == Path(a.checkpoint).resolve():
        print('error: the output would overwrite the checkpoint', file=sys.stderr)
        return 2
    try:
        model, m = load_checkpoint(a.checkpoint)
    except (OSError, RuntimeError, ValueError) as e:
        print(f'error: cannot read {a.checkpoint}: {e}', file=sys.stderr)
        return 1
    if model is None:
        print(f'error: {a.checkpoint} does not match DAIN (filter size 4, t = 0.5); nothing written.\n{m.report()}',
              file=sys.stderr)
        return 1
    n = sum(p.numel() for p in model.parameters())
    note = f' ({m.absent_counters} num_batches_tracked counters absent, unused at inference)' if m.absent_counters else ''
    print(f'{a.checkpoint}: all {len(model.state_dict())} keys match, {n:,} parameters{note}')
    if a.check_only:
        return 0
    if __package__ in (None, ''):
        from dain.export import export_onnx
    else:
        from .export import export_onnx
    export_onnx(model, a.output, a.height, a.width, f'checkpoint {Path(a.checkpoint).name}')
    print(f'wrote {a.output} ({a.width}x{a.height})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
