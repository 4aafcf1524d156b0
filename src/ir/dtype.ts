// ONNX tensor element types (TensorProto.DataType) as data: one row per type.
// `bits` is the storage width in raw_data (sub-byte types pack low nibble first);
// `field` is the typed TensorProto field used when raw_data is absent (ONNX IR.md, "TensorProto").

export enum DataType {
  UNDEFINED = 0,
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  UINT16 = 4,
  INT16 = 5,
  INT32 = 6,
  INT64 = 7,
  STRING = 8,
  BOOL = 9,
  FLOAT16 = 10,
  DOUBLE = 11,
  UINT32 = 12,
  UINT64 = 13,
  COMPLEX64 = 14,
  COMPLEX128 = 15,
  BFLOAT16 = 16,
  FLOAT8E4M3FN = 17,
  FLOAT8E4M3FNUZ = 18,
  FLOAT8E5M2 = 19,
  FLOAT8E5M2FNUZ = 20,
  UINT4 = 21,
  INT4 = 22,
  FLOAT4E2M1 = 23,
  FLOAT8E8M0 = 24,
  UINT2 = 25,
  INT2 = 26,
}

export type TypedField = 'float_data' | 'int32_data' | 'int64_data' | 'double_data' | 'uint64_data' | 'string_data';

/** onnxruntime-common's name for the type, where onnxruntime-node can hold it in a Tensor. */
export type OrtType =
  | 'float32' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32' | 'int64' | 'string' | 'bool'
  | 'float16' | 'float64' | 'uint32' | 'uint64' | 'int4' | 'uint4';

export interface DTypeInfo {
  readonly name: string;
  readonly bits: number;
  readonly field: TypedField;
  readonly kind: 'float' | 'int' | 'uint' | 'bool' | 'string' | 'complex';
  readonly ort?: OrtType;
}

const T = (name: string, bits: number, field: TypedField, kind: DTypeInfo['kind'], ort?: OrtType): DTypeInfo => ({ name, bits, field, kind, ort });

export const DTYPES: Readonly<Record<DataType, DTypeInfo>> = {
  [DataType.UNDEFINED]: T('undefined', 0, 'int32_data', 'int'),
  [DataType.FLOAT]: T('float32', 32, 'float_data', 'float', 'float32'),
  [DataType.UINT8]: T('uint8', 8, 'int32_data', 'uint', 'uint8'),
  [DataType.INT8]: T('int8', 8, 'int32_data', 'int', 'int8'),
  [DataType.UINT16]: T('uint16', 16, 'int32_data', 'uint', 'uint16'),
  [DataType.INT16]: T('int16', 16, 'int32_data', 'int', 'int16'),
  [DataType.INT32]: T('int32', 32, 'int32_data', 'int', 'int32'),
  [DataType.INT64]: T('int64', 64, 'int64_data', 'int', 'int64'),
  [DataType.STRING]: T('string', 0, 'string_data', 'string', 'string'),
  [DataType.BOOL]: T('bool', 8, 'int32_data', 'bool', 'bool'),
  [DataType.FLOAT16]: T('float16', 16, 'int32_data', 'float', 'float16'),
  [DataType.DOUBLE]: T('float64', 64, 'double_data', 'float', 'float64'),
  [DataType.UINT32]: T('uint32', 32, 'uint64_data', 'uint', 'uint32'),
  [DataType.UINT64]: T('uint64', 64, 'uint64_data', 'uint', 'uint64'),
  [DataType.COMPLEX64]: T('complex64', 64, 'float_data', 'complex'),
  [DataType.COMPLEX128]: T('complex128', 128, 'double_data', 'complex'),
  [DataType.BFLOAT16]: T('bfloat16', 16, 'int32_data', 'float'),
  [DataType.FLOAT8E4M3FN]: T('float8e4m3fn', 8, 'int32_data', 'float'),
  [DataType.FLOAT8E4M3FNUZ]: T('float8e4m3fnuz', 8, 'int32_data', 'float'),
  [DataType.FLOAT8E5M2]: T('float8e5m2', 8, 'int32_data', 'float'),
  [DataType.FLOAT8E5M2FNUZ]: T('float8e5m2fnuz', 8, 'int32_data', 'float'),
  [DataType.UINT4]: T('uint4', 4, 'int32_data', 'uint', 'uint4'),
  [DataType.INT4]: T('int4', 4, 'int32_data', 'int', 'int4'),
  [DataType.FLOAT4E2M1]: T('float4e2m1', 4, 'int32_data', 'float'),
  [DataType.FLOAT8E8M0]: T('float8e8m0', 8, 'int32_data', 'float'),
  [DataType.UINT2]: T('uint2', 2, 'int32_data', 'uint'),
  [DataType.INT2]: T('int2', 2, 'int32_data', 'int'),
};

export function dtypeInfo(dt: number): DTypeInfo {
  const info = DTYPES[dt as DataType];
  if (!info) throw new RangeError(`unknown tensor element type ${dt}`);
  return info;
}

export const dtypeName = (dt: number): string => DTYPES[dt as DataType]?.name ?? `type#${dt}`;

export function dtypeFromName(name: string): DataType {
  for (const [k, v] of Object.entries(DTYPES)) if (v.name === name || v.ort === name) return Number(k) as DataType;
  throw new RangeError(`unknown element type name '${name}'`);
}

/** Bytes needed to store `count` elements in raw_data. */
export const byteLength = (dt: DataType, count: number): number => Math.ceil((count * dtypeInfo(dt).bits) / 8);

export const isFloat = (dt: DataType): boolean => dtypeInfo(dt).kind === 'float';
