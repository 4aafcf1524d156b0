// A wire-level check of ONNX bytes against the pinned schema, run before decoding.
// protobufjs' generated decoders trust each field's wire type, so a string where ir_version's
// varint belongs decodes "successfully" into nonsense; this walk rejects it, naming the
// message, the field and the byte offset. It skips over bytes fields (weights) without
// looking at them, so it costs little even for large models.
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';

const PROTO = fileURLToPath(new URL('./onnx.proto', import.meta.url));
let root: protobuf.Root | undefined;

const VARINT = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool']);
const FIXED64 = new Set(['fixed64', 'sfixed64', 'double']);
const FIXED32 = new Set(['fixed32', 'sfixed32', 'float']);
const MAX_DEPTH = 64;

function wireTypeOf(f: protobuf.Field): number {
  if (f.resolvedType instanceof protobuf.Enum) return 0;
  if (VARINT.has(f.type)) return 0;
  if (FIXED64.has(f.type)) return 1;
  if (FIXED32.has(f.type)) return 5;
  return 2; // string, bytes, messages
}

export class WireError extends Error {}

/** Throws WireError describing the first field whose wire type does not match the schema. */
export function checkWire(bytes: Uint8Array): void {
  if (!root) {
    root = protobuf.loadSync(PROTO);
    root.resolveAll();
  }
  const model = root.lookupType('onnx.ModelProto');
  const reader = protobuf.Reader.create(bytes);
  walk(reader, model, bytes.byteLength, 0);
}

function walk(r: protobuf.Reader, type: protobuf.Type, end: number, depth: number): void {
  if (depth > MAX_DEPTH) throw new WireError(`messages nested more than ${MAX_DEPTH} deep`);
  while (r.pos < end) {
    const at = r.pos;
    const tag = r.uint32();
    const id = tag >>> 3, wt = tag & 7;
    if (id === 0) throw new WireError(`invalid field number 0 at byte ${at}`);
    const f = type.fieldsById[id];
    if (!f) {
      r.skipType(wt);
      continue;
    }
    const want = wireTypeOf(f);
    // Repeated scalars may come packed (length-delimited) whatever their own wire type.
    const packedOk = f.repeated && want !== 2 && wt === 2;
    if (wt !== want && !packedOk) throw new WireError(`${type.name}.${f.name} at byte ${at} has wire type ${wt}, expected ${want}`);
    if (wt === 2) {
      const len = r.uint32();
      const stop = r.pos + len;
      if (stop > end) throw new WireError(`${type.name}.${f.name} at byte ${at} claims ${len} bytes, past the end of its message`);
      if (f.resolvedType instanceof protobuf.Type) walk(r, f.resolvedType, stop, depth + 1);
      r.pos = stop;
    } else r.skipType(wt);
  }
  if (r.pos > end) throw new WireError(`${type.name} runs past its declared length`);
}
