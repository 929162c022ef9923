// BLAKE3-256 of many inputs in one call on the calling thread, four same-length inputs at a time through the SIMD
// module (crypto/blake3x4-wasm.ts); the sealed payloads of one commit group are hashed here (store/sealed-hashes.ts).
// Invariant: every digest is exactly blake3()'s; inputs the module does not take (empty, over one 1 KiB chunk) go
// through blake3() itself.

import { blake3 } from './blake3.js';
import { blake3x4WasmModule } from './blake3x4.js';
import { wasmGlobal } from './wasm-module.js';

interface Memory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The largest input hashed four at a time: one BLAKE3 chunk, so its last block is the root. */
const MAX = 1024;
/** Memory: [0, 256) the module's scratch, then nine i32 a job, the digests, and the inputs' bytes. */
const JOBS = 256;

let memory: Memory | undefined;
let hash4: ((jobs: number, n: number, scratch: number) => void) | undefined;
let u8 = new Uint8Array(0);
let i32 = new Int32Array(0);

function ensure(bytes: number): void {
  if (memory === undefined) {
    const WA = globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => Memory } };
    memory = new WA.WebAssembly.Memory({ initial: 1 });
    const { Instance } = wasmGlobal();
    hash4 = (new Instance(blake3x4WasmModule(), { env: { __linear_memory: memory } }).exports as { hash4: typeof hash4 }).hash4;
  }
  if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
  if (u8.buffer !== memory.buffer) {
    u8 = new Uint8Array(memory.buffer);
    i32 = new Int32Array(memory.buffer);
  }
}

/**
 * Writes blake3(inputs[i]) to outs[i] (32 bytes each) for every i. Inputs of one length in a row share a call's
 * four lanes: at 272 bytes, 64 inputs a call, ~4.1k instructions a digest against ~8.5k for blake3() one at a time
 * (callgrind).
 */
export function blake3Each(inputs: readonly Uint8Array[], outs: readonly Uint8Array[]): void {
  const n = inputs.length;
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += inputs[i]!.length;
  const digAt = JOBS + 36 * n;
  const dataAt = digAt + 32 * n;
  ensure(dataAt + bytes);
  let jobs = 0;
  let job = 0;
  let lanes = 0;
  let length = -1;
  let at = dataAt;
  const pad = () => {
    // A job with fewer than four inputs repeats its last lane: that digest is written twice, to the same place.
    for (let k = lanes; k < 4; k++) {
      i32[job + k] = i32[job + lanes - 1]!;
      i32[job + 5 + k] = i32[job + 5 + lanes - 1]!;
    }
  };
  for (let i = 0; i < n; i++) {
    const input = inputs[i]!;
    const len = input.length;
    if (len === 0 || len > MAX) continue;
    if (lanes === 0 || lanes === 4 || len !== length) {
      if (lanes > 0) pad();
      job = (JOBS >> 2) + 9 * jobs++;
      i32[job + 4] = len;
      length = len;
      lanes = 0;
    }
    u8.set(input, at);
    i32[job + lanes] = at;
    i32[job + 5 + lanes] = digAt + 32 * i;
    lanes++;
    at += len;
  }
  if (lanes > 0) pad();
  if (jobs > 0) hash4!(JOBS, jobs, 0);
  for (let i = 0; i < n; i++) {
    const len = inputs[i]!.length;
    if (len === 0 || len > MAX) outs[i]!.set(blake3(inputs[i]!));
    else outs[i]!.set(u8.subarray(digAt + 32 * i, digAt + 32 * i + 32));
  }
}
