// Outputs appear only when complete: written to a hidden temporary file beside the target (same
// directory, so the final rename is atomic on one filesystem) that keeps the target's
// extension (ffmpeg picks the muxer from it), renamed on success, removed on failure.
import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { KilnError } from '../errors.js';

export function tempBeside(target: string): string {
  const dir = dirname(resolve(target));
  const ext = extname(target);
  return join(dir, `.${basename(target, ext)}.kiln-${process.pid}-${randomBytes(4).toString('hex')}.partial${ext}`);
}

/** True when both paths name the same file (also through links), or would once `b` exists. */
export function sameFile(a: string, b: string): boolean {
  const ra = existsSync(a) ? realpathSync(a) : resolve(a);
  if (existsSync(b)) {
    const sa = existsSync(a) ? statSync(a) : null;
    const sb = statSync(b);
    if (sa && sa.ino === sb.ino && sa.dev === sb.dev) return true;
    return realpathSync(b) === ra;
  }
  const dir = dirname(resolve(b));
  const rb = existsSync(dir) ? join(realpathSync(dir), basename(b)) : resolve(b);
  return rb === ra;
}

/** Checks that `output` may be written: not an input, its directory exists. */
export function checkOutput(output: string, inputs: string[]): void {
  for (const input of inputs) {
    if (sameFile(input, output)) throw new KilnError(`-o ${output} is the input file; kiln never overwrites its input, choose another output name`);
  }
  const dir = dirname(resolve(output));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new KilnError(`${output}: directory ${dir} does not exist`);
  if (existsSync(output) && statSync(output).isDirectory()) throw new KilnError(`${output} is a directory; give a file name`);
}

export function commit(temp: string, target: string): void {
  renameSync(temp, target);
}

export function discard(temp: string): void {
  rmSync(temp, { force: true });
}
