// Hand-built ONNX protobufs for negative tests: models the IR would never let us build (cycles,
// dangling inputs, duplicate names, bad external data) written straight through the codec.
import { Long, onnx } from '../../src/onnx/codec.js';

export type Shape = (number | string)[];

/** int64 fields are Long in the generated types. */
export const long = (n: number | string | bigint): Long => (typeof n === 'number' ? Long.fromNumber(n) : Long.fromString(String(n)));
export const longs = (a: readonly (number | string | bigint)[]): Long[] => a.map(long);

export const valueInfo = (name: string, elemType = onnx.TensorProto.DataType.FLOAT, shape?: Shape): onnx.IValueInfoProto => ({
  name,
  type: { tensorType: { elemType, shape: shape ? { dim: shape.map((d): onnx.TensorShapeProto.IDimension => (typeof d === 'number' ? { dimValue: long(d) } : { dimParam: d })) } : undefined } },
});

export const node = (opType: string, input: string[], output: string[], name = '', extra: onnx.INodeProto = {}): onnx.INodeProto => ({ opType, input, output, name: name || undefined, ...extra });

export const floatTensor = (name: string, dims: number[], values: number[]): onnx.ITensorProto => ({
  name,
  dims: longs(dims),
  dataType: onnx.TensorProto.DataType.FLOAT,
  rawData: new Uint8Array(Float32Array.from(values).buffer),
});

/** A tensor whose data lives in `location` (relative to the model's folder). */
export const externalTensor = (name: string, dims: number[], location: string, offset: number, length: number): onnx.ITensorProto => ({
  name,
  dims: longs(dims),
  dataType: onnx.TensorProto.DataType.FLOAT,
  dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
  externalData: [
    { key: 'location', value: location },
    { key: 'offset', value: String(offset) },
    { key: 'length', value: String(length) },
  ],
});

export function modelBytes(graph: onnx.IGraphProto, opts: { opsets?: Record<string, number>; irVersion?: number } = {}): Uint8Array {
  const opsets = opts.opsets ?? { '': 17 };
  return onnx.ModelProto.encode({
    irVersion: long(opts.irVersion ?? 8),
    producerName: 'kiln-test',
    opsetImport: Object.entries(opsets).map(([domain, version]) => ({ domain, version: long(version) })),
    graph: { name: 'test', ...graph },
  }).finish();
}

/** x[2,3] + W[2,3] → y, with W given by `w` (inline or external). */
export const addModel = (w: onnx.ITensorProto): Uint8Array =>
  modelBytes({
    node: [node('Add', ['x', 'W'], ['y'], 'add_w')],
    initializer: [w],
    input: [valueInfo('x', 1, [2, 3])],
    output: [valueInfo('y', 1, [2, 3])],
  });

/** A small model with real weights: Conv(3→4, 3×3) + Relu, for truncation and fuzzing. */
export function convModel(seed = 1): Uint8Array {
  let s = seed >>> 0;
  const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const w = Array.from({ length: 4 * 3 * 3 * 3 }, rand);
  const b = Array.from({ length: 4 }, rand);
  return modelBytes({
    node: [
      node('Conv', ['x', 'w', 'b'], ['c'], 'conv1', { attribute: [{ name: 'pads', type: onnx.AttributeProto.AttributeType.INTS, ints: longs([1, 1, 1, 1]) }] }),
      node('Relu', ['c'], ['y'], 'relu1'),
    ],
    initializer: [floatTensor('w', [4, 3, 3, 3], w), floatTensor('b', [4], b)],
    input: [valueInfo('x', 1, ['batch', 3, 8, 8])],
    output: [valueInfo('y', 1, ['batch', 4, 8, 8])],
  });
}
