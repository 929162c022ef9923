// The four-lane SIMD BLAKE3 module (crypto/blake3x4-wasm.ts), compiled once; digest workers are handed it and
// instantiate their own copy (segment/frame-digest.ts blake3x4Hasher drives it).

import { BLAKE3X4_WASM_BASE64 } from './blake3x4-wasm.js';

let compiled: object | undefined;

/** The compiled module (a `WebAssembly.Module`). */
export function blake3x4WasmModule(): object {
  if (compiled === undefined) {
    const bytes = Uint8Array.from(atob(BLAKE3X4_WASM_BASE64), (c) => c.charCodeAt(0));
    compiled = new (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } }).WebAssembly.Module(bytes);
  }
  return compiled;
}
