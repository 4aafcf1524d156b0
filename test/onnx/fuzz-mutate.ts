// Seeded mutations of serialized protobufs for the loader fuzz test. Byte-level damage (bit flips,
// truncation, insertion, overwrite) plus structure-aware damage on the wire format (swapping,
// retagging, re-typing, duplicating or dropping fields, extreme varints), which reaches deeper
// into the decoder than random bytes do. Deterministic: the same seed gives the same bytes.
import protobuf from 'protobufjs/minimal.js';
export { rng } from '../../src/random.js';
import { rng } from '../../src/random.js';


interface WireField {
  no: number;
  wt: number;
  /** Value bytes: the varint / fixed bytes, or a LEN field's payload. */
  raw: Uint8Array;
  /** A LEN payload that itself parses as a message. */
  children?: WireField[];
}

function parse(buf: Uint8Array, depth: number): WireField[] | null {
  const r = protobuf.Reader.create(buf);
  const out: WireField[] = [];
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      const no = tag >>> 3, wt = tag & 7;
      if (no === 0) return null;
      const start = r.pos;
      let raw: Uint8Array;
      if (wt === 0) {
        r.uint64();
        raw = buf.subarray(start, r.pos);
      } else if (wt === 1 || wt === 5) {
        r.skip(wt === 1 ? 8 : 4);
        raw = buf.subarray(start, r.pos);
      } else if (wt === 2) {
        const len = r.uint32();
        const p = r.pos;
        r.skip(len);
        raw = buf.subarray(p, p + len);
      } else return null;
      const f: WireField = { no, wt, raw };
      if (wt === 2 && depth < 8 && raw.byteLength > 1) {
        const kids = parse(raw, depth + 1);
        if (kids && kids.length) f.children = kids;
      }
      out.push(f);
    }
  } catch {
    return null;
  }
  return out;
}

function serialize(fields: WireField[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    const body = f.children ? serialize(f.children) : f.raw;
    parts.push(varint(((f.no << 3) | f.wt) >>> 0));
    if (f.wt === 2) parts.push(varint(body.byteLength));
    parts.push(body);
  }
  return Buffer.concat(parts);
}

function varint(n: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Uint8Array.from(out);
}

/** Every field in the tree, each with the list that holds it. */
function allFields(fields: WireField[], into: { list: WireField[]; i: number }[] = []): { list: WireField[]; i: number }[] {
  fields.forEach((f, i) => {
    into.push({ list: fields, i });
    if (f.children) allFields(f.children, into);
  });
  return into;
}

const EXTREMES: (number | bigint)[] = [0, 1, 0x7f, 0xff, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2n ** 63n - 1n, -1n, -(2n ** 31n)];

export const MUTATIONS = ['bitflip', 'truncate', 'insert', 'overwrite', 'swap', 'retag', 'retype', 'duplicate', 'drop', 'extreme-varint'] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** One mutated copy of `src`. Structural mutations fall back to a bit flip when `src` does not parse. */
export function mutate(src: Uint8Array, kind: Mutation, rand: () => number): Uint8Array {
  const int = (n: number): number => Math.floor(rand() * n);
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));
  switch (kind) {
    case 'bitflip': {
      const out = new Uint8Array(src);
      for (let k = 1 + int(8); k > 0; k--) out[int(out.length)] ^= 1 << int(8);
      return out;
    }
    case 'truncate':
      return src.slice(0, int(src.length));
    case 'insert': {
      const at = int(src.length + 1);
      return Buffer.concat([src.subarray(0, at), bytes(1 + int(16)), src.subarray(at)]);
    }
    case 'overwrite': {
      const out = new Uint8Array(src);
      const at = int(out.length);
      out.set(bytes(Math.min(1 + int(32), out.length - at)), at);
      return out;
    }
    default:
      break;
  }
  const tree = parse(src, 0);
  if (!tree) return mutate(src, 'bitflip', rand);
  const spots = allFields(tree);
  const pick = spots[int(spots.length)];
  const f = pick.list[pick.i];
  switch (kind) {
    case 'swap': {
      const j = int(pick.list.length);
      [pick.list[pick.i], pick.list[j]] = [pick.list[j], pick.list[pick.i]];
      break;
    }
    case 'retag':
      pick.list[pick.i] = { ...f, no: rand() < 0.5 ? pick.list[int(pick.list.length)].no : 1 + int(24) };
      break;
    case 'retype': {
      const others = [0, 1, 2, 5].filter((w) => w !== f.wt);
      const wt = others[int(others.length)];
      // Re-typed value bytes keep their content; a LEN field that becomes fixed-width gets padded/cut.
      const raw = wt === 1 ? fit(f.children ? serialize(f.children) : f.raw, 8) : wt === 5 ? fit(f.raw, 4) : wt === 0 ? varint(f.raw.byteLength) : f.raw;
      pick.list[pick.i] = { no: f.no, wt, raw };
      break;
    }
    case 'duplicate':
      pick.list.splice(pick.i, 0, { ...f });
      break;
    case 'drop':
      pick.list.splice(pick.i, 1);
      break;
    case 'extreme-varint': {
      const varints = spots.filter((s) => s.list[s.i].wt === 0);
      const v = varints.length ? varints[int(varints.length)] : pick;
      const g = v.list[v.i];
      v.list[v.i] = { no: g.no, wt: 0, raw: varint(EXTREMES[int(EXTREMES.length)]) };
      break;
    }
  }
  return serialize(tree);
}

function fit(b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(b.subarray(0, n));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Cases: shared by the test (to name a failing case) and the worker (to run it).

export interface FuzzInput {
  sources: { name: string; bytes: Uint8Array }[];
  seed: number;
  from: number;
  to: number;
  /** Every n-th case goes through loadModel from a file (the async path). */
  fileEvery: number;
  /** Folder the models notionally live in: external data resolves here (and file cases are written here). */
  scratch: string;
}

export type FuzzMessage =
  | { type: 'start'; i: number }
  | { type: 'done'; i: number; ms: number; accepted: boolean; failure?: string }
  | { type: 'unhandled'; detail: string };

export function caseOf(inp: Pick<FuzzInput, 'sources' | 'seed'>, i: number): { source: string; kind: string; bytes: Uint8Array } {
  const src = inp.sources[i % inp.sources.length];
  const kind = MUTATIONS[Math.floor(i / inp.sources.length) % MUTATIONS.length];
  return { source: src.name, kind, bytes: mutate(src.bytes, kind, rng(inp.seed * 1_000_003 + i)) };
}

