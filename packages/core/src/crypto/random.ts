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
