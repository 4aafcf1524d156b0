// protobufjs set-up shared by the reader and the writer. int64 fields decode to Long so that
// INT64_MAX (Slice's "to the end") survives a round trip; see toLong for the reverse direction.
import protobuf from 'protobufjs/minimal.js';
import Long from 'long';
import { onnx } from './generated/onnx.js';

protobuf.util.Long = Long;
protobuf.configure();

export { onnx, Long };

/** int64 → number. Values beyond ±2^53 round; ±2^63 (INT64_MAX/MIN) stay recognisable. */
export const toNum = (x: Long | number | null | undefined): number => (x == null ? 0 : typeof x === 'number' ? x : x.toNumber());

/** number → int64, saturating at INT64_MAX/INT64_MIN (so 2^63 written back is INT64_MAX). */
export const toLong = (n: number): Long => Long.fromNumber(n);
