// kiln profile MODEL: where the time goes, per op type and per node, from onnxruntime's profiler.
import { Command, Option } from 'commander';
import { collect, log, parseInputShapes, parsePositiveInt, printJson } from './io.js';
import { parseEp, parseNonNegativeInt, printReport, EPS } from './bench.js';
import type { Provider } from '../runtime/session.js';

interface Opts {
  inputShape?: string[];
  threads?: number;
  warmup: number;
  iterations: number;
  top: number;
  ep?: Provider;
  seed: number;
  json?: boolean;
  html?: string;
  markdown?: string;
  save?: string;
}

export function command(): Command {
  return new Command('profile')
    .description('profile a model with onnxruntime: time per op type and per node, share of total, top-N')
    .argument('<model>', 'ONNX model file')
    .option('--input-shape <name=dims>', 'shape for an input with dynamic dims, e.g. x=1x3x480x640 (repeatable)', collect)
    .option('--threads <n>', 'intra-op threads (0 = onnxruntime default)', parseNonNegativeInt('--threads'))
    .option('--warmup <n>', 'runs excluded from the summary after the first run', parseNonNegativeInt('--warmup'), 3)
    .option('--iterations <n>', 'profiled runs', parsePositiveInt('--iterations'), 20)
    .option('--top <n>', 'rows in the op-type and node tables', parsePositiveInt('--top'), 15)
    .addOption(new Option('--ep <provider>', `execution provider: ${EPS.join(' | ')}`).argParser(parseEp))
    .option('--seed <n>', 'seed of the random inputs', parseNonNegativeInt('--seed'), 1)
    .option('--json', 'print the report as JSON')
    .option('--html <file>', 'also write a self-contained HTML report with a chart')
    .option('--markdown <file>', 'also write a Markdown report')
    .option('--save <file>', 'also write the JSON report to a file')
    .action(async (model: string, o: Opts) => {
      const { profile } = await import('../bench/profile.js');
      const { writeReport } = await import('../report/write.js');
      log(`kiln profile: profiling ${model}`);
      const report = await profile(model, {
        session: { provider: o.ep ?? 'cpu', ...(o.threads ? { threads: o.threads } : {}) },
        shapes: { shapes: parseInputShapes(o.inputShape) },
        warmup: o.warmup,
        iterations: o.iterations,
        top: o.top,
        seed: o.seed,
      });
      if (o.html) await writeReport(report, o.html, 'html');
      if (o.markdown) await writeReport(report, o.markdown, 'md');
      if (o.save) await writeReport(report, o.save, 'json');
      if (o.json) printJson(report);
      else await printReport(report);
    });
}
