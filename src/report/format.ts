// How report numbers are shown. Markdown, HTML and the terminal share this, so every view of a
// report shows the same digits (and the HTML test can compare the page against the JSON).
import type { Cell, Column } from './types.js';

/** Integers as they are; other numbers to `digits` significant digits, never in exponent form above 1e-6. */
export function formatNumber(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? '∞' : '−∞';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 10 ** digits) return v.toFixed(0);
  if (a < 1e-6) return v.toExponential(digits - 1);
  return String(Number(v.toPrecision(digits)));
}

export function formatCell(v: Cell, c: Column): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return formatNumber(v, c.digits ?? 4);
  return v;
}

export const columnTitle = (c: Column): string => (c.unit ? `${c.title} (${c.unit})` : c.title);

/** A plain-text table for the terminal, numbers right-aligned. */
export function textTable(columns: Column[], rows: Record<string, Cell>[]): string {
  const head = columns.map(columnTitle);
  const body = rows.map((r) => columns.map((c) => formatCell(r[c.key] ?? null, c)));
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const numeric = columns.map((c) => rows.some((r) => typeof r[c.key] === 'number'));
  const line = (cells: string[]): string => cells.map((s, i) => (numeric[i] ? s.padStart(width[i]) : s.padEnd(width[i]))).join('  ').trimEnd();
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
