import { Command, Option } from 'commander';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { bold, collect, log, out, parseInputShapes, printJson } from './io.js';
import { table } from './format.js';
import type { OptimizeReport } from '../passes/index.js';

const list = (s: string | undefined): string[] | undefined => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));

const real = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
};

interface Opts {
  output: string;
  inputShape: string[];
  passes?: string;
  skip?: string;
  ortLevel?: 'basic' | 'extended' | 'layout' | 'all';
  verify: boolean;
  inputs?: string;
  seed: string;
  json?: boolean;
  listPasses?: boolean;
}

export function command(): Command {
  return new Command('optimize')
    .description('Rewrite a model with verified graph passes (eliminate, fold, fuse); every result is checked on onnxruntime before it is written')
    .argument('[model]', 'ONNX model file')
    .option('-o, --output <file>', 'where to write the optimized model (never the input)')
    .option('--input-shape <name=dims>', 'fix an input shape, e.g. input=1x3x480x640 (repeatable); the output is specialised to it', collect, [])
    .option('--passes <a,b>', 'run only these passes (see --list-passes)')
    .option('--skip <c,d>', 'leave these passes out')
    .addOption(new Option('--ort-level <level>', "also run onnxruntime's offline optimizer at this level").choices(['basic', 'extended', 'layout', 'all']))
    .option('--no-verify', 'skip the onnxruntime comparison (the result is then unproven)')
    .option('--inputs <dir>', 'verify on these inputs (<input name>.npy / .pb, or input_<i>.pb) instead of random ones')
    .option('--seed <n>', 'seed of the random verification inputs', '1')
    .option('--list-passes', 'list the passes and exit')
    .option('--json', 'print the report as JSON')
    .action(async (file: string | undefined, opts: Opts) => {
      const lib = await import('../passes/index.js');
      if (opts.listPasses) {
        const rows = [...lib.REGISTRY.values()].map((p) => [p.name, p.kind, lib.PASSES.includes(p) ? 'yes' : '', p.summary]);
        if (opts.json) return printJson(rows.map(([name, kind, dflt, summary]) => ({ name, kind, default: dflt === 'yes', summary })));
        return out(table(['pass', 'kind', 'default', 'what'], rows));
      }
      if (!file) throw new UsageError('missing MODEL (kiln optimize MODEL -o OUT)');
      if (!opts.output) throw new UsageError('missing -o OUT');
      if (real(opts.output) === real(file)) throw new UsageError(`refusing to overwrite the input ${file}; choose another -o`);
      const seed = Number(opts.seed);
      if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got '${opts.seed}'`);
      const inputShapes = parseInputShapes(opts.inputShape);
      const { loadModel } = await import('../onnx/read.js');
      const { saveModel } = await import('../onnx/write.js');
      const model = await loadModel(file);
      let result;
      try {
        result = await lib.optimizeModel(model, {
          passes: list(opts.passes), skip: list(opts.skip), inputShapes, verify: opts.verify, seed, inputsDir: opts.inputs, ortLevel: opts.ortLevel,
        });
      } catch (e) {
        if (e instanceof lib.VerificationError) {
          if (opts.json) printJson({ written: false, error: e.message, culprit: e.culprit, report: e.report });
          else print(e.report, file, null);
          log(`not written: ${opts.output}`);
        }
        throw e;
      }
      const saved = await saveModel(result.model, opts.output, { protect: [file] });
      if (opts.json) return printJson({ written: true, output: opts.output, bytes: saved.bytes, report: result.report });
      print(result.report, file, opts.output, saved.bytes);
    });
}

function print(r: OptimizeReport, input: string, output: string | null, bytes?: number): void {
  out(`${bold(input)}: ${r.before.nodes} → ${r.after.nodes} nodes, ${r.before.initializers} → ${r.after.initializers} initializers (${r.rounds} rounds${r.converged ? '' : ', stopped before the fixed point'})`);
  const ops = [...new Set([...Object.keys(r.before.ops), ...Object.keys(r.after.ops)])].sort((a, b) => (r.before.ops[b] ?? 0) - (r.before.ops[a] ?? 0) || a.localeCompare(b));
  out(table(['op', '>before', '>after'], ops.map((o) => [o, r.before.ops[o] ?? 0, r.after.ops[o] ?? 0])));
  out('');
  out(table(['pass', 'kind', '>changes', '>removed', '>ms'], r.passes.map((p) => [p.name, p.kind, p.changes, p.removed, p.ms.toFixed(1)])));
  if (r.ort) {
    out('');
    out(`onnxruntime ${r.ort.level}: ${r.after.nodes} → ${r.ort.nodesAfter} nodes`);
    out(r.ort.note);
  }
  const v = r.ort?.verification ?? r.verification;
  out('');
  if (v) {
    out(`verified on onnxruntime against the original (${v.inputs.map((i) => `${i.name} ${i.shape.join('x')} ${i.source}`).join(', ')}):`);
    for (const o of v.outputs) out(`  ${o.name}: max abs ${o.maxAbs.toExponential(2)}, max rel ${o.maxRel.toExponential(2)} (${o.tolerance.name} abs ${o.tolerance.abs} rel ${o.tolerance.rel}) ${o.ok ? 'ok' : `FAIL${o.worst ? ` at element ${o.worst.index}: ${o.worst.actual} vs ${o.worst.expected}` : ''}${o.problem ? `: ${o.problem}` : ''}`}`);
  } else out('not verified (--no-verify)');
  if (r.notes.length) {
    out('');
    out(`not applied (${r.notes.length}):`);
    for (const n of r.notes.slice(0, 20)) out(`  ${n.pass}: ${n.at}: ${n.reason}`);
    if (r.notes.length > 20) out(`  … ${r.notes.length - 20} more (--json lists all)`);
  }
  for (const w of r.shapeWarnings.slice(0, 5)) out(`shape inference: ${w}`);
  if (output) out(`\nwrote ${output}${bytes !== undefined ? ` (${bytes} bytes)` : ''} in ${r.ms.toFixed(0)} ms`);
}
