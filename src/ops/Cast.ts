import { dtypeOfCode } from '../onnx/dtype';
import { int, op, unsupported } from './types';
import { UNARY, type Unary } from './elementwise';

// A cast to float of a non-float carries no gradient; float->float passes it through.
export const Cast = op<Unary>({
  inputs: UNARY,
  shape: ([x], attrs) => {
    const dtype = dtypeOfCode(int(attrs, 'to', 0));
    if (!dtype) unsupported('Cast', 'to', attrs.to);
    return [{ shape: [...x.shape], dtype }];
  },
  grad: ({ inputs: [x], outputs: [y], dy }) => [x.dtype === 'float32' && y.dtype === 'float32' ? dy : null],
});
