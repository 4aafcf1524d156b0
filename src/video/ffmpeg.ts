// Finding and running the system ffmpeg / ffprobe. kiln does not bundle ffmpeg: a missing binary
// is a clear error that names the install command.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { KilnError } from '../errors.js';

/** KILN_FFMPEG / KILN_FFPROBE override the binaries found on PATH. */
export const ffmpegPath = (): string => process.env.KILN_FFMPEG || 'ffmpeg';
export const ffprobePath = (): string => process.env.KILN_FFPROBE || 'ffprobe';

export const INSTALL_HINT = 'install it with: apt-get install ffmpeg (Debian/Ubuntu), brew install ffmpeg (macOS)';

export function missingTool(tool: string, cause?: unknown): KilnError {
  return new KilnError(`${tool} was not found (kiln uses the system ffmpeg for video); ${INSTALL_HINT}`, { cause });
}

/** Spawns ffmpeg/ffprobe; an ENOENT becomes the install hint instead of an unhandled error. */
export function spawnTool(bin: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  return child;
}

export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a tool to completion, collecting its output (for probes and small jobs, not frames). */
export function runTool(bin: string, args: string[], opts: { signal?: AbortSignal; input?: Buffer } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'], signal: opts.signal });
    const out: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => {
      if (err.length < 1 << 16) err += d.toString();
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(missingTool(bin, e));
      else reject(e);
    });
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: err }));
    if (opts.input) child.stdin!.end(opts.input);
  });
}

/** The last meaningful lines of an ffmpeg log, for error messages. */
export function tail(stderr: string, lines = 3): string {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' | ');
}
