// The one result type every kiln measurement produces (bench, profile, pipeline, bench/*.bench.ts)
// and every renderer consumes: JSON is this object as is, Markdown and HTML are views of it.
// The schema is documented in src/report/SCHEMA.md; bump REPORT_SCHEMA on incompatible changes.

export const REPORT_SCHEMA = 'kiln-report/1';

export interface Environment {
  cpu: string;
  logicalCores: number;
  physicalCores: number | null;
  memoryGiB: number;
  /** `${process.platform}-${process.arch}` */
  platform: string;
  node: string;
  onnxruntime: string;
  /** 1, 5 and 15 minute load averages when the measurement started: a busy machine shows here. */
  loadAverage: number[];
  /** ISO 8601 time the measurement started. */
  date: string;
}

export interface Column {
  key: string;
  title: string;
  /** Unit shown in the header, e.g. 'ms', '1/s', '×', '%', 'MiB'. */
  unit?: string;
  /** Significant digits shown for non-integers (default 4). */
  digits?: number;
}

export type Cell = number | string | null;

export interface Table {
  columns: Column[];
  rows: Record<string, Cell>[];
}

export interface Chart {
  /** 'bars': one bar per label; 'lines': series over x. */
  kind: 'bars' | 'lines';
  title: string;
  xLabel: string;
  yLabel: string;
  /** Category labels (bars). */
  labels?: string[];
  /** X values (lines). */
  x?: number[];
  series: { label: string; values: (number | null)[] }[];
}

export interface Section {
  id: string;
  title: string;
  /** Paragraphs of plain text. */
  text?: string[];
  table?: Table;
  chart?: Chart;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  kind: 'bench' | 'profile' | 'pipeline' | 'custom';
  title: string;
  env: Environment;
  /** How it was measured: provider, threads, iterations, warm-up, seed, … */
  settings: Record<string, string | number | boolean | null>;
  sections: Section[];
  notes: string[];
  /** Kind-specific detail kept for re-analysis, e.g. raw latency samples in ms. */
  raw?: Record<string, unknown>;
}
