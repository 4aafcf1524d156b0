// kiln pipeline MODEL --profile NAME: every stage from the PyTorch prototype to the deployment
// profile, measured in one run, with quality against the original; writes JSON, Markdown, HTML.
import { Command } from 'commander';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { collect, log, out, parseInputShapes, parsePositiveInt, printJson } from './io.js';
import { parseNonNegativeInt, parsePositiveNumber, printReport } from './bench.js';

interface Opts {
  profile?: string;
  calib?: string;
  calibPreset?: string;
  torch?: string;
  inputShape?: string[];
  batch?: number;
  warmup: number;
  iterations?: number;
  duration?: number;
  holdout: number;
  calibCount?: number;
  oneAtATime?: boolean;
  arena: boolean;
  out?: string;
  json?: boolean;
}

export function command(): Command {
  return new Command('pipeline')
    .description('measure every stage prototype → production (PyTorch eager, onnxruntime defaults, kiln optimization, INT8/FP16, tuned session, combined) and write the report')
    .argument('<model>', 'ONNX model exported from the prototype')
    .option('--profile <name>', 'deployment profile: server-cpu, server-gpu, edge, browser-wasm')
    .option('--calib <dir>', 'calibration data for INT8: a folder of images (scaled to the input size) or tensors')
    .option('--calib-preset <name>', 'pixel normalisation of calibration images: unit ([0, 1]), imagenet, raw255', 'unit')
    .option('--torch <def>', 'PyTorch definition path/to/model.py[:factory] (factory() returns the nn.Module; default build_model)')
    .option('--input-shape <name=dims>', 'shape for an input with dynamic dims (repeatable); default: the profile input size', collect)
    .option('--batch <n>', "batch size (default: the profile's)", parsePositiveInt('--batch'))
    .option('--warmup <n>', 'untimed runs per stage after the first', parseNonNegativeInt('--warmup'), 5)
    .option('--iterations <n>', 'measured runs per stage (default 30)', parsePositiveInt('--iterations'))
    .option('--duration <s>', 'measure for this many seconds instead', parsePositiveNumber('--duration'))
    .option('--holdout <n>', 'held-out input sets for the quality columns', parsePositiveInt('--holdout'), 3)
    .option('--calib-count <n>', 'calibrate on at most N samples of the --calib folder (default: all but the held-out ones)', parsePositiveInt('--calib-count'))
    .option('--one-at-a-time', 'measure the stages one after another, each session alone in memory (for models too large to hold every stage at once; ratios then do not cancel drift)')
    .option('--no-arena', "run every onnxruntime session without its memory arena, the tuned one included (for models whose sessions do not fit with it: DAIN's INT8 session needs 15.5 GB without, over 22.8 GB with)")
    .option('-o, --out <dir>', 'report directory (default out/pipeline-<model>-<profile>)')
    .option('--json', 'print the report as JSON')
    .action(async (model: string, o: Opts) => {
      if (!o.profile) throw new UsageError('kiln pipeline needs --profile NAME (server-cpu, server-gpu, edge, browser-wasm)');
      if (o.iterations !== undefined && o.duration !== undefined) throw new UsageError('give either --iterations or --duration, not both');
      const { getProfile } = await import('../runtime/profiles.js');
      const { pipeline } = await import('../bench/pipeline.js');
      const { writeReport } = await import('../report/write.js');
      const named = getProfile(o.profile);
      const profile = o.arena ? named : { ...named, session: { ...named.session, memArena: false } };
      const report = await pipeline({
        model,
        profile,
        calibDir: o.calib,
        calibPreset: o.calibPreset,
        torch: o.torch,
        shapes: parseInputShapes(o.inputShape),
        batch: o.batch,
        warmup: o.warmup,
        iterations: o.duration === undefined ? (o.iterations ?? 30) : undefined,
        durationS: o.duration,
        holdout: o.holdout,
        calibCount: o.calibCount,
        oneAtATime: o.oneAtATime,
        ...(o.arena ? {} : { baseSession: { memArena: false } }),
        onProgress: (m) => log(`kiln pipeline: ${m}`),
      });
      const dir = o.out ?? path.join('out', `pipeline-${path.basename(model, '.onnx')}-${profile.name}`);
      for (const [name, f] of [['report.json', 'json'], ['report.md', 'md'], ['report.html', 'html']] as const) await writeReport(report, path.join(dir, name), f);
      if (o.json) printJson(report);
      else {
        await printReport(report, ['stage', 'fps', 'median', 'speedup', 'maxAbs', 'snrDb', 'note']);
        out(`\nreport: ${path.join(dir, 'report.html')} (also report.md, report.json)`);
      }
    });
}
