// The four-lane SIMD BLAKE3 module (crypto/blake3x4-wasm.ts), compiled once; digest workers are handed it and
// instantiate their own copy (segment/frame-digest.ts blake3x4Hasher drives it).

import { BLAKE3X4_WASM_BASE64 } from './blake3x4-wasm.js';
import { compileWasmBase64 } from './wasm-module.js';

let compiled: object | undefined;

/** The compiled module (a `WebAssembly.Module`). */
export function blake3x4WasmModule(): object {
  compiled ??= compileWasmBase64(BLAKE3X4_WASM_BASE64);
  return compiled;
}
