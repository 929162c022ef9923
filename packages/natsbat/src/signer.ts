// An ed25519 ReceiptSigner from a 32-byte seed (the same `signingKey` a Store is opened with), over
// node:crypto. Invariant: the seed is not retained and the key never appears in inspect/JSON output.

import { createPrivateKey, createPublicKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import type { ReceiptSigner } from '@batpak/core';
import { NatsbatError } from './errors.js';

// PKCS#8 PrivateKeyInfo around a raw RFC 8032 seed, and the SubjectPublicKeyInfo prefix of the point
// (OID 1.3.101.112, id-Ed25519): node:crypto takes raw ed25519 keys only through these wrappers.
const PKCS8_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);
const SPKI_PREFIX_LENGTH = 12;

class SeedSigner implements ReceiptSigner {
  readonly #key: KeyObject;
  readonly #publicKey: Uint8Array;

  constructor(seed: Uint8Array) {
    const der = new Uint8Array(PKCS8_PREFIX.length + 32);
    der.set(PKCS8_PREFIX);
    der.set(seed, PKCS8_PREFIX.length);
    try {
      this.#key = createPrivateKey({ key: Buffer.from(der.buffer), format: 'der', type: 'pkcs8' });
    } finally {
      der.fill(0);
    }
    this.#publicKey = new Uint8Array(createPublicKey(this.#key).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX_LENGTH));
  }

  get publicKey(): Uint8Array {
    return this.#publicKey.slice();
  }

  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(nodeSign(null, message, this.#key));
  }

  toJSON(): string {
    return 'ReceiptSigner(ed25519)';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'ReceiptSigner(ed25519)';
  }
}

/** A ReceiptSigner for a 32-byte ed25519 seed. */
export function signerFromSeed(seed: Uint8Array): ReceiptSigner {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw NatsbatError.INVALID_OPTION('signingKey must be a 32-byte ed25519 seed', 'signingKey');
  return new SeedSigner(seed);
}
