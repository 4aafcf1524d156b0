// Markdown view of a Report: header (machine, runtime, settings), then each section's text and
// table. Charts have no Markdown form; the HTML view draws them.
import { columnTitle, formatCell, formatNumber } from './format.js';
import type { Environment, Report, Table } from './types.js';

const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownTable(t: Table): string {
  const head = `| ${t.columns.map((c) => esc(columnTitle(c))).join(' | ')} |`;
  const rule = `|${t.columns.map((c) => (t.rows.some((r) => typeof r[c.key] === 'number') ? '---:' : '---')).join('|')}|`;
  const body = t.rows.map((r) => `| ${t.columns.map((c) => esc(formatCell(r[c.key] ?? null, c))).join(' | ')} |`);
  return [head, rule, ...body].join('\n');
}

export function environmentLine(e: Environment): string {
  const cores = e.physicalCores === null ? `${e.logicalCores} logical cores` : `${e.physicalCores} physical / ${e.logicalCores} logical cores`;
  return `${e.cpu}, ${cores}, ${formatNumber(e.memoryGiB, 3)} GiB, ${e.platform}; Node ${e.node}, onnxruntime-node ${e.onnxruntime}; load ${e.loadAverage.join(' ')}; ${e.date}`;
}

export function renderMarkdown(r: Report, headingLevel = 1): string {
  const h = (n: number): string => '#'.repeat(Math.min(6, headingLevel + n));
  const out: string[] = [`${h(0)} ${r.title}`, '', `**Machine:** ${environmentLine(r.env)}`, ''];
  const settings = Object.entries(r.settings).filter(([, v]) => v !== null);
  if (settings.length > 0) out.push(`**Settings:** ${settings.map(([k, v]) => `${k} ${String(v)}`).join(', ')}`, '');
  for (const s of r.sections) {
    out.push(`${h(1)} ${s.title}`, '');
    for (const p of s.text ?? []) out.push(p, '');
    if (s.table) out.push(markdownTable(s.table), '');
  }
  if (r.notes.length > 0) {
    out.push(`${h(1)} Notes`, '');
    for (const n of r.notes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}
