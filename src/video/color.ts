// Colour metadata carried from input to output. The decoder converts YUV → RGB with the matrix
// and range the input is tagged with (swscale's `auto`); the encoder must convert back with the
// same matrix and range and write the same tags, or colours shift on every round trip.
import type { ColorInfo } from './probe.js';

/** swscale's name for the matrix of an ffprobe `color_space`. */
export function swsMatrix(space: string | undefined): string | undefined {
  switch (space) {
    case 'bt709':
      return 'bt709';
    case 'smpte170m':
    case 'bt470bg':
      return 'bt601';
    case 'bt2020nc':
    case 'bt2020c':
      return 'bt2020';
    case 'smpte240m':
      return 'smpte240m';
    case 'fcc':
      return 'fcc';
    default:
      return undefined;
  }
}

/** `-vf` that converts rgb24 back to `pixFmt` with the input's matrix and range. */
export function encodeFilter(color: ColorInfo, pixFmt: string | undefined, fullRange: boolean): string {
  const opts: string[] = [];
  const m = swsMatrix(color.space);
  if (m) opts.push(`out_color_matrix=${m}`);
  if (fullRange || color.range === 'pc') opts.push('out_range=full');
  else if (color.range === 'tv') opts.push('out_range=limited');
  const parts = opts.length ? [`scale=${opts.join(':')}`] : [];
  if (pixFmt) parts.push(`format=${pixFmt}`);
  return parts.join(',');
}

/** Encoder flags that tag the output stream with the input's colour description. */
export function colorTagArgs(color: ColorInfo, fullRange: boolean): string[] {
  const a: string[] = [];
  if (color.primaries) a.push('-color_primaries', color.primaries);
  if (color.transfer) a.push('-color_trc', color.transfer);
  if (color.space) a.push('-colorspace', color.space);
  if (color.range || fullRange) a.push('-color_range', fullRange ? 'pc' : color.range!);
  return a;
}
