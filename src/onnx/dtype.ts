/** The tensor element types melseg's graphs use, and their ONNX TensorProto.DataType codes. */
export type DType = 'float32' | 'int64' | 'bool';

export const DTYPE_CODE = { float32: 1, int64: 7, bool: 9 } as const satisfies Record<DType, number>;

const FROM_CODE: Readonly<Record<number, DType>> = { 1: 'float32', 7: 'int64', 9: 'bool' };

/** The dtype of an ONNX code, or undefined for one melseg does not use. */
export function dtypeOfCode(code: number): DType | undefined {
  return FROM_CODE[code];
}
