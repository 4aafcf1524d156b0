"""Fast checks of the recipe (no training): run with
    /usr/bin/python3 -m unittest discover -s training/tests -t training
"""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from kiln_vfi import data, metrics  # noqa: E402
from kiln_vfi.model import KilnVFI, clamp_offsets, correlation, count_macs, heads, warp, warp_blend  # noqa: E402

torch.set_num_threads(1)


class StepZeroIsLinearBlend(unittest.TestCase):
    def test_untrained_net_outputs_blend_for_any_t_and_size(self):
        torch.manual_seed(0)
        for net in (KilnVFI().eval(), KilnVFI(proj16=16, proj8=12).eval(), KilnVFI(stage8="warp").eval(), KilnVFI(stage8="none").eval(), KilnVFI(ref4=16).eval()):
            self._blend(net)

    def test_leaner_1_8_stages_warm_start_from_the_shipped_form(self):
        # "warp": the old net with the (mean-subtracted) cost volume zeroed; "none": no 1/8 decoder
        from kiln_vfi.model import correlation as corr
        import kiln_vfi.model as M

        torch.manual_seed(1)
        full = KilnVFI().eval()
        for p in full.parameters():
            p.data.normal_(0, 0.05)
        warp_form = KilnVFI(stage8="warp").eval()
        sd, notes = warp_form.adapt_state(full.state_dict())
        self.assertEqual(warp_form.load_state_dict(sd, strict=True).missing_keys, [])
        self.assertTrue(any("cost-volume input channels" in n for n in notes))
        a, b, t = torch.rand(1, 3, 64, 96), torch.rand(1, 3, 64, 96), torch.full((1, 1, 1, 1), 0.4)
        orig = M.correlation
        try:  # the full form with a zero 1/8 cost volume computes what the adapted "warp" form does
            M.correlation = lambda x, y, r, blk=0: orig(x, y, r, blk) * 0.0 if r == KilnVFI.R8 else orig(x, y, r, blk)
            with torch.no_grad():
                want = full(a, b, t)
        finally:
            M.correlation = orig
        with torch.no_grad():
            self.assertLess((warp_form(a, b, t) - want).abs().max().item(), 1e-5)
        none_form = KilnVFI(stage8="none")
        sd, notes = none_form.adapt_state(full.state_dict())
        self.assertEqual(none_form.load_state_dict(sd, strict=True).missing_keys, [])
        self.assertFalse(any(k.startswith("dec8.") for k in none_form.state_dict()))
        self.assertEqual((KilnVFI(stage8="warp").config, KilnVFI().config), ({"proj16": 0, "proj8": 0, "stage8": "warp"}, {"proj16": 0, "proj8": 0}))
        with self.assertRaises(ValueError):
            KilnVFI(stage8="fast")
        del corr

    def test_narrower_refinement_warm_starts_from_the_channels_in_use(self):
        torch.manual_seed(2)
        full = KilnVFI().eval()
        for p in full.parameters():
            p.data.normal_(0, 0.05)
        # 8 of each 24-wide layer's channels unused by the next conv: dropping them changes nothing
        for i, dead in ((1, [0, 3, 5, 8, 11, 14, 17, 23]), (2, [1, 2, 6, 9, 12, 15, 18, 20])):
            full.ref4[i][0].weight.data[:, dead] = 0.0
        narrow = KilnVFI(ref4=16).eval()
        sd, notes = narrow.adapt_state(full.state_dict())
        self.assertEqual(narrow.load_state_dict(sd, strict=True).missing_keys, [])
        self.assertEqual(len([n for n in notes if n.startswith("ref4")]), 2)
        self.assertEqual(narrow.config, {"proj16": 0, "proj8": 0, "ref4": 16})
        a, b, t = torch.rand(1, 3, 64, 96), torch.rand(1, 3, 64, 96), torch.full((1, 1, 1, 1), 0.3)
        with torch.no_grad():
            self.assertLess((narrow(a, b, t) - full(a, b, t)).abs().max().item(), 1e-5)

    def test_cost_volume_projections_add_only_their_own_keys(self):
        base, proj = set(KilnVFI().state_dict()), set(KilnVFI(proj16=16, proj8=12).state_dict())
        self.assertEqual(proj - base, {"proj16.weight", "proj16.bias", "proj8.weight", "proj8.bias"})
        self.assertEqual(base - proj, set())

    def _blend(self, net):
        for (h, w), t in [((32, 48), 0.5), ((64, 32), 0.125), ((48, 80), 0.9)]:
            a, b = torch.rand(2, 3, h, w), torch.rand(2, 3, h, w)
            tt = torch.full((2, 1, 1, 1), t)
            with torch.no_grad():
                out = net(a, b, tt)
            err = (out - ((1 - t) * a + t * b)).abs().max().item()
            self.assertLess(err, 1e-4, f"size {h}x{w} t={t}: max err {err}")


