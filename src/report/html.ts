// Self-contained HTML view of a Report: one file that works offline. uPlot (MIT, pinned major
// in package.json) and its CSS are inlined; the Report itself is embedded as JSON, tables are
// rendered here (each numeric cell carries its exact value in data-value) and the charts are
// drawn in the page from the embedded JSON.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { columnTitle, formatCell } from './format.js';
import { environmentLine } from './markdown.js';
import type { Report, Table } from './types.js';

const require = createRequire(import.meta.url);
let vendor: { js: string; css: string } | null = null;
function uplot(): { js: string; css: string } {
  vendor ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return vendor;
}

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** JSON that cannot end the <script> element it is embedded in. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

function htmlTable(t: Table, id: string): string {
  const head = t.columns.map((c) => `<th data-key="${escapeHtml(c.key)}">${escapeHtml(columnTitle(c))}</th>`).join('');
  const body = t.rows
    .map((r, i) => {
      const cells = t.columns.map((c) => {
        const v = r[c.key] ?? null;
        const attr = typeof v === 'number' ? ` class="num" data-value="${escapeHtml(String(v))}"` : '';
        return `<td data-key="${escapeHtml(c.key)}"${attr}>${escapeHtml(formatCell(v, c))}</td>`;
      });
      return `<tr data-row="${i}">${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<table id="${escapeHtml(id)}-table"><thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
.env { color: #555; }
table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 3px 8px; } th { background: #f4f4f4; }
td.num { text-align: right; }
.chart { margin: 1em 0; }
`;

// Runs in the page. Reads the embedded report and draws each section's chart with uPlot.
const PAGE_SCRIPT = `
(function () {
  var report = JSON.parse(document.getElementById('kiln-report').textContent);
  var colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
  report.sections.forEach(function (s) {
    var c = s.chart, el = document.getElementById('chart-' + s.id);
    if (!c || !el || c.series.length === 0) return;
    var bars = c.kind === 'bars';
    var xs = bars ? c.labels.map(function (_, i) { return i; }) : c.x;
    var data = [xs].concat(c.series.map(function (sr) { return sr.values; }));
    var series = [{ label: c.xLabel }].concat(c.series.map(function (sr, i) {
      var col = colors[i % colors.length];
      return bars
        ? { label: sr.label, stroke: col, fill: col + '99', paths: uPlot.paths.bars({ size: [0.6, 80] }), points: { show: false } }
        : { label: sr.label, stroke: col, width: 1, points: { show: false } };
    }));
    var opts = {
      title: c.title, width: Math.min(1100, el.clientWidth || 900), height: 300, series: series,
      scales: { x: { time: false, range: bars ? [-0.5, xs.length - 0.5] : undefined }, y: { range: function (u, lo, hi) { return [Math.min(0, lo), hi * 1.05 || 1]; } } },
      axes: [
        { label: c.xLabel, values: bars ? function (u, ticks) { return ticks.map(function (t) { return Number.isInteger(t) && c.labels[t] !== undefined ? c.labels[t] : ''; }); } : undefined },
        { label: c.yLabel },
      ],
    };
    el.setAttribute('data-drawn', String(new uPlot(opts, data, el) ? 1 : 0));
  });
})();
`;

export function renderHtml(r: Report): string {
  const v = uplot();
  const settings = Object.entries(r.settings).filter(([, x]) => x !== null);
  const sections = r.sections
    .map((s) => {
      const parts = [`<section id="${escapeHtml(s.id)}"><h2>${escapeHtml(s.title)}</h2>`];
      for (const p of s.text ?? []) parts.push(`<p>${escapeHtml(p)}</p>`);
      if (s.table) parts.push(htmlTable(s.table, s.id));
      if (s.chart) parts.push(`<div class="chart" id="chart-${escapeHtml(s.id)}"></div>`);
      parts.push('</section>');
      return parts.join('\n');
    })
    .join('\n');
  const notes = r.notes.length > 0 ? `<h2>Notes</h2><ul>${r.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(r.title)}</title>
<style>${v.css}</style><style>${STYLE}</style>
</head><body>
<h1>${escapeHtml(r.title)}</h1>
<p class="env"><b>Machine:</b> ${escapeHtml(environmentLine(r.env))}</p>
${settings.length > 0 ? `<p class="env"><b>Settings:</b> ${escapeHtml(settings.map(([k, x]) => `${k} ${String(x)}`).join(', '))}</p>` : ''}
${sections}
${notes}
<script type="application/json" id="kiln-report">${scriptJson(r)}</script>
<script>${v.js}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
