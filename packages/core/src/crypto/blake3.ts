// BLAKE3-256 for content hashes, key ids and fingerprints. hash-wasm (WASM, MIT) is ~8-11x faster than
// pure-JS @noble/hashes (200-byte to 1 MiB inputs); tests cross-check the two and the official vectors.

import { BLAKE3_WASM_BASE64 } from './blake3-wasm.js';
import { compileWasmBase64, wasmGlobal } from './wasm-module.js';

// hash-wasm's own API only instantiates asynchronously, and awaiting it at module level made
// `require('@batpak/core')` throw ERR_REQUIRE_ASYNC_MODULE. The same binary is compiled synchronously instead,
// on first use, and driven exactly as hash-wasm's BLAKE3 hasher drives it (init(0), update in 16 KiB chunks,
// final(32)), so the bytes are the same and hashing stays synchronous.
interface Blake3Exports {
  readonly memory: { readonly buffer: ArrayBuffer };
  Hash_GetBuffer(): number;
  Hash_Init(keyLength: number): void;
  Hash_Update(length: number): void;
  Hash_Final(outputLength: number): void;
  /** Init, update over the first `length` bytes of the buffer, and final, in one call. */
  Hash_Calculate(length: number, initParam: number, outputLength: number): void;
}

const OUT = 32;
/** Size of the wasm module's input buffer (hash-wasm's MAX_HEAP). */
const CHUNK = 16 * 1024;
let wasm: Blake3Exports | undefined;
let compiled: object | undefined;
/** View of the input/output buffer; rebuilt if the wasm memory grows (which detaches the old buffer). */
let io = new Uint8Array(0);

/**
 * The compiled BLAKE3 module (a `WebAssembly.Module`), compiled once: worker threads are handed it and
 * instantiate their own copy, driving it exactly as `run` does below.
 */
export function blake3WasmModule(): object {
  compiled ??= compileWasmBase64(BLAKE3_WASM_BASE64);
  return compiled;
}

function instance(): Blake3Exports {
  if (wasm === undefined) {
    const { Instance } = wasmGlobal();
    wasm = new Instance(blake3WasmModule(), {}).exports as Blake3Exports;
  }
  if (io.byteLength === 0) io = new Uint8Array(wasm.memory.buffer, wasm.Hash_GetBuffer(), CHUNK);
  return wasm;
}

/** Below this a part is copied byte by byte: `set` costs more than the loop for a tag or a short field. */
const SHORT = 16;

/** Hashes `parts` and leaves the 32-byte digest at the start of `io`. */
function run(parts: readonly Uint8Array[]): void {
  const w = instance();
  let total = 0;
  for (let i = 0; i < parts.length; i++) total += parts[i]!.length;
  if (total <= CHUNK) {
    // The common case (leaves, nodes, ids, small payloads): lay the parts out in the buffer and hash them in
    // one call into the module, with no subarray per part. Hash_Calculate is Hash_Init(0), Hash_Update, Hash_Final.
    let at = 0;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.length < SHORT) for (let j = 0; j < p.length; j++) io[at + j] = p[j]!;
      else io.set(p, at);
      at += p.length;
    }
    w.Hash_Calculate(total, 0, OUT);
    return;
  }
  w.Hash_Init(0);
  for (const p of parts) {
    for (let at = 0; at < p.length; at += CHUNK) {
      const chunk = p.subarray(at, at + CHUNK);
      if (io.byteLength === 0) instance();
      io.set(chunk);
      w.Hash_Update(chunk.length);
    }
  }
  w.Hash_Final(OUT);
  if (io.byteLength === 0) instance(); // memory grew during hashing: re-view it before reading the digest
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** BLAKE3-256 of the concatenation of `parts`. Returns a fresh 32-byte array. */
export function blake3(...parts: readonly Uint8Array[]): Uint8Array {
  run(parts);
  return io.slice(0, OUT);
}

/** BLAKE3-256 of `src[from, to)` written to `out[outAt, outAt + 32)`: no digest allocated, for hashing a million payloads in a row. */
export function blake3Into(src: Uint8Array, from: number, to: number, out: Uint8Array, outAt: number): void {
  const w = instance();
  if (to - from <= CHUNK) {
    io.set(src.subarray(from, to));
    w.Hash_Calculate(to - from, 0, OUT);
  } else {
    w.Hash_Init(0);
    for (let at = from; at < to; at += CHUNK) {
      const end = Math.min(to, at + CHUNK);
      if (io.byteLength === 0) instance();
      io.set(src.subarray(at, end));
      w.Hash_Update(end - at);
    }
    w.Hash_Final(OUT);
  }
  if (io.byteLength === 0) instance();
  for (let i = 0; i < OUT; i++) out[outAt + i] = io[i]!;
}

/**
 * BLAKE3-256 of `prefix ‖ src[0, length)` written to `out[outAt, outAt + 32)`, with no array allocated when
 * it fits the module's buffer: for the per-event leaves of a signed group, written into a reused scratch.
 */
export function blake3PrefixedInto(prefix: Uint8Array, src: Uint8Array, length: number, out: Uint8Array, outAt: number): void {
  const total = prefix.length + length;
  if (total > CHUNK) {
    out.set(blake3(prefix, src.subarray(0, length)), outAt);
    return;
  }
  const w = instance();
  io.set(prefix);
  const at = prefix.length;
  if (length < 512) for (let i = 0; i < length; i++) io[at + i] = src[i]!;
  else io.set(src.subarray(0, length), at);
  w.Hash_Calculate(total, 0, OUT);
  if (io.byteLength === 0) instance();
  for (let i = 0; i < OUT; i++) out[outAt + i] = io[i]!;
}

/** Lowercase hex of BLAKE3-256 of `parts`. */
export function blake3Hex(...parts: readonly Uint8Array[]): string {
  run(parts);
  let s = '';
  for (let i = 0; i < OUT; i++) s += HEX[io[i]!];
  return s;
}
