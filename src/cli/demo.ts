import { Command } from 'commander';
import { log, out, printJson } from './io.js';

export function command(): Command {
  return new Command('demo')
    .description('The main job on embedded defaults: optimize the shipped model and interpolate a sample clip 2×')
    .option('--json', 'print the optimization report and the interpolation summary as JSON')
    .action(async (opts: { json?: boolean }) => {
      const { runDemo } = await import('../demo.js');
      const r = await runDemo({ onLog: (s) => log(`kiln demo: ${s}`) });
      if (opts.json) return printJson({ optimization: r.optimization, interpolation: r.interpolation });
      const o = r.optimization;
      out('Optimization report (shipped model, specialised to 1×3×480×640)');
      out(`  nodes ${o.before.nodes} → ${o.after.nodes}, initializers ${o.before.initializers} → ${o.after.initializers}, ${o.changes} rewrites in ${o.rounds} rounds, ${o.ms.toFixed(0)} ms`);
      for (const p of o.passes.filter((x) => x.changes)) out(`  ${p.name.padEnd(36)} ${String(p.changes).padStart(5)} changes`);
      for (const v of o.verification?.outputs ?? []) out(`  verified on onnxruntime: ${v.name} max abs error ${v.maxAbs.toExponential(2)} (${v.tolerance.name} ${v.ok ? 'ok' : 'FAIL'})`);
      out('');
      out(`Interpolation summary (${r.interpolation.output})`);
      printJson(r.interpolation);
    });
}
