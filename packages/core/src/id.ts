// Event ids: 16 bytes, UUIDv7 (48-bit ms timestamp, version 7, RFC variant, random rest) as in Rust
// batpak; an idempotency key derives its id deterministically, so a repeat resolves to the same event.

import { blake3 } from './crypto/blake3.js';
import { randomBytesInto } from './crypto/random.js';
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
  randomBytesInto(id, 6, 10);
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

/** Char codes of the lowercase hex digits. */
const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** Event ids are 32 lowercase hex characters. */
export function eventIdToString(id: Uint8Array): string {
  if (id.length !== 16) return toHex(id);
  // Every append names its id this way: one flat string and nothing else allocated (no Buffer view).
  const h = HEX_CODES;
  return String.fromCharCode(
    h[id[0]! >> 4]!, h[id[0]! & 15]!, h[id[1]! >> 4]!, h[id[1]! & 15]!, h[id[2]! >> 4]!, h[id[2]! & 15]!, h[id[3]! >> 4]!, h[id[3]! & 15]!,
    h[id[4]! >> 4]!, h[id[4]! & 15]!, h[id[5]! >> 4]!, h[id[5]! & 15]!, h[id[6]! >> 4]!, h[id[6]! & 15]!, h[id[7]! >> 4]!, h[id[7]! & 15]!,
    h[id[8]! >> 4]!, h[id[8]! & 15]!, h[id[9]! >> 4]!, h[id[9]! & 15]!, h[id[10]! >> 4]!, h[id[10]! & 15]!, h[id[11]! >> 4]!, h[id[11]! & 15]!,
    h[id[12]! >> 4]!, h[id[12]! & 15]!, h[id[13]! >> 4]!, h[id[13]! & 15]!, h[id[14]! >> 4]!, h[id[14]! & 15]!, h[id[15]! >> 4]!, h[id[15]! & 15]!,
  );
}

const EVENT_ID_RE = /^[0-9a-f]{32}$/;

export function isEventIdString(text: unknown): text is string {
  return typeof text === 'string' && EVENT_ID_RE.test(text);
}
