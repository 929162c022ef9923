// Digest: a 32-byte BLAKE3 over the canonical (rmp-serde `to_vec_named`) bytes of a view — H_module, H_host, H_interface.
// Invariant: a digest is a pure function of its view's canonical bytes; the domain is a field of the view, never a byte prefix.

import { blake3, encodeCanonical, toHex, type CanonicalValue } from '@batpak/core';
import { HostError, messageOf } from './errors.js';

/** An immutable 32-byte digest. `toHex()` (and `String(d)`, `JSON.stringify(d)`) give lowercase hex. */
export class Digest {
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array) || bytes.length !== 32) throw new TypeError('a digest is 32 bytes');
    this.#bytes = new Uint8Array(bytes);
    Object.freeze(this);
  }

  /** A copy of the 32 bytes. */
  get bytes(): Uint8Array {
    return new Uint8Array(this.#bytes);
  }

  toHex(): string {
    return toHex(this.#bytes);
  }

  equals(other: Digest): boolean {
    return other instanceof Digest && this.toHex() === other.toHex();
  }

  toString(): string {
    return this.toHex();
  }

  toJSON(): string {
    return this.toHex();
  }
}

/** Canonical bytes of a view; an encoder refusal becomes HostError `ERR_CANONICAL_ENCODING`. */
export function canonicalBytes(view: CanonicalValue): Uint8Array {
  try {
    return encodeCanonical(view);
  } catch (err) {
    throw new HostError({ kind: 'canonical_encoding', detail: messageOf(err) }, { cause: err });
  }
}

export function canonicalDigest(view: CanonicalValue): Digest {
  return new Digest(blake3(canonicalBytes(view)));
}
