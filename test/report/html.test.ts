// The HTML report in a real browser: Debian's chromium driven by playwright-core. The page must
// load offline without console errors, draw its charts, and its tables must show the numbers
// of the embedded JSON report (which must equal the Report it was rendered from).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { bench } from '../../src/bench/bench.js';
import { profile } from '../../src/bench/profile.js';
import { formatCell } from '../../src/report/format.js';
import { renderHtml } from '../../src/report/html.js';
import type { Cell, Column, Report, Table } from '../../src/report/types.js';
import { benchModels } from '../bench/models.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

type CellText = { key?: string; text: string | null; value?: string };

async function withBrowser(fn: (context: BrowserContext, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-html-'));
  const { chromium } = await import('playwright-core');
  // a fresh profile directory per run: nothing from an earlier run (or the user) leaks in
  const context = await chromium.launchPersistentContext(path.join(dir, 'profile'), { executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    await fn(context, dir);
  } finally {
    await context.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Loads the report's HTML and checks console, network, embedded JSON, every table cell and every chart. */
async function checkPage(context: BrowserContext, dir: string, report: Report): Promise<void> {
  const file = path.join(dir, `${report.kind}.html`);
  await writeFile(file, renderHtml(report));
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => !r.url().startsWith('file:') && requests.push(r.url()));
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  assert.deepEqual(errors, [], 'console errors');
  assert.deepEqual(requests, [], 'the page must not fetch anything (self-contained)');

  const embedded = JSON.parse((await page.locator('#kiln-report').textContent()) ?? 'null') as Report;
  assert.deepEqual(embedded, JSON.parse(JSON.stringify(report)));

  for (const section of report.sections) {
    const table: Table | undefined = section.table;
    if (!table) continue;
    const cells: CellText[][] = await page.$$eval(`#${section.id}-table tbody tr`, (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => ({ key: td.dataset.key, text: td.textContent, value: td.dataset.value }))));
    assert.equal(cells.length, table.rows.length, `${section.id}: row count`);
    for (const [i, row] of table.rows.entries()) {
      for (const c of table.columns as Column[]) {
        const cell = cells[i].find((x: CellText) => x.key === c.key);
        assert.ok(cell, `${section.id} row ${i} has a ${c.key} cell`);
        const v: Cell = row[c.key] ?? null;
        assert.equal(cell.text, formatCell(v, c), `${section.id} row ${i} ${c.key}`);
        if (typeof v === 'number') {
          assert.equal(Number(cell.value), v, `${section.id} row ${i} ${c.key} data-value`);
          // Shown to the column's significant digits: off by at most half a unit in the last one.
          const lastDigit = 10 ** (Math.floor(Math.log10(Math.abs(v) || 1)) - (c.digits ?? 4) + 1);
          assert.ok(Math.abs(Number(cell.text) - v) <= lastDigit / 2 + 1e-12, `${section.id} row ${i} ${c.key}: shown ${cell.text}, JSON ${v}`);
        }
      }
    }
  }
  const drawn = await page.$$eval('.chart', (els) => els.map((e) => ({ id: e.id, canvas: e.querySelectorAll('canvas').length, drawn: e.getAttribute('data-drawn') })));
  assert.equal(drawn.length, report.sections.filter((s) => s.chart).length);
  for (const d of drawn) assert.ok(d.canvas > 0 && d.drawn === '1', `chart ${d.id} drawn`);
  await page.close();
}

test('HTML bench report loads in headless chromium, draws charts and shows the JSON numbers', async (t) => {
  if (!existsSync(CHROMIUM)) return t.skip(`${CHROMIUM} is missing (apt-get install -y chromium)`);
  const models = benchModels();
  if (typeof models === 'string') return t.skip(models);
  const report = await bench({ models: [models.tinyCnn, models.addOne], warmup: 2, iterations: 20, memory: false });
  // The numbers are the measurement: each row's median is that of its raw samples.
  const runs = (report.raw?.runs ?? []) as { samplesMs: number[] }[];
  assert.equal(runs.length, 2);
  for (const [i, r] of runs.entries()) {
    const sorted = [...r.samplesMs].sort((a, b) => a - b);
    assert.equal(report.sections[0].table?.rows[i].median, (sorted[9] + sorted[10]) / 2);
  }
  await withBrowser((context, dir) => checkPage(context, dir, report));
});

test('HTML profile report (op-type bar chart, node table) loads cleanly', async (t) => {
  if (!existsSync(CHROMIUM)) return t.skip(`${CHROMIUM} is missing (apt-get install -y chromium)`);
  const models = benchModels();
  if (typeof models === 'string') return t.skip(models);
  const report = await profile(models.tinyCnn, { warmup: 1, iterations: 3 });
  await withBrowser((context, dir) => checkPage(context, dir, report));
});
