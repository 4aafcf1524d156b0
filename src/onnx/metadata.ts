// Reads ModelProto.metadata_props (field 14, StringStringEntryProto {key = 1, value = 2}) from an
// .onnx file by walking only the top-level protobuf fields. onnxruntime-node does not expose the
// custom metadata map, and decoding the whole model (weights included) to read two strings would
// be wasteful. Wire format: https://protobuf.dev/programming-guides/encoding/
import { readFileSync } from 'node:fs';
import { ModelError } from '../errors.js';

function varint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (;;) {
    if (pos >= buf.length) throw new RangeError('truncated varint');
    const b = buf[pos++];
    result += (b & 0x7f) * mul;
    if (b < 0x80) return [result, pos];
    mul *= 128;
    if (mul > 2 ** 63) throw new RangeError('varint too long');
  }
}

/** Calls `visit(field, start, end)` for each length-delimited field of the message in buf[from, to). */
function walk(buf: Uint8Array, from: number, to: number, visit: (field: number, start: number, end: number) => void): void {
  let pos = from;
  while (pos < to) {
    const [tag, p] = varint(buf, pos);
    pos = p;
    const field = Math.floor(tag / 8);
    switch (tag & 7) {
      case 0:
        pos = varint(buf, pos)[1];
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        const [len, q] = varint(buf, pos);
        if (q + len > to) throw new RangeError('field runs past the end');
        visit(field, q, q + len);
        pos = q + len;
        break;
      }
      default:
        throw new RangeError(`unsupported wire type ${tag & 7}`);
    }
  }
}

export function readMetadataProps(source: string | Uint8Array): Record<string, string> {
  const buf = typeof source === 'string' ? readFileSync(source) : source;
  const label = typeof source === 'string' ? source : 'model';
  const props: Record<string, string> = {};
  const dec = new TextDecoder();
  try {
    walk(buf, 0, buf.length, (field, start, end) => {
      if (field !== 14) return;
      let key = '';
      let value = '';
      walk(buf, start, end, (f, s, e) => {
        if (f === 1) key = dec.decode(buf.subarray(s, e));
        else if (f === 2) value = dec.decode(buf.subarray(s, e));
      });
      props[key] = value;
    });
  } catch (e) {
    throw new ModelError(label, `not a readable ONNX protobuf (${(e as Error).message})`, { cause: e });
  }
  return props;
}
