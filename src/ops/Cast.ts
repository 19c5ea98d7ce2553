import type { DType } from '../onnx/graph';
import type { OpDef } from './types';
import { unsupported } from './types';

/** ONNX TensorProto.DataType codes used by melseg. */
export const DTYPE_CODE: Record<DType, number> = { float32: 1, int64: 7, bool: 9 };
const FROM_CODE: Record<number, DType> = { 1: 'float32', 7: 'int64', 9: 'bool' };

// A cast to float of a non-float carries no gradient; float->float passes it through.
export const Cast: OpDef = {
  shape: ([x], attrs) => {
    const dtype = FROM_CODE[attrs.to as number];
    if (!dtype) unsupported('Cast', 'to', attrs.to);
    return [{ shape: [...x!.shape], dtype }];
  },
  grad: ({ inputs: [x], outputs: [y], dOut: [dy] }) => [x!.dtype === 'float32' && y.dtype === 'float32' ? dy : null],
};
