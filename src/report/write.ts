// Report files are written atomically: a temp file beside the target, renamed on success, so a
// failed or interrupted run never leaves half a report.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KilnError } from '../errors.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import type { Report } from './types.js';

export async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new KilnError(`cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
}

export const toJson = (r: Report): string => `${JSON.stringify(r, null, 2)}\n`;

export type ReportFormat = 'json' | 'md' | 'html';

export function renderReport(r: Report, format: ReportFormat): string {
  if (format === 'json') return toJson(r);
  if (format === 'md') return renderMarkdown(r);
  return renderHtml(r);
}

export async function writeReport(r: Report, file: string, format?: ReportFormat): Promise<void> {
  const f = format ?? (file.endsWith('.html') ? 'html' : file.endsWith('.md') ? 'md' : 'json');
  await writeAtomic(file, renderReport(r, f));
}
