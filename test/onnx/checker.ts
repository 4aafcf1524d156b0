// onnx.checker from Debian's python3-onnx, batched: one Python process checks many models (a
// process per model would cost ~0.5 s of imports each). See check_models.py for what it reports.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = new URL('./check_models.py', import.meta.url).pathname;

export interface CheckResult {
  /** 2: check_model(full_check=True) passes; 1: only the basic check passes; 0: rejected. */
  orig: number;
  rt: number;
  orig_error: string;
  rt_error: string;
  /** Both files hold the same model (after clearing default-valued fields, see check_models.py). */
  same: boolean;
  diff: string;
}

export interface Checker {
  /** Queues a pair; results come back in the order pairs were added. */
  add(original: string, roundTripped: string): void;
  finish(): Promise<CheckResult[]>;
}

/** Why Python's onnx cannot be used here, or null. */
export function checkerUnavailable(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found (apt-get install python3-onnx)`;
  if (spawnSync(PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' }).status !== 0) return `${PYTHON} cannot import onnx (apt-get install python3-onnx)`;
  return null;
}

/** Starts the checker process; pairs are checked while the caller keeps working. */
export function startChecker(): Checker | { unavailable: string } {
  const why = checkerUnavailable();
  if (why) return { unavailable: why };
  const child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  const results: CheckResult[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on('line', (l) => results.push(JSON.parse(l) as CheckResult));
  const closed = new Promise<number>((res) => child.on('close', (code) => res(code ?? -1)));
  return {
    add: (orig, rt) => void child.stdin.write(`${orig}\t${rt}\n`),
    finish: async () => {
      child.stdin.end();
      const code = await closed;
      if (code !== 0) throw new Error(`onnx checker process exited with ${code}: ${stderr.slice(-2000)}`);
      return results;
    },
  };
}