class Ops(unittest.TestCase):
    def test_warp_by_integer_shift_is_a_translation(self):
        x = torch.rand(1, 3, 16, 20)
        flow = torch.zeros(1, 2, 16, 20)
        flow[:, 0] = 2.0  # sample 2 px to the right
        out = warp(x, flow)
        self.assertLess((out[..., :, :-2] - x[..., :, 2:]).abs().max().item(), 1e-5)

    def test_warp_is_border_padded_bilinear_for_any_flow(self):
        # clamped grid + zeros padding (the faster onnxruntime kernel) == padding_mode="border"
        torch.manual_seed(3)
        x = torch.rand(2, 3, 12, 17)
        flow = torch.randn(2, 2, 12, 17) * 15.0  # many samples far outside the frame
        flow[:, :, :2] = 0.0  # and some exactly on the border
        a = 2.0 / torch.tensor([16.0, 11.0]).reshape(1, 2, 1, 1)
        ys, xs = torch.meshgrid(torch.arange(12.0), torch.arange(17.0), indexing="ij")
        grid = ((flow + torch.stack([xs, ys])[None]) * a - 1.0).permute(0, 2, 3, 1)
        ref = torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)
        self.assertLess((warp(x, flow) - ref).abs().max().item(), 1e-6)

    def test_warp_blend_is_two_border_warps_and_the_mask_blend(self):
        # the export form (offsets (y, x) clamped into the image, weights m and 1 - m) against
        # the reference: two padding_mode="border" warps blended as m * w0 + (1 - m) * w1
        torch.manual_seed(4)
        n, h, w = 2, 12, 17
        i0, i1 = torch.rand(n, 3, h, w), torch.rand(n, 3, h, w)
        f0, f1 = torch.randn(n, 2, h, w) * 15.0, torch.randn(n, 2, h, w) * 15.0  # (x, y), far out of frame too
        m = torch.rand(n, 1, h, w)
        ys, xs = torch.meshgrid(torch.arange(float(h)), torch.arange(float(w)), indexing="ij")
        a = 2.0 / torch.tensor([w - 1.0, h - 1.0]).reshape(1, 2, 1, 1)

        def border(x, f):
            grid = ((f + torch.stack([xs, ys])[None]) * a - 1.0).permute(0, 2, 3, 1)
            return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)

        ref = m * border(i0, f0) + (1 - m) * border(i1, f1)
        off = torch.cat([f0[:, 1:2], f0[:, 0:1], f1[:, 1:2], f1[:, 0:1]], 1)
        self.assertLess((warp_blend(i0, i1, off, torch.cat([m, 1 - m], 1)) - ref).abs().max().item(), 1e-5)
        # clamped sample points lie inside the image, unclamped ones are unchanged
        c = clamp_offsets(off)
        p = torch.stack([ys, xs])[None]
        for k in (0, 2):
            q = c[:, k : k + 2] + p
            self.assertTrue(bool((q >= 0).all()) and bool((q[:, 0] <= h - 1).all()) and bool((q[:, 1] <= w - 1).all()))
            inside = ((off[:, k : k + 2] + p) >= 0).all(1) & (off[:, k] + ys <= h - 1) & (off[:, k + 1] + xs <= w - 1)
            self.assertTrue(torch.equal(c[:, k][inside], off[:, k][inside]))

    def test_export_forms_equal_the_training_forms(self):
        # half() and warp2() switch to Resize / DeformConv-shaped code under export; their
        # PyTorch forwards must equal the training forms (avg_pool2d, two border warps)
        from kiln_vfi.model import WarpDepthwise, half, warp2

        torch.manual_seed(5)
        x = torch.rand(2, 3, 16, 24)
        self.assertLess((F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False) - half(x)).abs().max().item(), 1e-6)
        a, b = torch.rand(2, 5, 12, 17), torch.rand(2, 5, 12, 17)
        f0, f1 = torch.randn(2, 2, 12, 17) * 15.0, torch.randn(2, 2, 12, 17) * 15.0
        w0, w1 = warp2(a, b, f0, f1)
        off = clamp_offsets(torch.cat([f0[:, 1:2], f0[:, 0:1], f1[:, 1:2], f1[:, 0:1]], 1))
        both = WarpDepthwise.apply(torch.cat([a, b], 1), off, 10)
        self.assertLess((torch.cat([w0, w1], 1) - both).abs().max().item(), 1e-6)
        self.assertLess((w0 - warp(a, f0)).abs().max().item(), 1e-6)

    def test_large_motion_pan_triplet_is_exact_and_scored_against_averaging(self):
        from kiln_vfi import metrics

        photo = torch.rand(3, 40, 70)
        i0, gt, i1 = metrics.pan_triplet(photo, 48, 32, 8)
        self.assertTrue(torch.equal(i0[0], photo[:, 0:32, 0:48]))
        self.assertTrue(torch.equal(gt[0], photo[:, 2:34, 4:52]))  # half-way: 4 px right, 2 down
        self.assertTrue(torch.equal(i1[0], photo[:, 4:36, 8:56]))  # 8 right, 8 / 2 down
        with self.assertRaises(ValueError):
            metrics.pan_triplet(photo, 48, 32, 6)  # not a multiple of 4
        with self.assertRaises(ValueError):
            metrics.pan_triplet(photo, 64, 32, 8)  # window + motion wider than the photo
        # a model that returns the true middle frame scores far above averaging
        oracle = lambda a, b, t: metrics.pan_triplet(photo, a.shape[3], a.shape[2], 8)[1]  # noqa: E731
        r = metrics.score_large_motion(oracle, [photo], sizes=((48, 32),), shifts=(8,))
        self.assertEqual([(x["size"], x["shift"]) for x in r["rows"]], [("48x32", 8)])
        self.assertGreater(r["psnr"], 90.0)
        self.assertLess(r["rows"][0]["average"], 20.0)

    def test_heads_equal_their_separate_convs_and_are_counted(self):
        torch.manual_seed(2)
        y = torch.randn(1, 16, 9, 11)
        convs = [torch.nn.Conv2d(16, c, 3, 1, 1) for c in (2, 1, 5)]
        for got, conv in zip(heads(y, convs), convs):
            self.assertLess((got - conv(y)).abs().max().item(), 1e-5)
        # count_macs sees the stacked heads (no module hook fires for them): the shipped form's
        # convolutions at 640x480, as counted before the heads were stacked
        self.assertEqual(count_macs(KilnVFI(), 480, 640)["conv"], 878_534_400)

    def test_correlation_peaks_at_the_true_shift(self):
        a = torch.randn(1, 8, 12, 12)
        b = torch.roll(a, shifts=(1, -2), dims=(2, 3))  # b(x + (dy=1, dx=-2)) == a(x)
        c = correlation(a, b, 3)[0, :, 4:8, 4:8].mean((1, 2))
        dy, dx = divmod(int(c.argmax()), 7)
        self.assertEqual((dy - 3, dx - 3), (1, -2))

    def test_correlation_matches_plain_loops_for_any_size(self):
        # the banded MatMul form against its definition: cosine similarity of a(y, x) and
        # b(y + dy, x + dx), b zero outside, minus the per-pixel mean over the window, x4
        torch.manual_seed(5)
        for n, c, h, w, r, block in [(1, 6, 7, 9, 2, 0), (2, 5, 8, 8, 3, 0), (1, 4, 5, 11, 4, 0), (1, 3, 1, 2, 1, 0),
                                     (1, 6, 7, 9, 2, 3), (2, 5, 8, 8, 3, 4), (1, 4, 5, 11, 4, 5), (1, 3, 1, 2, 1, 10), (1, 4, 6, 20, 3, 10)]:
            a, b = torch.randn(n, c, h, w), torch.randn(n, c, h, w)
            an = a / torch.sqrt((a * a).sum(1, keepdim=True) + 1e-6)
            bn = b / torch.sqrt((b * b).sum(1, keepdim=True) + 1e-6)
            k = 2 * r + 1
            ref = torch.zeros(n, k * k, h, w)
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    for y in range(h):
                        for x in range(w):
                            if 0 <= y + dy < h and 0 <= x + dx < w:
                                ref[:, (dy + r) * k + dx + r, y, x] = (an[:, :, y, x] * bn[:, :, y + dy, x + dx]).sum(1)
            ref = (ref - ref.mean(1, keepdim=True)) * 4.0
            got = correlation(a, b, r, block)
            self.assertEqual(tuple(got.shape), (n, k * k, h, w))
            self.assertLess((got - ref).abs().max().item(), 1e-5, (n, c, h, w, r, block))


