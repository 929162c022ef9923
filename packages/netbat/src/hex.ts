// Hex text <-> bytes for every netbat field that carries bytes (inputs, outputs, cursors, payloads, messages).
// Invariant: encoding is lowercase; decoding accepts both cases and checks odd length, then size, then digits (README § Request decoding order, step 6).

/** Why a hex token was refused; callers map it to a request or stream error. */
export type HexFailure = 'odd_length' | 'too_large' | 'not_hex';

export type HexDecoded = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly failure: HexFailure };

const DIGITS = '0123456789abcdef';
const ENCODE_TABLE: readonly string[] = Array.from({ length: 256 }, (_, b) => DIGITS[b >> 4]! + DIGITS[b & 15]!);

export function encodeHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += ENCODE_TABLE[b]!;
  return out;
}

/** Appends lowercase hex ASCII of `bytes` into `out` at `offset`; returns the next offset. */
export function writeHexInto(bytes: Uint8Array, out: Uint8Array, offset: number): number {
  let at = offset;
  for (const b of bytes) {
    out[at++] = DIGITS.charCodeAt(b >> 4);
    out[at++] = DIGITS.charCodeAt(b & 15);
  }
  return at;
}

function nibble(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/**
 * Decodes a hex token given as ASCII bytes. The size bound is checked before any digit so an
 * oversized token is refused without being scanned.
 */
export function decodeHex(token: Uint8Array | string, maxBytes: number = Number.MAX_SAFE_INTEGER): HexDecoded {
  const text = typeof token === 'string' ? new TextEncoder().encode(token) : token;
  if (text.length % 2 !== 0) return { ok: false, failure: 'odd_length' };
  if (text.length / 2 > maxBytes) return { ok: false, failure: 'too_large' };
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = nibble(text[2 * i]!);
    const lo = nibble(text[2 * i + 1]!);
    if (hi < 0 || lo < 0) return { ok: false, failure: 'not_hex' };
    out[i] = (hi << 4) | lo;
  }
  return { ok: true, bytes: out };
}

/** Reason text of a failure, shared by request and stream errors (Rust `decode_hex`). */
export function hexFailureReason(failure: Exclude<HexFailure, 'too_large'>): string {
  return failure === 'odd_length' ? 'hex input has odd length' : 'input is not hex';
}
