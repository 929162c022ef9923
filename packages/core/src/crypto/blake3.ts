// BLAKE3-256 for content hashes, key ids and fingerprints. hash-wasm (WASM, MIT) is ~8-11x faster than
// pure-JS @noble/hashes (200-byte to 1 MiB inputs); tests cross-check the two and the official vectors.

import { createBLAKE3 } from 'hash-wasm';

// One reusable hasher: init() per message is what was measured, and it keeps hashing synchronous.
const hasher = await createBLAKE3(256);

/** BLAKE3-256 of the concatenation of `parts`. Returns a fresh 32-byte array. */
export function blake3(...parts: readonly Uint8Array[]): Uint8Array {
  hasher.init();
  for (const p of parts) hasher.update(p);
  return hasher.digest('binary');
}

/** Lowercase hex of BLAKE3-256 of `parts`. */
export function blake3Hex(...parts: readonly Uint8Array[]): string {
  hasher.init();
  for (const p of parts) hasher.update(p);
  return hasher.digest('hex');
}
