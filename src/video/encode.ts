// Encoding rgb24 frames from a rawvideo pipe, muxed with the input's audio and subtitle streams
// (copied, never re-encoded unless the container cannot hold them). Each write waits for its
// callback, so a frame buffer can be reused as soon as `write` resolves and a slow encoder
// throttles the pipeline instead of filling memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { KilnError } from '../errors.js';
import { colorTagArgs, encodeFilter } from './color.js';
import { ffmpegPath, missingTool, tail } from './ffmpeg.js';
import type { VideoInfo } from './probe.js';
import { format, type Rational } from './rational.js';

export interface EncodeOptions {
  codec?: string;
  crf?: number;
  preset?: string;
  /** Output pixel format; default: chosen from the input (see choosePixFmt). */
  pixFmt?: string;
  /** Encoder threads (x264 `-threads`); default: ffmpeg's choice. */
  threads?: number;
  /** Copy audio and subtitle streams from this input (default: yes when it has any). */
  copyStreams?: boolean;
}

const MP4_FAMILY = new Set(['.mp4', '.m4v', '.mov']);
const TEXT_SUBS = new Set(['subrip', 'srt', 'ass', 'ssa', 'webvtt', 'mov_text', 'text']);
const MP4_AUDIO = new Set(['aac', 'mp3', 'ac3', 'eac3', 'opus', 'flac', 'alac']);

/**
 * The output pixel format for x264/x265: the input's own subsampling when it is a plain 8-bit
 * YUV format, else yuv420p. `full` marks JPEG-range (yuvj*) input.
 */
export function choosePixFmt(info: Pick<VideoInfo, 'pixFmt'>): { pixFmt: string; full: boolean } {
  const full = /^yuvj/.test(info.pixFmt);
  let pf = info.pixFmt.replace(/^yuvj/, 'yuv');
  if (!['yuv420p', 'yuv422p', 'yuv444p'].includes(pf)) pf = 'yuv420p';
  return { pixFmt: pf, full };
}

/**
 * Why `codec` cannot store this size, or null. x264 and x265 need even dimensions even in 4:4:4
 * and ffmpeg would silently crop an odd row and column away; kiln never changes the picture size.
 */
export function sizeProblem(codec: string | undefined, width: number, height: number): string | null {
  const c = codec ?? 'libx264';
  if ((c === 'libx264' || c === 'libx265' || c === 'libx264rgb') && (width % 2 || height % 2))
    return `${width}x${height} has an odd dimension, which ${c} cannot store (ffmpeg would crop it); use a lossless codec that can, e.g. -o OUT.mkv --codec ffv1, or crop the input to an even size first`;
  return null;
}

/**
 * A stream-copy pass that writes the display rotation. ffmpeg 5.1 drops a `rotate` tag given
 * while encoding, but turns it into a display matrix when stream-copying into MP4/MOV.
 */
export function rotationRemuxArgs(from: string, to: string, rotation: number): string[] {
  return ['-nostdin', '-hide_banner', '-v', 'error', '-y', '-i', from, '-map', '0', '-c', 'copy', '-metadata:s:v:0', `rotate=${(rotation + 360) % 360}`, '-movflags', '+faststart', to];
}

export const keepsRotation = (output: string): boolean => MP4_FAMILY.has(extname(output).toLowerCase());

export interface EncodePlan {
  args: string[];
  copied: string[];
  dropped: string[];
}

