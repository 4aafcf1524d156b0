// What kiln needs to know about an input before decoding it, read with ffprobe: size, exact
// frame rate, frame count, pixel format (8-bit, no alpha), constant frame rate, rotation, colour
// tags and the other streams to copy. Every refusal names the file and says what to do instead.
import { existsSync, statSync } from 'node:fs';
import { KilnError } from '../errors.js';
import { ffprobePath, runTool, tail } from './ffmpeg.js';
import { parseRational, type Rational } from './rational.js';

export interface ColorInfo {
  range?: string;
  space?: string;
  transfer?: string;
  primaries?: string;
}

export interface StreamInfo {
  index: number;
  type: 'audio' | 'subtitle' | 'data' | 'attachment' | 'video';
  codec: string;
  duration?: number;
}

export interface VideoInfo {
  file: string;
  format: string;
  width: number;
  height: number;
  pixFmt: string;
  codec: string;
  /** Exact constant frame rate of the video stream. */
  rate: Rational;
  /** Frame count: from the container, or counted from packets when the container has none. */
  frames: number;
  /** Seconds; of the video stream when known, else of the container. */
  duration: number;
  /** Start of the video stream, and of the whole file (its earliest stream), in seconds. */
  startTime: number;
  fileStartTime: number;
  /** Display-matrix rotation in degrees as ffprobe reports it, in (-180, 180]; 0 when none. */
  rotation: number;
  color: ColorInfo;
  /** Index of the video stream among all streams. */
  videoIndex: number;
  others: StreamInfo[];
  /** A single picture (PNG, JPEG, ...), not a video. */
  still: boolean;
}

/** More than any encoder's frame reordering (H.264 allows 16 reference frames). */
const REORDER_DEPTH = 16;

/** Largest frame kiln accepts; past this even a tiled pipeline's frame buffers get unreasonable. */
export const MAX_DIM = 16384;

interface FfprobeStream {
  index: number;
  codec_type: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  nb_read_packets?: string;
  duration?: string;
  start_time?: string;
  color_range?: string;
  color_space?: string;
  color_transfer?: string;
  color_primaries?: string;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
  disposition?: Record<string, number>;
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { format_name?: string; duration?: string; start_time?: string };
}

async function ffprobeJson(file: string, args: string[], signal?: AbortSignal): Promise<FfprobeOutput> {
  const r = await runTool(ffprobePath(), ['-v', 'error', '-print_format', 'json', ...args, file], { signal });
  if (r.code !== 0) throw new KilnError(`${file}: not a video or image ffprobe can read (${tail(r.stderr, 2) || `exit ${r.code}`})`);
  try {
    return JSON.parse(r.stdout.toString()) as FfprobeOutput;
  } catch (e) {
    throw new KilnError(`${file}: ffprobe printed unreadable output`, { cause: e });
  }
}

const STILL_FORMATS = /(^|,)(image2|png_pipe|jpeg_pipe|bmp_pipe|tiff_pipe|webp_pipe|ppm_pipe|pgm_pipe|gif_pipe|qoi_pipe)(,|$)/;
const ALPHA = /^(yuva|rgba|bgra|argb|abgr|ya\d|gbrap|rgb32|bgr32|0?rgba)/;
const HIGH_DEPTH = /p(9|10|12|14|16)(le|be)$|^(p01[026]|p21[026]|p41[026]|y21[026]|xv3|rgb48|bgr48|rgba64|bgra64|gray(9|1[0246])|ya16|x2rgb10|x2bgr10|gbrpf32|gbrapf32|grayf32)/;

/** Bits per component above 8, or alpha: kiln processes 8-bit RGB and would lose both silently. */
export function pixFmtProblem(pixFmt: string): string | null {
  if (ALPHA.test(pixFmt)) return `has an alpha channel (${pixFmt}); kiln interpolates opaque 8-bit RGB and would drop it. Flatten it first, e.g. ffmpeg -i IN -vf "format=rgb24" -c:v libx264rgb OUT`;
  if (HIGH_DEPTH.test(pixFmt))
    return `is more than 8 bits per component (${pixFmt}); kiln processes 8-bit RGB and would lose the extra precision. Convert first, e.g. ffmpeg -i IN -pix_fmt yuv420p OUT`;
  return null;
}

