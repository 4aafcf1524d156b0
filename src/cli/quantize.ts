import { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { collect, log, out, parsePositiveInt, printJson, bold } from './io.js';
import { table } from './format.js';

interface Opts {
  output: string;
  mode: string;
  calib?: string;
  calibCount?: number;
  calibSize?: string;
  preset?: string;
  mean?: string;
  std?: string;
  calibrator: string;
  percentile?: string;
  activations: string;
  weightBits?: string;
  matmulScales?: string;
  exclude: string[];
  keepIoTypes?: boolean;
  budget?: string;
  maxDrop?: string;
  sensitivity?: boolean;
  heldOut?: string;
  speedRuns?: string;
  threads?: number;
  report?: string;
  optimize: boolean;
  json?: boolean;
}

const triple = (name: string, s: string): [number, number, number] => {
  const v = s.split(',').map(Number);
  if (v.length !== 3 || v.some((x) => !Number.isFinite(x))) throw new UsageError(`${name} expects three numbers r,g,b, got '${s}'`);
  return v as [number, number, number];
};

const fmt = (x: number | undefined, d = 2): string => (x === undefined ? '' : Number.isFinite(x) ? x.toFixed(d) : x > 0 ? 'inf' : String(x));

export function command(): Command {
  return new Command('quantize')
    .description('FP32 → static INT8 (QDQ), dynamic INT8, FP16, or auto mixed precision; reports error and speed vs FP32')
    .argument('<model>', 'FP32 ONNX model')
    .requiredOption('-o, --output <file>', 'quantized model (written atomically; never the input)')
    .option('--mode <mode>', 'int8 | int8-dynamic | fp16 | auto (INT8 keeping the fewest layers float that meet --budget)', 'int8')
    .option('--calib <source>', "calibration data: a folder of images, a .npy/.pb file or folder of them (or test_data_set_K/input_I.pb sets), or 'random' (speed tests only)")
    .option('--calib-count <n>', 'use at most this many samples', parsePositiveInt('--calib-count'))
    .option('--calib-size <WxH>', 'image size for models with symbolic spatial dims (e.g. 224 or 640x480)')
    .option('--preset <name>', 'image normalization: unit (pixels/255), imagenet, raw255', 'unit')
    .option('--mean <r,g,b>', 'per-channel mean after scaling pixels to [0,1] (overrides --preset)')
    .option('--std <r,g,b>', 'per-channel std after scaling pixels to [0,1] (overrides --preset)')
    .option('--calibrator <name>', 'minmax | percentile | entropy', 'minmax')
    .option('--percentile <p>', 'percentile calibrator: share of values kept, in % (default 99.99)')
    .option('--activations <type>', 'uint8 (asymmetric, default: faster on x86) | int8 (symmetric)', 'uint8')
    .option('--weight-bits <n>', '7 (reduce range: no u8×s8 saturation on x86 CPUs without VNNI, coarser weights) or 8; default: 7 on x86 without VNNI, else 8')
    .option('--matmul-scales <kind>', 'MatMul weight scales: tensor (default; fewer u8×s8 saturations without VNNI) | column')
    .option('--exclude <list>', 'keep these float: op:GridSample,node:NAME,node:PREFIX* (repeatable; PREFIX* = every node whose name starts with PREFIX)', collect, [])
    .option('--keep-io-types', 'fp16: keep float32 inputs and outputs (Casts inside)')
    .option('--budget <spec>', 'quality to keep: psnr=38, sqnr=30 or top1=99 (keeps the fewest layers float that meet it)')
    .option('--max-drop <pct>', 'same as --budget top1=(100 − pct): largest top-1 disagreement with FP32, in %')
    .option('--sensitivity', 'print the per-layer sensitivity table (also without a budget)')
    .option('--held-out <n>', 'samples held out of calibration for scoring (default: a quarter when ≥ 8)')
    .option('--speed-runs <n>', 'interleaved timing runs per model; 0 skips the speed comparison', '20')
    .option('--threads <n>', 'onnxruntime intra-op threads', parsePositiveInt('--threads'))
    .option('--no-optimize', "skip kiln's optimizer (Conv+BN folding etc.) before quantizing")
    .option('--report <file>', 'where to write the JSON report (default: OUTPUT with .report.json)')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, o: Opts) => {
      const { MODES, quantizeModel } = await import('../quantize/index.js');
      const { CALIBRATORS, PRESETS } = await import('../quantize/calibrate.js');
      const { ACT_TYPES } = await import('../quantize/qdq.js');
      const { parseBudget } = await import('../quantize/sensitivity.js');
      const mode = o.mode as (typeof MODES)[number];
      if (!MODES.includes(mode)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}, got '${o.mode}'`);
      if (!CALIBRATORS.includes(o.calibrator as never)) throw new UsageError(`--calibrator must be one of ${CALIBRATORS.join(', ')}, got '${o.calibrator}'`);
      if (!ACT_TYPES.includes(o.activations as never)) throw new UsageError(`--activations must be uint8 or int8, got '${o.activations}'`);
      if (resolve(o.output) === resolve(file)) throw new UsageError('--output must differ from the input model (inputs are never overwritten)');
      if (!existsSync(dirname(resolve(o.output))) || !statSync(dirname(resolve(o.output))).isDirectory()) throw new UsageError(`--output ${o.output}: folder ${dirname(o.output)} does not exist`);
      const preset = PRESETS[o.preset ?? 'unit'];
      if (!preset) throw new UsageError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${o.preset}'`);
      let size: [number, number] | undefined;
      if (o.calibSize) {
        const m = /^(\d+)(?:x(\d+))?$/.exec(o.calibSize);
        if (!m) throw new UsageError(`--calib-size expects N or WxH, got '${o.calibSize}'`);
        size = [Number(m[1]), Number(m[2] ?? m[1])];
      }
      const num = (name: string, s: string | undefined): number | undefined => {
        if (s === undefined) return undefined;
        const n = Number(s);
        if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} expects a non-negative number, got '${s}'`);
        return n;
      };
      let budget = o.budget ? parseBudget(o.budget) : undefined;
      if (o.maxDrop !== undefined) {
        if (budget) throw new UsageError('give either --budget or --max-drop, not both');
        budget = { metric: 'top1', min: 100 - num('--max-drop', o.maxDrop)! };
      }
      type Src = import('../quantize/calibrate.js').SampleSource;
      let calib: Src | undefined;
      if (o.calib === 'random') calib = { kind: 'random', count: o.calibCount ?? 16 };
      else if (o.calib) {
        if (!existsSync(o.calib)) throw new UsageError(`--calib ${o.calib}: no such file or folder`);
        const isTensors = statSync(o.calib).isFile() || (await import('node:fs')).readdirSync(o.calib).some((e) => /\.(npy|pb)$/.test(e) || /^test_data_set_/.test(e));
        calib = isTensors
          ? { kind: 'tensors', path: o.calib, count: o.calibCount }
          : { kind: 'images', dir: o.calib, count: o.calibCount, preprocess: { size, mean: o.mean ? triple('--mean', o.mean) : preset.mean, std: o.std ? triple('--std', o.std) : preset.std } };
      } else if (mode === 'int8' || mode === 'auto') {
        throw new UsageError(`--mode ${mode} needs calibration data: --calib DIR (images), --calib FILE.npy, or --calib random (speed tests only)`);
      }
      const { loadModel } = await import('../onnx/read.js');
      const { saveModel } = await import('../onnx/write.js');
      const { writeFileSync, renameSync, rmSync } = await import('node:fs');
      const model = await loadModel(file);
      const { model: q, report } = await quantizeModel(model, {
        mode,
        calib,
        calibrator: o.calibrator as never,
        percentile: num('--percentile', o.percentile),
        activations: o.activations as never,
        weightBits: o.weightBits === undefined ? undefined : o.weightBits === '7' ? 7 : o.weightBits === '8' ? 8 : (() => { throw new UsageError(`--weight-bits must be 7 or 8, got '${o.weightBits}'`); })(),
        matmulScales: o.matmulScales as never,
        exclude: o.exclude,
        keepIoTypes: o.keepIoTypes,
        budget,
        sensitivity: o.sensitivity,
        heldOut: num('--held-out', o.heldOut),
        speedRuns: num('--speed-runs', o.speedRuns),
        threads: o.threads,
        optimize: o.optimize,
        onProgress: o.json ? undefined : (m) => log(`kiln quantize: ${m}`),
      });
      await saveModel(q, o.output, { protect: [file] });
      const reportPath = o.report ?? o.output.replace(/(\.onnx)?$/, '.report.json');
      const tmp = `${reportPath}.kiln-tmp-${process.pid}`;
      try {
        writeFileSync(tmp, `${JSON.stringify(report, null, 2)}\n`);
        renameSync(tmp, reportPath);
      } catch (e) {
        rmSync(tmp, { force: true });
        throw e;
      }
      if (o.json) return printJson({ output: o.output, reportFile: reportPath, ...report });
      for (const w of report.warnings) log(`warning: ${w}`);
      out(`${bold(o.output)}  (${report.mode}; report ${reportPath})`);
      if (report.calibration) out(`calibration: ${report.calibration.source}${report.calibration.calibrator ? `, ${report.calibration.calibrator}, ${report.calibration.activations} activations` : ''}`);
      for (const n of report.notes) out(`note: ${n}`);
      out(`integer ops onnxruntime runs: ${Object.entries(report.ort.integerOps).map(([k, v]) => `${k}×${v}`).join(' ') || 'none'}${Object.keys(report.ort.floatCompute).length ? `; float compute left: ${Object.entries(report.ort.floatCompute).map(([k, v]) => `${k}×${v}`).join(' ')}` : ''}`);
      out('');
      out(`error vs FP32 on ${report.evaluatedOn}:`);
      out(table(['output', '>max abs', '>mean abs', '>SQNR dB', '>PSNR dB', '>top-1 %'], report.outputs.map((e) => [e.name, e.maxAbs.toExponential(2), e.meanAbs.toExponential(2), fmt(e.sqnr), fmt(e.psnr), fmt(e.top1Agreement, 1)])));
      if (report.speed) out(`\nspeed (${report.speed.inputs}, median of ${report.speed.runs} interleaved runs): FP32 ${report.speed.fp32Ms.toFixed(2)} ms, ${report.mode} ${report.speed.quantizedMs.toFixed(2)} ms → ${report.speed.speedup.toFixed(2)}×`);
      if (report.sensitivity) {
        const s = report.sensitivity;
        out(`\nsensitivity (${s.metric} on ${report.evaluatedOn}; all quantized: ${fmt(s.allQuantized)}):`);
        const sq = s.metric === 'sqnr';
        out(table(['layer', 'op', '>tensor SQNR dB', `>only this ${s.metric}`, ...(sq ? [] : ['>only this SQNR']), `>all but this ${s.metric}`, ...(sq ? [] : ['>all but this SQNR']), 'kept float'],
          s.rows.map((r) => [r.node, r.op, fmt(r.tensorSqnr), fmt(r.onlyThis), ...(sq ? [] : [fmt(r.onlyThisSqnr)]), fmt(r.allButThis), ...(sq ? [] : [fmt(r.allButThisSqnr)]), r.keptFloat ? 'yes' : ''])));
        if (s.budget) out(`budget ${s.budget.metric} ≥ ${s.budget.min}: ${s.met ? 'met' : 'NOT met'} with ${s.keptFloat.length} layer(s) float (${fmt(s.final)})`);
      }
      if (report.keptFloat.length) {
        out(`\nkept float (${report.keptFloat.length}${report.keptFloat.length > 30 ? ', grouped by op; every node is in the JSON report' : ''}):`);
        if (report.keptFloat.length <= 30) out(table(['node', 'op', 'why'], report.keptFloat.map((k) => [k.node, k.op, k.reason])));
        else {
          const groups = new Map<string, { n: number; first: string; reason: string }>();
          for (const k of report.keptFloat) {
            const g = groups.get(k.op) ?? { n: 0, first: k.node, reason: k.reason };
            g.n++;
            groups.set(k.op, g);
          }
          out(table(['op', '>nodes', 'e.g.', 'why (for that node)'], [...groups].sort((a, b) => b[1].n - a[1].n).map(([op, g]) => [op, g.n, g.first, g.reason])));
        }
      }
    });
}
