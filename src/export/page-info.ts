/**
 * What the exported page and `melseg export --web` share: the page's model description (model.json)
 * and the onnxruntime-web files it loads. Plain data, so web/page.ts can bundle it.
 */
import type { InferenceSettings } from '../infer/settings';

/** What the page reads from model.json. */
export interface PageModelInfo {
  model: string;
  loss: string;
  imageSize: number;
  width: number;
  settings: InferenceSettings;
  origin: string;
  fp16: boolean;
  checkpoint: string;
  /** exported with --trainable: the page can fine-tune (trainable.json and its graphs are beside it) */
  trainable: boolean;
  validIou?: number;
}

/**
 * onnxruntime-web's two builds, each an API script (global `ort`), its Emscripten loader and binary:
 * WebAssembly only (14 MB), and WebGPU (27 MB; its Asyncify WebAssembly also runs, on the CPU, the
 * ops the WebGPU provider lacks). A page without a WebGPU adapter never fetches the second.
 */
export const ORT_BUILDS = {
  wasm: ['ort.wasm.min.js', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'],
  webgpu: ['ort.webgpu.min.js', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'],
} as const;

export type Backend = keyof typeof ORT_BUILDS;
