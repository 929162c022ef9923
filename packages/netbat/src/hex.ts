// Hex text <-> bytes for every netbat field that carries bytes (inputs, outputs, cursors, payloads, messages).
// Invariant: encoding is lowercase; decoding accepts both cases and checks odd length, then size, then digits (README § Request decoding order, step 6).

import { Buffer } from 'node:buffer';

/** Why a hex token was refused; callers map it to a request or stream error. */
export type HexFailure = 'odd_length' | 'too_large' | 'not_hex';

export type HexDecoded = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly failure: HexFailure };

// Buffer's codec is native and several times faster than a JS loop on this hot path, but its decoder
// silently stops at the first non-hex character, so every digit is checked with this pattern first.
const HEX_DIGITS = /^[0-9a-fA-F]*$/;

function view(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Up to this many bytes a JS loop over the tables below beats Buffer's native codec, whose per-call cost (a Buffer
 * view, a string, a regex pass) dominates a short field: every request line's input and every response's output.
 */
const SHORT = 256;
const DIGITS = new Uint8Array([...'0123456789abcdef'].map((c) => c.charCodeAt(0)));
/** Nibble of an ASCII hex digit (either case), or 0xff for any other byte. */
const NIBBLE = new Uint8Array(256).fill(0xff);
for (let i = 0; i < 16; i++) {
  NIBBLE[DIGITS[i]!] = i;
  NIBBLE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

export function encodeHex(bytes: Uint8Array): string {
  return view(bytes).toString('hex');
}

/** Appends lowercase hex ASCII of `bytes` into `out` at `offset`; returns the next offset. */
export function writeHexInto(bytes: Uint8Array, out: Uint8Array, offset: number): number {
  if (bytes.length > SHORT) return offset + view(out).write(encodeHex(bytes), offset, 'latin1');
  let at = offset;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    out[at++] = DIGITS[b >>> 4]!;
    out[at++] = DIGITS[b & 0xf]!;
  }
  return at;
}

/** Hex digits (ASCII bytes `token[from, from + 2 * n)`) to `n` bytes, or undefined at the first non-hex byte. */
function decodeShort(token: Uint8Array, from: number, n: number): Uint8Array | undefined {
  const out = new Uint8Array(n);
  for (let i = 0, j = from; i < n; i++, j += 2) {
    const hi = NIBBLE[token[j]!]!;
    const lo = NIBBLE[token[j + 1]!]!;
    if ((hi | lo) === 0xff) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/**
 * Decodes a hex token given as ASCII bytes (or a string, measured in UTF-8 bytes). The size bound is
 * checked before any digit so an oversized token is refused without being scanned.
 */
export function decodeHex(token: Uint8Array | string, maxBytes: number = Number.MAX_SAFE_INTEGER): HexDecoded {
  if (typeof token !== 'string') return decodeHexRange(token, 0, token.length, maxBytes);
  const length = Buffer.byteLength(token, 'utf8');
  if (length % 2 !== 0) return { ok: false, failure: 'odd_length' };
  if (length / 2 > maxBytes) return { ok: false, failure: 'too_large' };
  return decodeText(token, length);
}

/** decodeHex of the token `bytes[from, to)`, in place: a request line's input costs no view of its own. */
export function decodeHexRange(bytes: Uint8Array, from: number, to: number, maxBytes: number = Number.MAX_SAFE_INTEGER): HexDecoded {
  const length = to - from;
  if (length % 2 !== 0) return { ok: false, failure: 'odd_length' };
  if (length / 2 > maxBytes) return { ok: false, failure: 'too_large' };
  if (length <= 2 * SHORT) {
    const out = decodeShort(bytes, from, length >>> 1);
    return out === undefined ? { ok: false, failure: 'not_hex' } : { ok: true, bytes: out };
  }
  // latin1 maps every byte to one character, so a non-ASCII byte becomes a character the pattern refuses.
  return decodeText(view(bytes).toString('latin1', from, to), length);
}

function decodeText(text: string, length: number): HexDecoded {
  if (!HEX_DIGITS.test(text)) return { ok: false, failure: 'not_hex' };
  // A fresh, unshared array (not a slice of Buffer's pool): callers may keep it or use its `.buffer`.
  const out = new Uint8Array(length / 2);
  view(out).write(text, 0, 'hex');
  return { ok: true, bytes: out };
}

/** Reason text of a failure, shared by request and stream errors (Rust `decode_hex`). */
export function hexFailureReason(failure: Exclude<HexFailure, 'too_large'>): string {
  return failure === 'odd_length' ? 'hex input has odd length' : 'input is not hex';
}