/** Reads and checks an input. Throws KilnError with the file name for anything kiln cannot process. */
export async function probe(file: string, opts: { signal?: AbortSignal; checkVfr?: boolean } = {}): Promise<VideoInfo> {
  if (!existsSync(file)) throw new KilnError(`${file}: no such file`);
  if (!statSync(file).isFile()) throw new KilnError(`${file}: not a file`);
  const j = await ffprobeJson(file, ['-show_streams', '-show_format'], opts.signal);
  const streams = j.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!v || !v.width || !v.height) throw new KilnError(`${file}: has no video stream (found ${streams.map((s) => s.codec_type).join(', ') || 'no streams'})`);
  const format = j.format?.format_name ?? '';
  const still = STILL_FORMATS.test(format) && (v.nb_frames === undefined || Number(v.nb_frames) <= 1);
  const pixFmt = v.pix_fmt ?? 'unknown';
  const problem = pixFmtProblem(pixFmt);
  if (problem) throw new KilnError(`${file}: ${problem}`);
  if (v.width > MAX_DIM || v.height > MAX_DIM) throw new KilnError(`${file}: ${v.width}x${v.height} is larger than kiln's limit of ${MAX_DIM} pixels per side; scale it down first (ffmpeg -vf scale=-2:2160)`);

  const rotation = rotationOf(v);
  const color: ColorInfo = {};
  // An RGB input's matrix ('gbr') and range say nothing about the YUV the encoder will write.
  const rgb = v.color_space === 'gbr' || /^(rgb|bgr|gbr|0rgb|0bgr|argb|abgr)/.test(pixFmt);
  if (!rgb && v.color_range && v.color_range !== 'unknown') color.range = v.color_range;
  if (!rgb && v.color_space && v.color_space !== 'unknown') color.space = v.color_space;
  if (v.color_transfer && v.color_transfer !== 'unknown') color.transfer = v.color_transfer;
  if (v.color_primaries && v.color_primaries !== 'unknown') color.primaries = v.color_primaries;
  const others: StreamInfo[] = streams
    .filter((s) => s !== v && s.codec_type !== 'video')
    .map((s) => ({ index: s.index, type: s.codec_type as StreamInfo['type'], codec: s.codec_name ?? 'unknown', duration: s.duration ? Number(s.duration) : undefined }));

  const info: VideoInfo = {
    file,
    format,
    width: v.width,
    height: v.height,
    pixFmt,
    codec: v.codec_name ?? 'unknown',
    rate: parseRational(v.r_frame_rate ?? '') ?? parseRational(v.avg_frame_rate ?? '') ?? { num: 25, den: 1 },
    frames: still ? 1 : Number(v.nb_frames ?? NaN),
    duration: Number(v.duration ?? j.format?.duration ?? NaN),
    startTime: Number(v.start_time ?? j.format?.start_time ?? 0) || 0,
    fileStartTime: Number(j.format?.start_time ?? v.start_time ?? 0) || 0,
    rotation,
    color,
    videoIndex: v.index,
    others,
    still,
  };
  if (still) return info;

  // Containers without a frame count (Matroska, WebM, raw streams): count packets (demux only).
  // The same pass gives the packet timestamps that reveal a variable frame rate.
  const needCount = !Number.isFinite(info.frames) || info.frames <= 0;
  if (needCount || opts.checkVfr !== false) {
    const args = ['-select_streams', `${v.index}`, '-show_entries', 'packet=pts_time,duration_time'];
    if (!needCount) args.push('-read_intervals', '%+#240');
    const pk = (await ffprobeJson(file, args, opts.signal)) as { packets?: { pts_time?: string }[] };
    const pts = (pk.packets ?? []).map((p) => Number(p.pts_time)).filter(Number.isFinite);
    if (needCount) info.frames = (pk.packets ?? []).length;
    // A window cut off after N packets in decode order can miss frames that B-frame reordering
    // puts after it: its last few sorted timestamps are not contiguous, so they are not judged.
    const vfr = vfrEvidence(needCount ? pts : [...pts].sort((a, b) => a - b).slice(0, -REORDER_DEPTH), info.rate);
    if (vfr && opts.checkVfr !== false)
      throw new KilnError(`${file}: variable frame rate (${vfr}); kiln needs a constant rate. Convert first, e.g. ffmpeg -i IN -fps_mode cfr -r ${v.r_frame_rate ?? '30'} OUT`);
  }
  if (!Number.isFinite(info.duration)) info.duration = (info.frames * info.rate.den) / info.rate.num;
  return info;
}

function rotationOf(v: FfprobeStream): number {
  const sd = v.side_data_list?.find((d) => d.side_data_type === 'Display Matrix' && typeof d.rotation === 'number');
  // ffmpeg 5.1 turns a legacy `rotate` tag of R into a display matrix that ffprobe reports as R.
  let r = sd ? Number(sd.rotation) : Number(v.tags?.rotate ?? 0);
  if (!Number.isFinite(r)) r = 0;
  r = ((Math.round(r) % 360) + 360) % 360;
  return r > 180 ? r - 360 : r;
}

/**
 * A description of why the packet timestamps are not one constant step, or null. Timestamps come
 * in decode order (B-frames), so they are sorted first; a step that differs from the nominal
 * frame duration by more than a quarter of it counts (rounding of container time bases is far
 * smaller).
 */
export function vfrEvidence(pts: number[], rate: Rational): string | null {
  if (pts.length < 3) return null;
  const sorted = [...pts].sort((a, b) => a - b);
  const step = rate.den / rate.num;
  let odd = 0;
  let worst = step;
  for (let i = 1; i < sorted.length; i++) {
    const d = sorted[i] - sorted[i - 1];
    if (Math.abs(d - step) > step / 4) {
      odd++;
      if (Math.abs(d - step) > Math.abs(worst - step)) worst = d;
    }
  }
  if (odd === 0) return null;
  return `${odd} of ${sorted.length - 1} frame steps differ from 1/${(rate.num / rate.den).toFixed(3)} s, e.g. ${(worst * 1000).toFixed(1)} ms`;
}
