// Small helpers shared by the command files: output on stdout, logs on stderr, colour rules.
import { UsageError } from '../errors.js';

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export const useColor = (stream: NodeJS.WriteStream = process.stdout): boolean =>
  Boolean(stream.isTTY) && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '');

export const bold = (s: string): string => (useColor() ? `\x1b[1m${s}\x1b[22m` : s);
export const dim = (s: string): string => (useColor() ? `\x1b[2m${s}\x1b[22m` : s);

export const out = (s = ''): void => void process.stdout.write(`${s}\n`);
export const log = (s: string): void => void process.stderr.write(`${s}\n`);
export const printJson = (value: unknown): void => out(JSON.stringify(value, null, 2));

/** Parses `name=1x3x480x640` (repeatable) into { name: [1,3,480,640] }. */
export function parseInputShapes(specs: string[] | undefined): Record<string, number[]> {
  const result: Record<string, number[]> = {};
  for (const spec of specs ?? []) {
    const m = /^([^=]+)=(\d+(?:[x,]\d+)*)$/.exec(spec.trim());
    if (!m) throw new UsageError(`--input-shape expects name=1x3x480x640, got '${spec}'`);
    result[m[1]] = m[2].split(/[x,]/).map(Number);
  }
  return result;
}

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function parsePositiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${name} must be a positive integer, got '${value}'`);
    return n;
  };
}
