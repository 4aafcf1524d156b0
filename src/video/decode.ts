// Decoding to packed RGB (rgb24, HWC uint8) over a rawvideo pipe. Frames are read into pooled
// buffers: the async iterator over ffmpeg's stdout only asks for more data when the consumer
// takes the next frame, so a slow consumer pauses the pipe and ffmpeg blocks on write.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { KilnError } from '../errors.js';
import { ffmpegPath, missingTool, tail } from './ffmpeg.js';
import { type Frame, FramePool } from './frames.js';

export interface DecodeOptions {
  signal?: AbortSignal;
  /** Keep the stored orientation (the encoder writes the rotation tag back); default true. */
  noAutorotate?: boolean;
  /** Busy time (ms) spent waiting for ffmpeg's bytes is added here, for the summary's shares. */
  timing?: { decodeMs: number };
}

/** ffmpeg arguments that decode the first video stream of `file` to rgb24 on stdout. */
export function decodeArgs(file: string, opts: DecodeOptions = {}): string[] {
  return [
    '-nostdin', '-hide_banner', '-v', 'error',
    ...(opts.noAutorotate !== false ? ['-noautorotate'] : []),
    '-i', file,
    '-map', '0:v:0', '-an', '-sn', '-dn',
    // passthrough: exactly the decoded frames, no rate conversion (the input is checked to be CFR)
    '-fps_mode', 'passthrough',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
}

/**
 * Decoded frames of `file` (width×height rgb24), each holding one reference to a buffer of
 * `pool`; the consumer releases it. Stops ffmpeg when the consumer stops early.
 */
export async function* decodeFrames(file: string, width: number, height: number, pool: FramePool, opts: DecodeOptions = {}): AsyncGenerator<Frame> {
  const frameBytes = width * height * 3;
  if (pool.frameBytes !== frameBytes) throw new RangeError(`pool buffers hold ${pool.frameBytes} bytes, frames need ${frameBytes}`);
  const child = spawn(ffmpegPath(), decodeArgs(file, opts), { stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = watch(child, file);
  const onAbort = () => child.kill('SIGKILL');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let frame: Frame | null = null;
  let filled = 0;
  let index = 0;
  let finished = false;
  try {
    frame = await pool.acquire();
    const it = child.stdout![Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    for (;;) {
      const t0 = performance.now();
      // No Promise.race against the exit here: each race leaves a reaction on the never-settling
      // promise that keeps the chunk alive, which grew memory by a frame per frame. When ffmpeg
      // exits its stdout ends, and `exit.done` below reports why.
      const r = await it.next();
      if (opts.timing) opts.timing.decodeMs += performance.now() - t0;
      if (r.done) break;
      let chunk: Buffer = r.value;
      while (chunk.length > 0) {
        const n = Math.min(chunk.length, frameBytes - filled);
        frame.data.set(n === chunk.length ? chunk : chunk.subarray(0, n), filled);
        filled += n;
        chunk = chunk.subarray(n);
        if (filled === frameBytes) {
          frame.index = index++;
          const out = frame;
          frame = null;
          filled = 0;
          yield out;
          frame = await pool.acquire();
        }
      }
    }
    await exit.done;
    if (opts.signal?.aborted) throw opts.signal.reason ?? new KilnError('interrupted');
    if (filled !== 0) throw new KilnError(`${file}: the decoder stopped in the middle of frame ${index} (${filled} of ${frameBytes} bytes)`);
    finished = true;
  } finally {
    frame?.release();
    opts.signal?.removeEventListener('abort', onAbort);
    if (!finished) {
      child.kill('SIGKILL');
      // 'close' waits for stdout to end, which a paused pipe with unread data never does.
      child.stdout!.destroy();
      await exit.done.catch(() => undefined);
    }
  }
}

interface Exit {
  /** Resolves when ffmpeg exited successfully; rejects with its error otherwise. */
  done: Promise<void>;
}

function watch(child: ChildProcess, file: string): Exit {
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 1 << 16) stderr += d.toString();
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      const err = e.code === 'ENOENT' ? missingTool('ffmpeg', e) : new KilnError(`${file}: could not start ffmpeg: ${e.message}`, { cause: e });
      reject(err);
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const err = new KilnError(`${file}: ffmpeg could not decode it (${signal ? `killed by ${signal}` : `exit ${code}`}${stderr ? `: ${tail(stderr)}` : ''})`);
      reject(err);
    });
  });
  done.catch(() => undefined);
  return { done };
}