/** ffmpeg arguments for writing `output` (a temporary path whose extension picks the muxer). */
export function encodeArgs(info: VideoInfo, rate: Rational, output: string, opts: EncodeOptions = {}): EncodePlan {
  const codec = opts.codec ?? 'libx264';
  const x26x = codec === 'libx264' || codec === 'libx265';
  const chosen = choosePixFmt(info);
  const pixFmt = opts.pixFmt ?? (x26x ? chosen.pixFmt : undefined);
  const args = ['-nostdin', '-hide_banner', '-v', 'error', '-y'];
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${info.width}x${info.height}`, '-framerate', format(rate), '-i', 'pipe:0');
  const copied: string[] = [];
  const dropped: string[] = [];
  const ext = extname(output).toLowerCase();
  const mp4 = MP4_FAMILY.has(ext);
  const others = opts.copyStreams === false ? [] : info.others.filter((s) => s.type === 'audio' || s.type === 'subtitle');
  if (others.length) args.push('-i', info.file);
  args.push('-map', '0:v:0');
  let outIndex = 1;
  const streamArgs: string[] = [];
  for (const s of others) {
    if (s.type === 'audio') {
      args.push('-map', `1:${s.index}`);
      const copy = !mp4 || MP4_AUDIO.has(s.codec);
      streamArgs.push(`-c:${outIndex}`, copy ? 'copy' : 'aac');
      copied.push(`audio #${s.index} (${s.codec}${copy ? '' : ' → aac'})`);
      outIndex++;
    } else {
      if (mp4 && !TEXT_SUBS.has(s.codec)) {
        dropped.push(`subtitle #${s.index} (${s.codec}: a picture subtitle MP4 cannot hold; use .mkv to keep it)`);
        continue;
      }
      args.push('-map', `1:${s.index}`);
      streamArgs.push(`-c:${outIndex}`, mp4 ? 'mov_text' : 'copy');
      copied.push(`subtitle #${s.index} (${s.codec})`);
      outIndex++;
    }
  }
  // ffmpeg moves the copied streams so that the file starts at 0; the new video (from 0 on the
  // pipe) must start as long after them as the old one did, or sound and picture drift apart.
  const lag = others.length ? info.startTime - info.fileStartTime : 0;
  const vf = [lag > 0.0005 ? `setpts=PTS+${lag.toFixed(6)}/TB` : '', encodeFilter(info.color, pixFmt, chosen.full)].filter(Boolean).join(',');
  if (vf) args.push('-vf', vf);
  if (lag > 0.0005) args.push('-fps_mode', 'passthrough'); // keep the shifted stamps, no frames added to fill the gap
  args.push('-c:v', codec);
  if (x26x) args.push('-crf', `${opts.crf ?? 18}`, '-preset', opts.preset ?? 'veryfast');
  else if (opts.crf !== undefined) args.push('-crf', `${opts.crf}`);
  if (pixFmt) args.push('-pix_fmt', pixFmt);
  if (opts.threads) args.push('-threads', `${opts.threads}`);
  args.push(...colorTagArgs(info.color, chosen.full));
  args.push(...streamArgs);
  if (mp4) args.push('-movflags', '+faststart');
  args.push(output);
  return { args, copied, dropped };
}

export class Encoder {
  private readonly child: ChildProcess;
  private stderr = '';
  private error: unknown = null;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Milliseconds spent waiting for ffmpeg to take frames. */
  busyMs = 0;
  frames = 0;

  constructor(
    args: string[],
    private readonly label: string,
  ) {
    this.child = spawn(ffmpegPath(), args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => {
      if (this.stderr.length < 1 << 16) this.stderr += d.toString();
    });
    this.child.stdin!.on('error', (e) => {
      this.error ??= e;
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e: NodeJS.ErrnoException) => {
        this.error = e.code === 'ENOENT' ? missingTool('ffmpeg', e) : e;
        resolve({ code: null, signal: null });
      });
      this.child.on('close', (code, signal) => resolve({ code, signal }));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves once ffmpeg has taken `data`; the buffer may then be reused. */
  async write(data: Uint8Array): Promise<void> {
    if (this.error) throw this.failure();
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      this.child.stdin!.write(data, (e) => (e ? reject(e) : resolve()));
    }).catch(async () => {
      await this.exited;
      throw this.failure();
    });
    this.busyMs += performance.now() - t0;
    this.frames++;
  }

  /** Ends the stream and waits for ffmpeg to finish the file. */
  async finish(): Promise<void> {
    const t0 = performance.now();
    this.child.stdin!.end();
    const { code, signal } = await this.exited;
    this.busyMs += performance.now() - t0;
    if (code !== 0 || this.error) throw this.failure(code, signal);
  }

  /** Stops ffmpeg at once (the caller deletes the partial file). */
  async abort(): Promise<void> {
    this.child.stdin!.destroy();
    this.child.kill('SIGKILL');
    await this.exited;
  }

  private failure(code?: number | null, signal?: NodeJS.Signals | null): KilnError {
    if (this.error instanceof KilnError) return this.error;
    const why = tail(this.stderr) || (this.error as Error | null)?.message || (signal ? `killed by ${signal}` : `exit ${code}`);
    return new KilnError(`${this.label}: ffmpeg could not encode the output (${why})`);
  }
}
