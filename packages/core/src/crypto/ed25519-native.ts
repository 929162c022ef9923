// The libsodium Ed25519 signing backend, through the optional sodium-native addon (sodium.ts). Absent or
// unloadable → undefined, and ed25519.ts signs with node:crypto. RFC 8032 signing is deterministic: same bytes.
//
// Why: a signed store signs once per commit group on the commit path, before the group's write is issued;
// libsodium signs ~1.7x faster than node:crypto's one-shot sign here (anchors: 70.9k against 41.4k signs/s).

import { offHeap, sodium as loaded } from './sodium.js';

/** The two sodium-native calls signing needs (sk is libsodium's 64 bytes: seed ‖ public key). */
interface SodiumSign {
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): void;
}

export interface NativeSigner {
  readonly publicKey: Uint8Array;
  /** The 64-byte signature of `message` (checked to be a Uint8Array by the caller). */
  sign(message: Uint8Array): Uint8Array;
}

export interface NativeEd25519 {
  /** A signer of the 32-byte `seed` (checked by the caller); the seed is copied, not kept. */
  signer(seed: Uint8Array): NativeSigner;
}

// Group messages are 48 bytes: short messages and the signature go through off-heap buffers (sodium.ts, offHeap).
const SHORT_MESSAGE = 64;
const messageScratch = offHeap(SHORT_MESSAGE);
const signatureScratch = offHeap(64);

function load(): NativeEd25519 | undefined {
  if (loaded === undefined) return undefined;
  const sodium = loaded as unknown as SodiumSign;
  if (typeof sodium.crypto_sign_seed_keypair !== 'function' || typeof sodium.crypto_sign_detached !== 'function') return undefined;
  return {
    signer(seed) {
      const publicKey = offHeap(32);
      // The secret key lives in its own off-heap buffer, reachable only through this closure.
      const secretKey = offHeap(64);
      sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed);
      return {
        publicKey: publicKey.slice(),
        sign(message) {
          let m = message;
          if (message.length <= SHORT_MESSAGE) {
            messageScratch.set(message);
            m = messageScratch.subarray(0, message.length);
          }
          sodium.crypto_sign_detached(signatureScratch, m, secretKey);
          const signature = signatureScratch.slice();
          signatureScratch.fill(0);
          return signature;
        },
      };
    },
  };
}

/** libsodium's Ed25519 signing, or undefined where sodium-native is not installed or its binary does not load. */
export const nativeEd25519: NativeEd25519 | undefined = load();
