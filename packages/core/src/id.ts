// Event ids: 16 bytes, UUIDv7 (48-bit ms timestamp, version 7, RFC variant, random rest) as in Rust
// batpak; an idempotency key derives its id deterministically, so a repeat resolves to the same event.

import { blake3 } from './crypto/blake3.js';
import { randomBytes } from './crypto/random.js';
import { BatpakError } from './errors.js';
import { toHex } from './encoding/hex.js';
import { isWellFormedString } from './encoding/utf16.js';

/** A fresh UUIDv7 event id for the given wall-clock milliseconds. */
export function newEventId(nowMs: number): Uint8Array {
  const id = new Uint8Array(16);
  let ms = nowMs;
  for (let i = 5; i >= 0; i--) {
    id[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  id.set(randomBytes(10), 6);
  id[6] = 0x70 | (id[6]! & 0x0f);
  id[8] = 0x80 | (id[8]! & 0x3f);
  return id;
}

const IDEMPOTENCY_DOMAIN = new TextEncoder().encode('batpak.idempotency-key.v1\0');

/** The event id an idempotency key names: first 16 bytes of blake3(domain ‖ key). */
export function eventIdForIdempotencyKey(key: string): Uint8Array {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024) {
    throw BatpakError.invalidArgument('idempotencyKey must be a non-empty string of at most 1024 characters', { field: 'idempotencyKey' });
  }
  // 'k\uD800' and 'k\uFFFD' would hash to the same id: a lone surrogate is refused, not replaced.
  if (!isWellFormedString(key)) {
    throw BatpakError.invalidArgument('idempotencyKey contains a lone UTF-16 surrogate', { field: 'idempotencyKey' });
  }
  return blake3(IDEMPOTENCY_DOMAIN, new TextEncoder().encode(key)).subarray(0, 16);
}

/** Event ids are 32 lowercase hex characters. */
export function eventIdToString(id: Uint8Array): string {
  return toHex(id);
}

const EVENT_ID_RE = /^[0-9a-f]{32}$/;

export function isEventIdString(text: unknown): text is string {
  return typeof text === 'string' && EVENT_ID_RE.test(text);
}