class SyntheticData(unittest.TestCase):
    def test_ground_truth_flow_explains_the_middle_frame(self):
        photos = [torch.rand(3, 64, 64) * 0.2 + F.interpolate(torch.rand(1, 3, 8, 8), size=(64, 64), mode="bicubic")[0]]
        photos = [p.clamp(0, 1) for p in photos]
        rng = np.random.default_rng(3)
        x, t, fl = data.make_sample(rng, [F.interpolate(photos[0][None], size=(400, 400), mode="bilinear")[0]], 96,
                                    force={"t": 0.3, "bg": (9.0, -5.0), "fg": []})
        i0, it, i1 = x[0:1], x[1:2], x[2:3]
        w0 = warp(i0, fl[None, 0:2])
        w1 = warp(i1, fl[None, 2:4])
        inner = (slice(None), slice(None), slice(12, -12), slice(12, -12))
        for w, i in [(w0, i0), (w1, i1)]:
            e_static = (i - it)[inner].abs().mean().item()
            self.assertLess((w - it)[inner].abs().mean().item(), 0.5 * e_static)

    def test_ground_truth_flow_explains_a_nonrigid_middle_frame(self):
        torch.manual_seed(0)
        photo = F.interpolate(torch.rand(1, 3, 12, 12), size=(400, 400), mode="bicubic")[0].clamp(0, 1)
        rng = np.random.default_rng(0)
        x, t, fl = data.make_sample(rng, [photo], 96, force={"t": 0.5, "bg": (0.0, 0.0), "fg": []}, nonrigid=1.0)
        i0, it, i1 = x[0:1], x[1:2], x[2:3]
        self.assertGreater(fl.abs().max().item(), 1.0)  # the deformation moves pixels without camera motion
        inner = (slice(None), slice(None), slice(12, -12), slice(12, -12))
        # 0.25: the frame-1 flow must come from solving Y = fwd(1, q) + w(Y) (the wobble read at
        # the start point instead left 0.34 of the static error on this sample)
        for w, i in [(warp(i0, fl[None, 0:2]), i0), (warp(i1, fl[None, 2:4]), i1)]:
            self.assertLess((w - it)[inner].abs().mean().item(), 0.25 * (i - it)[inner].abs().mean().item())

    def test_static_background_has_zero_flow(self):
        photo = torch.rand(3, 300, 300)
        for seed in range(6):
            _, _, fl = data.make_sample(np.random.default_rng(seed), [photo], 64, static_bg=1.0, nonrigid=0.3)
            still = (fl.abs().amax(0) < 1e-3).float().mean().item()  # px; rounding of fwd(inv(x))
            self.assertGreater(still, 0.2, f"seed {seed}: only {still:.2f} of the frame is still")

    def test_nonrigid_zero_keeps_the_earlier_random_stream(self):
        photo = torch.rand(3, 300, 300)
        a = data.make_sample(np.random.default_rng(9), [photo], 64)
        b = data.make_sample(np.random.default_rng(9), [photo], 64, nonrigid=0.0)
        self.assertTrue(torch.equal(a[0], b[0]))

    def test_augment_keeps_labels_consistent(self):
        rng = np.random.default_rng(0)
        frames = np.zeros((3, 32, 32, 3), np.uint8)
        flow = np.ones((4, 8, 8), np.float16) * np.array([1, 2, 3, 4], np.float16)[:, None, None]
        seen = set()
        for _ in range(40):
            fr, t, fl = data.augment(rng, frames, 0.25, flow, 16)
            self.assertEqual(fr.shape, (3, 16, 16, 3))
            self.assertEqual(fl.shape, (4, 4, 4))
            if t == 0.75:  # reversed: flows to frame 0 and frame 1 swap
                self.assertEqual(abs(fl[0, 0, 0]), 3.0)
            seen.add(t)
        self.assertEqual(seen, {0.25, 0.75})


