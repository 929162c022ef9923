// The libsodium XChaCha20-Poly1305 backend, through the optional sodium-native addon (prebuilt binaries in its
// npm package, no install step). Absent or unloadable → undefined, and aead.ts uses the portable backend.
//
// Why: for event-sized payloads the portable backend's per-call OpenSSL setup dominates. Measured on this
// machine (node 20.20, 2 cores, 256-byte payload, seal incl. the output allocation): ~1 µs quiet and
// 3.7–5.3 µs at load 6 for libsodium, against ~6 µs quiet and 21–25 µs at load 6 for the portable backend.

import { createRequire } from 'node:module';
import { offHeap, sodium as loaded } from './sodium.js';

/** The two sodium-native calls batpak uses (combined mode: ciphertext ‖ 16-byte tag). */
interface SodiumAead {
  crypto_aead_xchacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_xchacha20poly1305_ietf_decrypt(m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array): number;
}

/** The addon's own encrypt (sodium-native's exported one minus its argument asserts and the `nsec` slot). */
type RawEncrypt = (c: Uint8Array, m: Uint8Array, ad: Uint8Array, npub: Uint8Array, k: Uint8Array) => number;

export interface NativeAead {
  /** ciphertext ‖ tag of `plaintext` (arguments already checked). */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /**
   * seal, for arrays the caller keeps and reuses or made off-heap (a pooled nonce, a seal context's AAD): they go to
   * libsodium as they are, not through the scratch copies, which only pay off for fresh short arrays.
   */
  sealKept(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** The plaintext, or undefined when the tag does not verify (arguments checked, `sealed` ≥ 16 bytes). */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined;
}

/**
 * A fresh nonce would be moved off V8's heap by every seal (sodium.ts, offHeap): nonces and short AADs (not
 * secret) go through these reused off-heap buffers instead: measured under callgrind, 14.6k → 13.3k
 * instructions per 256-byte seal.
 */
const nonceScratch = offHeap(24);
const SHORT_AAD = 64;
const aadScratch = offHeap(SHORT_AAD);

function offHeapNonce(nonce: Uint8Array): Uint8Array {
  nonceScratch.set(nonce);
  return nonceScratch;
}

function offHeapAad(aad: Uint8Array): Uint8Array {
  if (aad.length > SHORT_AAD) return aad;
  aadScratch.set(aad);
  return aadScratch.subarray(0, aad.length);
}

/**
 * Sealed payloads of event size are cut from a shared off-heap slab: a fresh `Uint8Array` over 64 bytes gets a malloc'd
 * backing store of its own (and a finalizer for the GC), which cost more than the cipher itself (~0.9 µs against
 * ~0.5–1 µs for 256 bytes). A sealed payload lives until its commit group is written (the frame copies it), so a slab
 * is freed once the groups cut from it have landed; regions are never reused. Bigger outputs get their own buffer.
 */
const SLAB_BYTES = 64 * 1024;
export const SLAB_OUTPUT_MAX = 2048;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabAt = 0;

/** `n` fresh bytes for a sealed payload: a region of the slab when small, else a buffer of its own. */
export function sealOutput(n: number): Uint8Array {
  if (n > SLAB_OUTPUT_MAX) return new Uint8Array(n);
  if (slabAt + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabAt = 0;
  }
  // A view made by the constructor, not subarray (which looks up the species constructor on every call).
  const out = new Uint8Array(slab, slabAt, n);
  slabAt += n;
  return out;
}

/** Which encrypt the native backend calls: the addon's binding, or sodium-native's exported wrapper. */
export let nativeEncryptPath: 'binding' | 'wrapper' | undefined;

/**
 * The addon's encrypt without sodium-native's JavaScript wrapper, whose asserts re-check what aead.ts has checked
 * (~1.7k of ~10k instructions per 256-byte seal under callgrind). Only when it is proven to be the same call: it must
 * give the wrapper's bytes for a probe, else (another sodium-native, another binding layout) the wrapper is used.
 */
function rawEncrypt(sodium: SodiumAead): RawEncrypt {
  const wrapped: RawEncrypt = (c, m, ad, npub, k) => sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(c, m, ad, null, npub, k);
  nativeEncryptPath = 'wrapper';
  try {
    const binding = createRequire(import.meta.url)('sodium-native/binding') as { crypto_aead_xchacha20poly1305_ietf_encrypt?: unknown };
    const raw = binding.crypto_aead_xchacha20poly1305_ietf_encrypt;
    if (typeof raw !== 'function') return wrapped;
    const probe = (encrypt: RawEncrypt): Uint8Array => {
      const key = offHeap(32).fill(1);
      const nonce = offHeap(24).fill(2);
      const c = offHeap(16 + 33);
      encrypt(c, offHeap(33).fill(3), offHeap(5).fill(4), nonce, key);
      return c;
    };
    const direct = probe(raw as RawEncrypt);
    const expected = probe(wrapped);
    if (!direct.every((b, i) => b === expected[i])) return wrapped;
    nativeEncryptPath = 'binding';
    return raw as RawEncrypt;
  } catch {
    return wrapped;
  }
}

function load(): NativeAead | undefined {
  if (loaded === undefined) return undefined;
  const sodium = loaded as unknown as SodiumAead;
  if (typeof sodium.crypto_aead_xchacha20poly1305_ietf_encrypt !== 'function' || typeof sodium.crypto_aead_xchacha20poly1305_ietf_decrypt !== 'function') return undefined;
  const encrypt = rawEncrypt(sodium);
  return {
    seal(key, nonce, plaintext, aad) {
      const out = sealOutput(plaintext.length + 16);
      encrypt(out, plaintext, offHeapAad(aad), offHeapNonce(nonce), key);
      return out;
    },
    sealKept(key, nonce, plaintext, aad) {
      const out = sealOutput(plaintext.length + 16);
      encrypt(out, plaintext, aad, nonce, key);
      return out;
    },
    open(key, nonce, sealed, aad) {
      const out = new Uint8Array(sealed.length - 16);
      try {
        sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, sealed, offHeapAad(aad), offHeapNonce(nonce), key);
      } catch {
        // Nothing unauthenticated leaves this function: wipe whatever the call may have written.
        out.fill(0);
        return undefined;
      }
      return out;
    },
  };
}

/** libsodium's AEAD, or undefined where sodium-native is not installed or its binary does not load. */
export const nativeAead: NativeAead | undefined = load();
