import { Command } from 'commander';
import { collect, out, parseInputShapes, printJson, bold } from './io.js';
import { bytes, si, table } from './format.js';

export function command(): Command {
  return new Command('inspect')
    .description('Show what a model is: I/O, opsets, op histogram, parameters, external data, MACs/FLOPs')
    .argument('<model>', 'ONNX model file')
    .option('--input-shape <name=dims>', 'fix an input shape for shape inference and MAC counts, e.g. input=1x3x480x640 (repeatable)', collect, [])
    .option('--json', 'print the report as JSON (shape documented in the README)')
    .action(async (file: string, opts: { inputShape: string[]; json?: boolean }) => {
      const inputShapes = parseInputShapes(opts.inputShape);
      const { loadModel } = await import('../onnx/read.js');
      const { inspectModel } = await import('../ir/inspect.js');
      const report = inspectModel(await loadModel(file), { inputShapes });
      if (opts.json) return printJson(report);
      const shape = (s: (number | string | null)[] | null): string => (s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '[?]');
      out(`${bold(report.file)}  ${bytes(report.fileBytes)}`);
      out(`IR version ${report.irVersion}, opsets ${Object.entries(report.opsets).map(([d, v]) => `${d} ${v}`).join(', ')}`);
      if (report.producer.name) out(`producer ${report.producer.name} ${report.producer.version}`.trimEnd());
      out('');
      out(table(['', 'name', 'type', 'shape'], [
        ...report.inputs.map((t) => ['input', t.name, t.elemType, shape(t.shape)]),
        ...report.outputs.map((t) => ['output', t.name, t.elemType, shape(t.shape)]),
      ]));
      out('');
      out(`${report.nodes} nodes${report.subgraphs ? ` (${report.subgraphs} subgraphs)` : ''}`);
      out(table(['op', '>count'], Object.entries(report.ops).map(([k, v]) => [k, v])));
      if (report.unknownOps.length) out(`ops kiln has no shape rule for (kept as they are): ${report.unknownOps.join(', ')}`);
      out('');
      out(`parameters ${si(report.parameters.count)} (${bytes(report.parameters.bytes)})`);
      if (report.parameters.count) out(table(['type', '>tensors', '>elements', '>bytes'], Object.entries(report.parameters.byType).map(([k, v]) => [k, v.tensors, si(v.count), bytes(v.bytes)])));
      for (const e of report.externalData) out(`external data ${e.file}: ${e.tensors} tensors, ${bytes(e.bytes)}`);
      out('');
      const c = report.cost;
      const at = Object.keys(report.inputShapes).length ? ` at ${Object.entries(report.inputShapes).map(([k, v]) => `${k}=${v.join('x')}`).join(', ')}` : '';
      out(`compute${at}: ${si(c.macs, 'MAC')}, ${si(c.flops, 'FLOP')}`);
      if (Object.keys(c.byOp).length) out(table(['op', '>nodes', '>MACs'], Object.entries(c.byOp).map(([k, v]) => [k, v.nodes, si(v.macs)])));
      if (c.unresolved.length) out(`not counted (unknown dims; use --input-shape): ${c.unresolved.slice(0, 5).join(', ')}${c.unresolved.length > 5 ? `, … ${c.unresolved.length - 5} more` : ''}`);
      for (const p of report.shapeProblems.slice(0, 5)) out(`shape problem: ${p}`);
    });
}
