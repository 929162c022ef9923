// The optional sodium-native addon (libsodium; prebuilt binaries in its npm package, no install step), loaded once
// for the backends that use it (aead-native.ts, ed25519-native.ts). Invariant: absent or unloadable → undefined.

import { createRequire } from 'node:module';

/** libsodium's functions as sodium-native exposes them; each backend checks the ones it needs are there. */
export type Sodium = Readonly<Record<string, unknown>>;

function load(): Sodium | undefined {
  try {
    return createRequire(import.meta.url)('sodium-native') as Sodium;
  } catch {
    return undefined;
  }
}

/** The sodium-native module, or undefined where it is not installed or its binary does not load. */
export const sodium: Sodium | undefined = load();

/**
 * V8 keeps a typed array of up to 64 bytes on its own heap, and a native call that reads one first moves it
 * off-heap (a malloc'd backing store and a copy). Short arguments that are not secret (nonces, AADs, signed
 * messages) go through buffers made off-heap once: `new ArrayBuffer` always has its own backing store.
 */
export function offHeap(size: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(size));
}
