// Compiles a WebAssembly module embedded in the package as base64, synchronously (an async compile at module level
// would make `require('@batpak/core')` fail). Callers compile once and hand the module to worker threads.

/** The WebAssembly global, typed here because the Node 20 type definitions this package builds with omit it. */
export interface WasmGlobal {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

/** The WebAssembly global of this realm. */
export const wasmGlobal = (): WasmGlobal => (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;

/** Compiles the module whose bytes `base64` holds (a `WebAssembly.Module`). */
export function compileWasmBase64(base64: string): object {
  return new (wasmGlobal().Module)(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
}
