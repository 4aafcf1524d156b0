"""Each standard-op replacement of a DAIN CUDA layer against its plain-loop reference."""
from __future__ import annotations

import sys
import unittest
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # training/
from dain import ops  # noqa: E402
from dain.tests import reference as ref  # noqa: E402

FP32_ABS = 1e-5  # float32 ops vs float64 loops on values of order 1


def close(test: unittest.TestCase, got: torch.Tensor, want: np.ndarray, tol: float = FP32_ABS) -> None:
    g = got.detach().double().numpy()
    test.assertEqual(g.shape, want.shape)
    err = np.abs(g - want)
    i = np.unravel_index(int(np.argmax(err)), err.shape)
    test.assertFalse(np.isnan(g).any(), 'NaN in output')
    test.assertLessEqual(float(err[i]), tol, f'at {i}: got {g[i]}, want {want[i]}')


class Correlation(unittest.TestCase):
    def test_matches_loops(self) -> None:
        g = torch.Generator().manual_seed(1)
        f1 = torch.randn(2, 5, 6, 7, generator=g)
        f2 = torch.randn(2, 5, 6, 7, generator=g)
        out = ops.correlation(f1, f2, 4)
        self.assertEqual(out.shape[1], 81)
        close(self, out, ref.correlation(f1.numpy(), f2.numpy(), 4))

    def test_channel_order_is_dy_major(self) -> None:
        # f2 = f1 shifted right by 2 columns: the peak is at dy=0, dx=+2 → channel 4*9+6
        f1 = torch.zeros(1, 1, 9, 9)
        f1[0, 0, 4, 3] = 1.0
        f2 = torch.zeros(1, 1, 9, 9)
        f2[0, 0, 4, 5] = 1.0
        out = ops.correlation(f1, f2, 4)
        self.assertEqual(int(out[0, :, 4, 3].argmax()), 4 * 9 + 6)


class BackwardWarp(unittest.TestCase):
    def test_matches_loops(self) -> None:
        g = torch.Generator().manual_seed(2)
        x = torch.randn(2, 3, 6, 8, generator=g)
        flow = torch.randn(2, 2, 6, 8, generator=g) * 2.5
        flow[0, :, 0, 0] = torch.tensor([3.0, 2.0])  # an integer displacement
        flow[1, :, 5, 7] = torch.tensor([0.0, 0.0])  # corner, exactly inside
        close(self, ops.backward_warp(x, flow), ref.backward_warp(x.numpy(), flow.numpy()))

    def test_masks_partly_outside_samples(self) -> None:
        x = torch.ones(1, 1, 4, 4)
        flow = torch.zeros(1, 2, 4, 4)
        flow[0, 0, 1, 3] = 0.5  # half a pixel past the right border
        out = ops.backward_warp(x, flow)
        self.assertEqual(float(out[0, 0, 1, 3]), 0.0)
        self.assertEqual(float(out[0, 0, 1, 2]), 1.0)


class DepthFlowProjection(unittest.TestCase):
    def check(self, flow: torch.Tensor, weight: torch.Tensor, fill: bool) -> None:
        got = ops.depth_flow_projection(flow, weight, fill)
        close(self, got, ref.depth_flow_projection(flow.numpy(), weight.numpy(), fill), 1e-4)

    def test_matches_loops_random(self) -> None:
        g = torch.Generator().manual_seed(3)
        flow = torch.randn(2, 2, 7, 9, generator=g) * 3
        weight = torch.rand(2, 1, 7, 9, generator=g) + 0.05
        for fill in (False, True):
            with self.subTest(fill=fill):
                self.check(flow, weight, fill)

    def test_holes_and_borders(self) -> None:
        # everything moves 3 px right: columns 0..2 receive nothing (holes filled from the
        # right only), the last column is hit by pixels landing exactly on w-1
        flow = torch.zeros(1, 2, 5, 8)
        flow[0, 0] = 3.0
        flow[0, 1, 2] = 1.5
        weight = torch.rand(1, 1, 5, 8, generator=torch.Generator().manual_seed(4)) + 0.1
        got = ops.depth_flow_projection(flow, weight, True)
        self.check(flow, weight, True)
        self.assertTrue(bool((got[0, 0, :, 0] < 0).all()), 'holes at the left edge must be filled')

    def test_nearer_pixel_wins_where_two_land(self) -> None:
        # two sources land on the same target; the one with 9x the inverse depth dominates
        flow = torch.zeros(1, 2, 1, 6)
        flow[0, 0, 0, 0] = 2.0   # 0 → 2, far (w=0.1)
        flow[0, 0, 0, 4] = -2.0  # 4 → 2, near (w=0.9)
        weight = torch.full((1, 1, 1, 6), 0.1)
        weight[0, 0, 0, 4] = 0.9
        got = ops.depth_flow_projection(flow, weight, False)
        # x=2 also receives zero-flow splats of weight .1 from pixels 1 and 2 (floor+1 corners)
        want = ref.depth_flow_projection(flow.numpy(), weight.numpy(), False)
        close(self, got, want)
        self.assertGreater(float(got[0, 0, 0, 2]), 0.0)

    def test_all_outside_leaves_zeros(self) -> None:
        flow = torch.full((1, 2, 3, 3), 50.0)
        got = ops.depth_flow_projection(flow, torch.ones(1, 1, 3, 3), True)
        self.assertEqual(float(got.abs().max()), 0.0)


class FilterInterpolation(unittest.TestCase):
    def test_matches_loops(self) -> None:
        g = torch.Generator().manual_seed(5)
        img = torch.randn(2, 3, 7, 9, generator=g)
        flow = torch.randn(2, 2, 7, 9, generator=g) * 2
        flow[0, :, 3, 3] = torch.tensor([5.0, 0.0])   # |fx| >= w/2: copies the input pixel
        flow[1, :, 0, 0] = torch.tensor([-0.5, 0.0])  # lands outside: copies the input pixel
        flow[1, :, 6, 8] = torch.tensor([0.0, 0.0])   # bottom-right corner, taps clamped
        filt = torch.randn(2, 16, 7, 9, generator=g)
        close(self, ops.filter_interpolation(img, flow, filt),
              ref.filter_interpolation(img.numpy(), flow.numpy(), filt.numpy()))

    def test_delta_kernel_is_bilinear_warp_of_integer_shift(self) -> None:
        # with weight 1 on tap (1,1) (the floor position) and integer flow the layer copies
        img = torch.arange(20.0).view(1, 1, 4, 5)
        flow = torch.zeros(1, 2, 4, 5)
        flow[0, 0] = 1.0
        flow[0, 0, :, 4] = 0.0
        filt = torch.zeros(1, 16, 4, 5)
        filt[0, 5] = 1.0
        out = ops.filter_interpolation(img, flow, filt)
        self.assertTrue(torch.equal(out[0, 0, :, :4], img[0, 0, :, 1:]))


if __name__ == '__main__':
    unittest.main()
