// The shipped model through kiln's stage table at 640×480: PyTorch eager FP32 (training/torch_def.py,
// the same weights as models/kiln-vfi.onnx while the card's step matches best.pt) → onnxruntime
// defaults → kiln optimization → INT8 / FP16 → tuned session → combined. Calibrated on the vfi-dev
// frames when ../shared is present (real images; the pairs are not all consecutive, which is fine
// for activation ranges), else on random inputs (speed only).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from '../src/bench/pipeline.js';
import { getProfile } from '../src/runtime/profiles.js';
import type { Report } from '../src/report/types.js';
import { BenchSkipped, REPO, type BenchContext } from './lib.js';

const MODEL = path.join(REPO, 'models/kiln-vfi.onnx');
const TORCH_DEF = path.join(REPO, 'training/torch_def.py');
const CALIB = path.join(REPO, '../shared/data/vfi-dev/ucf101');

export async function run(ctx: BenchContext): Promise<Report> {
  if (!existsSync(MODEL)) throw new BenchSkipped(`${path.relative(REPO, MODEL)} is absent`);
  const torch = existsSync('/usr/bin/python3') ? `${TORCH_DEF}:build_model` : undefined;
  const calibDir = existsSync(CALIB) ? CALIB : undefined;
  const report = await pipeline({
    model: MODEL,
    profile: getProfile('server-cpu'),
    torch,
    calibDir,
    shapes: { img0: [1, 3, 480, 640], img1: [1, 3, 480, 640], timestep: [1, 1, 1, 1] },
    batch: 1,
    warmup: ctx.quick ? 1 : 3,
    iterations: ctx.quick ? 3 : 15,
    holdout: 3,
    onProgress: (m) => ctx.log(m),
  });
  report.notes = [
    ...report.notes,
    calibDir ? 'INT8 calibrated on vfi-dev frames (../shared).' : 'INT8 calibrated on random inputs (../shared absent): speed only.',
    ...(torch ? [] : ['no /usr/bin/python3 (Debian python3-torch): no PyTorch rows']),
  ];
  return { ...report, title: 'kiln-vfi (shipped model) at 640×480: prototype → production' };
}
