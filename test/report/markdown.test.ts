// Markdown and terminal views of a fixed Report, against a golden snapshot
// (UPDATE_SNAPSHOTS=1 regenerates test/snapshots/report-markdown.md), plus number formatting.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatCell, formatNumber, textTable } from '../../src/report/format.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { escapeHtml, renderHtml } from '../../src/report/html.js';
import { REPORT_SCHEMA, type Report } from '../../src/report/types.js';

const SNAPSHOT = fileURLToPath(new URL('../snapshots/report-markdown.md', import.meta.url));

const REPORT: Report = {
  schema: REPORT_SCHEMA,
  kind: 'bench',
  title: 'kiln bench: a.onnx, b|c.onnx',
  env: { cpu: 'Test CPU', logicalCores: 4, physicalCores: 2, memoryGiB: 15.6, platform: 'linux-x64', node: '20.0.0', onnxruntime: '1.30.0', loadAverage: [0.5, 0.25, 0.1], date: '2026-01-01T00:00:00.000Z' },
  settings: { provider: 'cpu', threads: 'default', iterations: 50, durationS: null },
  sections: [
    {
      id: 'results',
      title: 'Results',
      text: ['Two models.'],
      table: {
        columns: [{ key: 'model', title: 'model' }, { key: 'median', title: 'median', unit: 'ms' }, { key: 'ratio', title: 'time ÷ first', unit: '×', digits: 3 }, { key: 'rss', title: 'RSS', unit: 'MiB' }],
        rows: [
          { model: 'a.onnx', median: 12.34567, ratio: 1, rss: 123456.7 },
          { model: 'b|c.onnx', median: 0.000123456, ratio: 1.23456, rss: null },
        ],
      },
      chart: { kind: 'bars', title: 'median', xLabel: 'model', yLabel: 'ms', labels: ['a', 'b'], series: [{ label: 'ms', values: [12.3, 0.0001] }] },
    },
  ],
  notes: ['A note.'],
};

test('renderMarkdown matches the golden snapshot', () => {
  const md = renderMarkdown(REPORT);
  if (process.env.UPDATE_SNAPSHOTS === '1' || !existsSync(SNAPSHOT)) writeFileSync(SNAPSHOT, md);
  assert.equal(md, readFileSync(SNAPSHOT, 'utf8'));
  assert.match(md, /\| b\\\|c\.onnx \|/, 'pipes in cells are escaped');
  assert.match(md, /\*\*Machine:\*\* Test CPU, 2 physical \/ 4 logical cores/);
  assert.doesNotMatch(md, /durationS/, 'null settings are left out');
});

test('formatNumber: significant digits, no exponent for ordinary values', () => {
  assert.equal(formatNumber(12.34567), '12.35');
  assert.equal(formatNumber(123456.7), '123457');
  assert.equal(formatNumber(0.000123456), '0.0001235');
  assert.equal(formatNumber(1.23456, 3), '1.23');
  assert.equal(formatNumber(42), '42');
  assert.equal(formatNumber(1e-9), '1.000e-9');
  assert.equal(formatNumber(Infinity), '∞');
  assert.equal(formatNumber(NaN), 'NaN');
  assert.equal(formatCell(null, { key: 'x', title: 'x' }), '—');
});

test('textTable right-aligns numeric columns', () => {
  const t = REPORT.sections[0].table!;
  const lines = textTable(t.columns, t.rows).split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0], /^model\s+median \(ms\)\s+time ÷ first \(×\)\s+RSS \(MiB\)$/);
  assert.match(lines[2], /^a\.onnx\s+12\.35\s+1\s+123457$/);
  assert.ok(lines[3].endsWith('—'));
});

test('HTML escapes text and embeds JSON that cannot close its script element', () => {
  const evil: Report = { ...REPORT, title: '</script><script>alert(1)</script>', notes: ['<b>&'] };
  const html = renderHtml(evil);
  assert.equal(escapeHtml('<a href="x">&\'</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
  assert.ok(!html.includes('<script>alert(1)</script>'));
  const json = /<script type="application\/json" id="kiln-report">(.*?)<\/script>/s.exec(html)?.[1] ?? '';
  assert.deepEqual(JSON.parse(json), evil);
  assert.ok(html.includes('<li>&lt;b&gt;&amp;</li>'));
  assert.ok(!/<script[^>]+src=|<link[^>]+href=/.test(html), 'no external resources');
});
