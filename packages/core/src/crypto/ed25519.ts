// Ed25519 (RFC 8032, pure, deterministic): signing through libsodium when sodium-native loads (ed25519-native.ts),
// else node:crypto (~7x @noble/ed25519 here); verifying through node:crypto. Both signers give the same bytes.
// Invariant: key material never leaves a signer through toString/inspect/JSON, and verify() answers false, never throws.

import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { BatpakError } from '../errors.js';
import { nativeEd25519, type NativeSigner } from './ed25519-native.js';

export const ED25519_SEED_LENGTH = 32;
export const ED25519_PUBLIC_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;

// DER wrappers that let node:crypto take raw RFC 8032 keys: PKCS#8 PrivateKeyInfo around the 32-byte seed,
// SubjectPublicKeyInfo around the 32-byte point (both for OID 1.3.101.112, id-Ed25519).
const PKCS8_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);
const SPKI_PREFIX = Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00);

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function requireBytes(value: unknown, length: number, field: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    const got = value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
    throw BatpakError.invalidArgument(`${field} must be ${length} bytes, got ${got}`, { field });
  }
}

function requireMessage(message: unknown): asserts message is Uint8Array {
  if (!(message instanceof Uint8Array)) {
    throw BatpakError.invalidArgument('message must be a Uint8Array', { field: 'message' });
  }
}

/** Which backend signs in this process: 'libsodium' (sodium-native) or 'node:crypto'. */
export const ED25519_SIGN_BACKEND: 'libsodium' | 'node:crypto' = nativeEd25519 === undefined ? 'node:crypto' : 'libsodium';

/**
 * A signing key prepared once: building the key costs ~10x a signature, so anything that signs more
 * than once (the store's receipt signer) should hold one of these rather than a raw seed.
 */
export class Ed25519Signer {
  readonly #key: KeyObject | undefined;
  readonly #native: NativeSigner | undefined;
  readonly #publicKey: Uint8Array;

  /**
   * `seed` is the 32-byte RFC 8032 secret key. It is not retained; the caller may wipe it afterwards.
   * `backend` 'node:crypto' skips libsodium (tests hold the two backends to the same bytes).
   */
  constructor(seed: Uint8Array, backend: 'default' | 'node:crypto' = 'default') {
    requireBytes(seed, ED25519_SEED_LENGTH, 'seed');
    if (backend === 'default' && nativeEd25519 !== undefined) {
      this.#native = nativeEd25519.signer(seed);
      this.#publicKey = this.#native.publicKey;
      return;
    }
    const der = new Uint8Array(PKCS8_PREFIX.length + ED25519_SEED_LENGTH);
    der.set(PKCS8_PREFIX);
    der.set(seed, PKCS8_PREFIX.length);
    try {
      this.#key = createPrivateKey({ key: Buffer.from(der.buffer), format: 'der', type: 'pkcs8' });
    } finally {
      der.fill(0);
    }
    const spki = createPublicKey(this.#key).export({ format: 'der', type: 'spki' });
    this.#publicKey = new Uint8Array(spki.subarray(SPKI_PREFIX.length));
  }

  /** The 32-byte public key (a fresh copy each call, so callers cannot alter the signer's). */
  get publicKey(): Uint8Array {
    return this.#publicKey.slice();
  }

  /** The 64-byte RFC 8032 signature of `message`. */
  sign(message: Uint8Array): Uint8Array {
    requireMessage(message);
    try {
      if (this.#native !== undefined) return this.#native.sign(message);
      return new Uint8Array(nodeSign(null, message, this.#key!));
    } catch (err) {
      throw BatpakError.signerFailed('Ed25519 signing', err);
    }
  }

  toString(): string {
    return `Ed25519Signer(publicKey=${toHex(this.#publicKey)})`;
  }

  toJSON(): { readonly type: 'Ed25519Signer'; readonly publicKey: string } {
    return { type: 'Ed25519Signer', publicKey: toHex(this.#publicKey) };
  }

  [INSPECT](): string {
    return this.toString();
  }
}

/** The 32-byte public key of a 32-byte seed. */
export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return new Ed25519Signer(seed).publicKey;
}

/** Signs with a prepared signer, or with a raw seed (one-off: builds and drops a key each call). */
export function sign(signer: Ed25519Signer | Uint8Array, message: Uint8Array): Uint8Array {
  return (signer instanceof Ed25519Signer ? signer : new Ed25519Signer(signer)).sign(message);
}

// Parsed public keys, most recently used last. Verification is dominated by a handful of store keys and
// parsing one costs ~60% of a verify, so a small bounded cache pays for itself; public keys are not secret.
const PUBLIC_KEY_CACHE_SIZE = 256;
const publicKeys = new Map<string, KeyObject>();

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = toHex(publicKey);
  const hit = publicKeys.get(id);
  if (hit !== undefined) {
    publicKeys.delete(id);
    publicKeys.set(id, hit);
    return hit;
  }
  const der = new Uint8Array(SPKI_PREFIX.length + ED25519_PUBLIC_KEY_LENGTH);
  der.set(SPKI_PREFIX);
  der.set(publicKey, SPKI_PREFIX.length);
  const key = createPublicKey({ key: Buffer.from(der.buffer), format: 'der', type: 'spki' });
  if (publicKeys.size >= PUBLIC_KEY_CACHE_SIZE) {
    const oldest = publicKeys.keys().next();
    if (oldest.done !== true) publicKeys.delete(oldest.value);
  }
  publicKeys.set(id, key);
  return key;
}

/**
 * True iff `signature` is a valid RFC 8032 signature of `message` under `publicKey`. Wrong lengths, a key
 * that is not a curve point, S >= L, or wrong argument types give false; this function never throws.
 */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_LENGTH) return false;
  if (!(message instanceof Uint8Array)) return false;
  try {
    return nodeVerify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}