class TrainSmoke(unittest.TestCase):
    def test_runs_train_score_and_checkpoint_with_and_without_lowres(self):
        torch.manual_seed(0)
        photo = F.interpolate(torch.rand(1, 3, 10, 10), size=(300, 300), mode="bicubic")[0].clamp(0, 1)
        with tempfile.TemporaryDirectory() as td:
            for name, seed in (("train", 0), ("val", 1)):
                os.makedirs(os.path.join(td, name))
                shard = data.make_shard(np.random.default_rng(seed), [photo], 4, size=64)
                data.save_shard(os.path.join(td, name, "shard_0000.npz"), shard)
            for lowres, half_lines in (("1", 2), ("0", 0)):  # VAL at step 0 and step 2
                ck, lp = os.path.join(td, f"ck{lowres}"), os.path.join(td, f"l{lowres}.log")
                r = subprocess.run(
                    [sys.executable, "-m", "kiln_vfi.train", "--cache", os.path.join(td, "train"), "--val", os.path.join(td, "val"),
                     "--ckpt-dir", ck, "--log", lp, "--max-steps", "2", "--val-every", "2", "--lowres", lowres,
                     "--batch", "2", "--crop", "32", "--min-shards", "1", "--pool", "1", "--threads", "1"],
                    cwd=os.path.dirname(HERE), capture_output=True, text=True, env={**os.environ, "KILN_VFI_DEV": td},
                )
                self.assertEqual(r.returncode, 0, r.stderr)
                with open(lp) as fh:
                    log = fh.read()
                self.assertEqual(log.count("VAL step"), 2, log)
                self.assertEqual(log.count("half-size/scale 2"), half_lines, log)
                self.assertEqual(sorted(os.listdir(ck)), ["best.pt", "last.pt"])
                st = torch.load(os.path.join(ck, "last.pt"), map_location="cpu")
                self.assertEqual((st["step"], st["args"]["lowres"]), (2, float(lowres)))


