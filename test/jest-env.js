// Jest runs tests in a separate realm whose typed-array constructors differ from Node's, and
// onnxruntime-node checks `data instanceof Float32Array` against the outer realm's constructors.
// Sharing the host's typed arrays (and Buffer) lets tensors cross between tests and the runtime.
const NodeEnvironment = require('jest-environment-node').TestEnvironment;

class SharedTypedArrayEnvironment extends NodeEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of ['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array', 'Int8Array', 'Uint16Array',
      'Int16Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array', 'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Buffer']) {
      this.global[name] = globalThis[name];
    }
  }
}
module.exports = SharedTypedArrayEnvironment;
