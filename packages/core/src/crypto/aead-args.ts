// Argument checks shared by both XChaCha20-Poly1305 backends, so a bad key or nonce is the same typed error
// (ERR_INVALID_ARGUMENT) whichever backend runs; the sizes are the construction's, not tunables.

import { BatpakError } from '../errors.js';

export const XCHACHA_KEY_LENGTH = 32;
export const XCHACHA_NONCE_LENGTH = 24;
export const XCHACHA_TAG_LENGTH = 16;

export function requireBytes(value: unknown, length: number | undefined, field: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || (length !== undefined && value.length !== length)) {
    const want = length === undefined ? 'a Uint8Array' : `${length} bytes`;
    const got = value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
    throw BatpakError.invalidArgument(`${field} must be ${want}, got ${got}`, { field });
  }
}