class BadInput(unittest.TestCase):
    def test_corrupt_checkpoint_is_reported_not_restarted(self):
        with tempfile.TemporaryDirectory() as td:
            with open(os.path.join(td, "last.pt"), "wb") as fh:
                fh.write(b"not a checkpoint")
            r = subprocess.run(
                [sys.executable, "-m", "kiln_vfi.train", "--ckpt-dir", td, "--log", os.path.join(td, "l.log"), "--max-steps", "1"],
                cwd=os.path.dirname(HERE), capture_output=True, text=True,
            )
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("corrupt", r.stderr)
            self.assertEqual(sorted(os.listdir(td)), ["l.log", "last.pt"])  # nothing new written

    def test_missing_photo_package_names_the_install_command(self):
        from kiln_vfi import photos

        with self.assertRaises(SystemExit):
            photos.check(["/nonexistent/photo.jpg"])


class Metrics(unittest.TestCase):
    def test_identical_images_score_perfect_ssim_and_zero_ie(self):
        x = torch.rand(1, 3, 32, 32)
        self.assertAlmostEqual(metrics.ssim_u8(x, x).item(), 1.0, places=5)
        self.assertEqual(metrics.ie_u8(x, x).item(), 0.0)

    def test_minterpolate_baseline_finds_a_pan(self):
        torch.manual_seed(0)
        # smooth enough that ffmpeg's scene-change detection does not take the pan for a cut
        photo = F.interpolate(torch.rand(1, 3, 8, 10), size=(240, 320), mode="bicubic")[0].clamp(0, 1)
        i0, gt, i1 = metrics.pan_triplet(photo, 128, 96, 8)
        half = torch.full((1, 1, 1, 1), 0.5)
        got = metrics.psnr_u8(metrics.minterpolate(i0, i1, half), gt).item()
        avg = metrics.psnr_u8((i0 + i1) / 2, gt).item()
        self.assertGreater(got, avg + 3.0)
        with self.assertRaises(ValueError):
            metrics.minterpolate(i0, i1, torch.full((1, 1, 1, 1), 0.25))


