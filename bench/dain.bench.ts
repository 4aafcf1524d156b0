// DAIN (Bao et al., CVPR 2019) on standard ops at 640×480 through kiln's stage table:
// PyTorch eager FP32 → onnxruntime defaults → kiln optimization → INT8 / FP16 → tuned → combined.
// RANDOM WEIGHTS (training/dain/export.py, seed 0): speed and agreement with FP32 only, no
// interpolation quality. The ONNX file is .cache/dain/dain_640x480.onnx, exported once with
// Debian's python3-torch if absent (minutes of CPU); $KILN_DAIN_MODEL overrides it.
// INT8 is calibrated on a few vfi-dev frame pairs and every stage is compared with PyTorch on
// a held-out real pair when ../shared is present (else random inputs: speed only). One DAIN
// session peaks at ≈8 GB here (measured, 2 threads), five together do not fit in 24 GB, so the
// stages are measured one at a time, and all without onnxruntime's memory arena: with it the
// INT8 (QDQ) session was killed at 22.8 GB; without it, it peaks at 15.5 GB (measured alone).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from '../src/bench/pipeline.js';
import { getProfile } from '../src/runtime/profiles.js';
import type { Report } from '../src/report/types.js';
import { BenchSkipped, REPO, type BenchContext } from './lib.js';

const DEFAULT_MODEL = path.join(REPO, '.cache/dain/dain_640x480.onnx');
const TORCH_DEF = path.join(REPO, 'training/dain/torch_def.py');
const CALIB = path.join(REPO, '../shared/data/vfi-dev/ucf101');

function model(ctx: BenchContext): string {
  const env = process.env.KILN_DAIN_MODEL;
  if (env) {
    if (!existsSync(env)) throw new BenchSkipped(`KILN_DAIN_MODEL=${env} does not exist`);
    return env;
  }
  if (existsSync(DEFAULT_MODEL)) return DEFAULT_MODEL;
  if (!existsSync('/usr/bin/python3')) throw new BenchSkipped('no DAIN export and no /usr/bin/python3 (python3-torch) to make one');
  ctx.log('exporting DAIN at 640x480 (random weights, seed 0); this takes minutes');
  const r = spawnSync('/usr/bin/python3', [path.join(REPO, 'training/dain/export.py'), '--height', '480', '--width', '640', '-o', DEFAULT_MODEL], { encoding: 'utf8' });
  if (r.status !== 0) throw new BenchSkipped(`training/dain/export.py failed: ${(r.stderr ?? '').trim().split('\n').pop()}`);
  return DEFAULT_MODEL;
}

export async function run(ctx: BenchContext): Promise<Report> {
  const file = model(ctx);
  const server = getProfile('server-cpu');
  const profile = { ...server, session: { ...server.session, memArena: false } };
  // one DAIN frame takes ~45 s in onnxruntime and minutes in PyTorch here
  const iterations = 1; // the first run is reported apart; PyTorch eager takes minutes per frame
  const calibDir = existsSync(CALIB) ? CALIB : undefined;
  const report = await pipeline({
    model: file,
    profile,
    torch: `${TORCH_DEF}:build_model`,
    calibDir,
    calibCount: 3,
    batch: 1,
    warmup: 0,
    iterations,
    holdout: 1,
    oneAtATime: true,
    baseSession: { memArena: false },
    skip: {
      // PyTorch eager DAIN takes ~3.3 min per frame at Debian PyTorch's default single thread
      torchscript: 'TorchScript trace + freeze of DAIN ran over 17 min at PyTorch\'s default single thread here without finishing its first run',
    },
    onProgress: (m) => ctx.log(m),
  });
  report.notes = [
    ...report.notes,
    'DAIN with RANDOM weights (seed 0): the speed of the architecture and the agreement of each stage with FP32, not interpolation quality.',
    calibDir ? 'Quality on a held-out real vfi-dev frame pair (../shared); INT8 is calibrated on 3 others.' : 'Quality on random inputs (../shared absent): speed only.',
  ];
  return { ...report, title: 'DAIN (standard ops, random weights) at 640×480: prototype → production' };
}
