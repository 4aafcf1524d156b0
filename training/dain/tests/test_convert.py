"""convert.py: strict matching of a checkpoint against the DAIN module; nothing written on a mismatch."""
from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import unittest
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # training/
from dain import convert  # noqa: E402
from dain.model import DAIN  # noqa: E402


class Convert(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        torch.manual_seed(7)
        cls.model = DAIN().eval()
        cls.sd = cls.model.state_dict()
        cls.dir = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.dir.cleanup()

    def save(self, name: str, obj: object) -> str:
        p = str(Path(self.dir.name) / name)
        torch.save(obj, p)
        return p

    def run_main(self, args: list[str]) -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = convert.main(args)
        return rc, err.getvalue()

    def test_own_state_dict_round_trips(self) -> None:
        for name, obj in (('plain.pth', self.sd), ('wrapped.pth', {'state_dict': self.sd}),
                          ('parallel.pth', {'module.' + k: v for k, v in self.sd.items()})):
            with self.subTest(name=name):
                model, m = convert.load_checkpoint(self.save(name, obj))
                self.assertTrue(m.ok, m.report())
                self.assertIsNotNone(model)
                loaded = model.state_dict()
                self.assertEqual(list(loaded), list(self.sd))
                for k, v in self.sd.items():
                    self.assertTrue(torch.equal(loaded[k], v), k)

    def test_official_names_present(self) -> None:
        # spot checks of the public checkpoint's naming (networks/DAIN.py and its modules)
        for k in ('initScaleNets_filter.0.weight', 'initScaleNets_filter.32.bias', 'initScaleNets_filter1.2.weight',
                  'ctxNet.block1.0.weight', 'ctxNet.block3.conv2.weight', 'rectifyNet.block1.0.weight',
                  'rectifyNet.block5.0.bias', 'flownets.conv6aa.0.weight', 'flownets.upfeat3.weight',
                  'flownets.deconv2.bias', 'flownets.dc_conv7.weight', 'depthNet.0.weight',
                  'depthNet.1.running_var', 'depthNet.4.weight'):
            self.assertIn(k, self.sd)
        self.assertEqual(tuple(self.sd['rectifyNet.block1.0.weight'].shape), (128, 437, 7, 7))
        self.assertEqual(tuple(self.sd['initScaleNets_filter.0.weight'].shape), (16, 6, 3, 3))
        self.assertEqual(tuple(self.sd['flownets.conv2_0.0.weight'].shape), (128, 81 + 32 + 4, 3, 3))
        self.assertEqual(tuple(self.sd['depthNet.4.weight'].shape), (1, 64, 3, 3))

    def test_broken_copies_are_listed_and_nothing_is_written(self) -> None:
        missing = dict(self.sd)
        del missing['flownets.conv1a.0.weight']
        del missing['depthNet.0.bias']
        extra = dict(self.sd)
        extra['occlusionNet.0.weight'] = torch.zeros(3)
        shaped = dict(self.sd)
        shaped['initScaleNets_filter1.2.weight'] = torch.zeros(25, 16, 3, 3)  # a 5×5-kernel variant
        shaped['initScaleNets_filter1.2.bias'] = torch.zeros(25)
        cases = {
            'missing.pth': (missing, ['missing from the checkpoint (2)', 'flownets.conv1a.0.weight', 'depthNet.0.bias']),
            'extra.pth': (extra, ['unexpected in the checkpoint (1)', 'occlusionNet.0.weight']),
            'shape.pth': (shaped, ['shape mismatch', 'initScaleNets_filter1.2.weight: [25, 16, 3, 3] vs [16, 16, 3, 3]']),
        }
        for name, (sd, expect) in cases.items():
            with self.subTest(name=name):
                out = Path(self.dir.name) / (name + '.onnx')
                rc, err = self.run_main([self.save(name, sd), '-o', str(out)])
                self.assertEqual(rc, 1)
                for e in expect:
                    self.assertIn(e, err)
                self.assertFalse(out.exists())
                self.assertEqual([p.name for p in out.parent.glob(out.name + '*')], [])

    def test_counters_from_old_pytorch_are_tolerated(self) -> None:
        old = {k: v for k, v in self.sd.items() if not k.endswith('num_batches_tracked')}
        model, m = convert.load_checkpoint(self.save('old.pth', old))
        self.assertIsNotNone(model)
        self.assertGreater(m.absent_counters, 100)

    def test_not_a_state_dict(self) -> None:
        rc, err = self.run_main([self.save('list.pth', [1, 2, 3]), '-o', str(Path(self.dir.name) / 'x.onnx'), '--check-only'])
        self.assertEqual(rc, 1)
        self.assertIn('not a state_dict', err)

    def test_check_only_writes_nothing(self) -> None:
        out = Path(self.dir.name) / 'c.onnx'
        rc, _ = self.run_main([self.save('ok.pth', self.sd), '-o', str(out), '--check-only'])
        self.assertEqual(rc, 0)
        self.assertFalse(out.exists())


if __name__ == '__main__':
    unittest.main()