class Export(unittest.TestCase):
    def test_onnx_has_dynamic_hw_opset19_standard_ops(self):
        import onnx

        from kiln_vfi.export import export

        with tempfile.TemporaryDirectory() as td:
            p = os.path.join(td, "m.onnx")
            export(KilnVFI().eval(), p)
            m = onnx.load(p)
            self.assertEqual([(o.domain, o.version) for o in m.opset_import], [("", 19)])
            self.assertTrue(all(n.domain == "" for n in m.graph.node))
            ops = [n.op_type for n in m.graph.node]
            # every warp pair is one DeformConv: 1/8 features and 1/4 images depthwise, and the
            # two full-resolution warps with the blend (its mask input); no GridSample, no AveragePool
            self.assertEqual((ops.count("GridSample"), ops.count("AveragePool"), ops.count("DeformConv")), (0, 0, 3))
            attrs = [{a.name: (a.i or list(a.ints)) for a in n.attribute} for n in m.graph.node if n.op_type == "DeformConv"]
            self.assertEqual(attrs, [
                {"kernel_shape": [1, 1], "group": 48, "offset_group": 2},
                {"kernel_shape": [1, 1], "group": 6, "offset_group": 2},
                {"kernel_shape": [1, 1], "offset_group": 2},
            ])
            self.assertEqual([len(n.input) for n in m.graph.node if n.op_type == "DeformConv"], [4, 4, 5])  # X, W, offset, B[, mask]
            # opset 18 moved ReduceMean's axes to an input
            for r in (n for n in m.graph.node if n.op_type == "ReduceMean"):
                self.assertEqual((len(r.input), [a.name for a in r.attribute]), (2, ["keepdims"]))
            dims = m.graph.input[0].type.tensor_type.shape.dim
            self.assertEqual([d.dim_param or d.dim_value for d in dims], ["N", 3, "H", "W"])
            self.assertEqual([i.name for i in m.graph.input], ["img0", "img1", "timestep", "scale"])
            # the motion scale reaches two input Resizes and the final upsample through the graph
            feeds = {n.name for n in m.graph.node if "scale" in n.input}
            self.assertTrue(feeds, "no node reads the scale input")
            self.assertEqual([o.name for o in m.graph.output], ["output"])


if __name__ == "__main__":
    unittest.main()


