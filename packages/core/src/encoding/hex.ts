// Lowercase hex encoding for ids, hashes and the portable receipt form; strict on input.

import { BatpakError } from '../errors.js';

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Parses lowercase or uppercase hex; ERR_INVALID_ARGUMENT on odd length or a non-hex digit. */
export function fromHex(text: string, field = 'hex'): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw BatpakError.invalidArgument(`${field} is not an even-length hex string`, { field });
  }
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Copies small arrays (ids, hashes) out of a large buffer so the index does not keep it alive. */
export function detach(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}