class MotionScale(unittest.TestCase):
    def test_scale_one_is_the_training_form_and_half_is_a_2x2_mean(self):
        from kiln_vfi.model import Rescale

        torch.manual_seed(0)
        x = torch.rand(1, 3, 32, 48)
        self.assertTrue(torch.equal(Rescale.apply(x, torch.tensor([1.0])), x))
        self.assertTrue(torch.allclose(Rescale.apply(x, torch.tensor([0.5])), F.avg_pool2d(x, 2), atol=1e-6))
        net = KilnVFI().eval()
        for p in net.parameters():  # non-zero heads, so the flows matter
            p.data.normal_(0, 0.05)
        a, b, t = torch.rand(1, 3, 64, 96), torch.rand(1, 3, 64, 96), torch.full((1, 1, 1, 1), 0.3)
        with torch.no_grad():
            self.assertTrue(torch.equal(net(a, b, t), net(a, b, t, torch.tensor([1.0]))))
            half = net(a, b, t, torch.tensor([0.5]))
        self.assertEqual(tuple(half.shape), (1, 3, 64, 96))
        self.assertFalse(torch.equal(half, net(a, b, t)))


    def test_rescale_gradient_is_the_resize_transpose(self):
        from kiln_vfi.model import Rescale

        torch.manual_seed(0)
        x = torch.rand(2, 3, 8, 12, dtype=torch.float64, requires_grad=True)
        for f in (2.0, 0.5):
            self.assertTrue(torch.autograd.gradcheck(lambda v: Rescale.apply(v, torch.tensor([f])), (x,)))

    def test_lowres_batches_keep_the_full_size_flow_labels(self):
        # train.py --lowres: frames at half size, motion at scale 2; the flows the loss reads
        # must have the full-size labels' shape (1/4 of the crop) and pixel units
        from kiln_vfi.train import LOWRES_SCALE, flow_loss, lowres

        torch.manual_seed(0)
        photo = F.interpolate(torch.rand(1, 3, 10, 10), size=(400, 400), mode="bicubic")[0].clamp(0, 1)
        x, t, fl = data.make_sample(np.random.default_rng(3), [photo], 64, force={"t": 0.5, "bg": (6.0, 2.0), "fg": []})
        fl = F.avg_pool2d(fl[None], 4)  # as the shards store it: 1/4 resolution, full-size pixels
        i0, gt, i1 = lowres(x[0:1], x[1:2], x[2:3])
        self.assertEqual(tuple(i0.shape), (1, 3, 32, 32))
        self.assertTrue(torch.allclose(gt, F.avg_pool2d(x[1:2], 2)))
        net = KilnVFI().eval()
        for p in net.parameters():
            p.data.normal_(0, 0.05)
        tt = torch.full((1, 1, 1, 1), t)
        with torch.no_grad():
            pred = net(i0, i1, tt, LOWRES_SCALE, aux=True)
            full = net(x[0:1], x[2:3], tt, aux=True)
        self.assertEqual(tuple(pred["out"].shape), (1, 3, 32, 32))
        for k in ("ft0", "ft1", "d8", "d16"):
            self.assertEqual(pred[k].shape, full[k].shape, k)
        self.assertEqual(pred["ft0"].shape[2:], fl.shape[2:])
        flow_loss(pred, fl)  # the loss applies unchanged
        # units: a camera pan of (6, 2) px at full size is (3, 1) px at half size; a net whose
        # 1/4 flows are the labels must warp the half-size frames by half of them
        half_flow = F.interpolate(fl[:, 0:2], scale_factor=2.0, mode="bilinear", align_corners=False) / 2
        w0 = warp(F.avg_pool2d(x[0:1], 2), half_flow)
        inner = (slice(None), slice(None), slice(6, -6), slice(6, -6))
        self.assertLess((w0 - gt)[inner].abs().mean().item(), 0.3 * (i0 - gt)[inner].abs().mean().item())

    def test_auto_scale_is_the_table_kiln_interpolate_uses(self):
        # the same table as test/vfi/interpolator.test.ts (src/vfi/interpolator.ts autoScale)
        table = [(64, 48, 4), (160, 120, 4), (320, 240, 2), (333, 277, 2), (480, 340, 1), (640, 360, 1), (640, 480, 1),
                 (960, 540, 1), (1280, 720, 0.5), (1920, 1080, 0.5), (2560, 1440, 0.25), (3840, 2160, 0.25),
                 (7680, 4320, 0.25), (240, 320, 2)]
        for w, h, s in table:
            self.assertEqual(metrics.auto_scale(w, h), s, f"{w}x{h}")


class TorchDefinition(unittest.TestCase):
    def test_build_model_loads_the_committed_checkpoint_with_the_onnx_signature(self):
        import importlib.util

        path = os.path.join(os.path.dirname(HERE), "torch_def.py")
        spec = importlib.util.spec_from_file_location("kiln_torch_def", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        model = mod.build_model()
        self.assertFalse(model.training)
        a, b = torch.rand(1, 3, 64, 96), torch.rand(1, 3, 64, 96)
        with torch.no_grad():
            out = model(a, b, torch.full((1, 1, 1, 1), 0.5))
        self.assertEqual(tuple(out.shape), (1, 3, 64, 96))
        self.assertTrue(bool(torch.isfinite(out).all()))


class VariantCheckpoints(unittest.TestCase):
    def test_form_is_saved_and_rebuilt_and_init_fills_only_the_new_layers(self):
        from kiln_vfi.export import load_net
        from kiln_vfi.train import init_from

        torch.manual_seed(0)
        base = KilnVFI()
        with tempfile.TemporaryDirectory() as td:
            bp = os.path.join(td, "base.pt")
            torch.save({"model": base.state_dict(), "step": 7, "config": base.config}, bp)
            net = KilnVFI(proj16=16, proj8=12)
            new = init_from(net, bp)
            self.assertEqual(new, ["proj16.bias", "proj16.weight", "proj8.bias", "proj8.weight"])
            self.assertTrue(torch.equal(net.state_dict()["enc.l4.0.0.weight"], base.state_dict()["enc.l4.0.0.weight"]))
            vp = os.path.join(td, "variant.pt")
            torch.save({"model": net.state_dict(), "step": 8, "config": net.config}, vp)
            loaded, _ = load_net(vp)
            self.assertEqual(loaded.config, {"proj16": 16, "proj8": 12})
            with self.assertRaises(SystemExit):
                init_from(KilnVFI(), vp)  # the variant's projections have no place in the base net
