// Flat structs: a struct whose fields are all nil, bool, unsigned integers or short ASCII strings (a heartbeat's
// request and ack, say), written into one reused buffer and read without the generic codec's machinery.
// Invariant: whatever they accept gives exactly what @batpak/core's encodeCanonical(cstruct(fields)) writes and
// decodeCanonical(bytes, { allowNonCanonical: true }) reads; anything else returns undefined for the generic codec.

import type { CanonicalEntry, CanonicalValue } from '@batpak/core';

type CanonicalMap = Extract<CanonicalValue, { t: 'map' }>;

/** At most 15 fields (a fixmap), each key and string value at most 255 ASCII bytes: the sizes below then fit. */
const MAX_FIELDS = 15;
const MAX_TEXT = 255;
const scratch = new Uint8Array(MAX_FIELDS * 2 * (2 + MAX_TEXT) + 1);

/** Writes `s` (ASCII, ≤ 255) as fixstr or str8 at `at`; returns the next offset, or -1 when it does not qualify. */
function ascii(s: string, at: number): number {
  const n = s.length;
  if (n > MAX_TEXT) return -1;
  let p = at + (n <= 31 ? 1 : 2);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return -1;
    scratch[p++] = c;
  }
  if (n <= 31) scratch[at] = 0xa0 | n;
  else {
    scratch[at] = 0xd9;
    scratch[at + 1] = n;
  }
  return p;
}

/** A non-negative safe integer in its smallest form (positive fixint, cc, cd, ce or cf), as the canonical encoder. */
function uint(v: number, at: number): number {
  if (v < 0x80) {
    scratch[at] = v;
    return at + 1;
  }
  const width = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffff ? 4 : 8;
  scratch[at] = width === 1 ? 0xcc : width === 2 ? 0xcd : width === 4 ? 0xce : 0xcf;
  // Big-endian, byte by byte: `>>>` would cut a value above 2^32 to its low word.
  let rest = v;
  for (let i = width; i >= 1; i--) {
    scratch[at + i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return at + 1 + width;
}

function value(v: CanonicalValue, at: number): number {
  switch (v.t) {
    case 'nil':
      scratch[at] = 0xc0;
      return at + 1;
    case 'bool':
      scratch[at] = v.v ? 0xc3 : 0xc2;
      return at + 1;
    case 'int': {
      // Negative or beyond 2^53 (a bigint): the generic encoder's forms.
      const n = v.v;
      return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? uint(n, at) : -1;
    }
    case 'str':
      return ascii(v.v, at);
    default:
      return -1;
  }
}

/** The struct's canonical bytes (a copy), or undefined when a field is outside the flat forms above. */
export function writeFlatStruct(fields: readonly (readonly [name: string, value: CanonicalValue])[]): Uint8Array | undefined {
  if (fields.length > MAX_FIELDS) return undefined;
  scratch[0] = 0x80 | fields.length;
  let at = 1;
  // Index loop: a for-of with destructuring costs an iterator per field on every ack.
  for (let i = 0; i < fields.length; i++) {
    const [name, v] = fields[i]!;
    at = ascii(name, at);
    if (at < 0) return undefined;
    at = value(v, at);
    if (at < 0) return undefined;
  }
  return scratch.slice(0, at);
}

/** An ASCII string of `n` bytes at `at`, or undefined when one is not (the generic reader then decodes UTF-8). */
function asciiAt(bytes: Uint8Array, at: number, n: number): string | undefined {
  if (at + n > bytes.length) return undefined;
  // Built a character at a time: short keys and values (`apply` over a typed-array view went through the runtime).
  let text = '';
  for (let i = at; i < at + n; i++) {
    const c = bytes[i]!;
    if (c >= 0x80) return undefined;
    text += String.fromCharCode(c);
  }
  return text;
}

/**
 * A map (fixmap) of ASCII fixstr/str8 keys to nil, bool, unsigned integers (any width up to u32, as the lenient
 * reader accepts) or ASCII fixstr/str8 strings, spanning all of `bytes`; undefined for anything else.
 */
export function readFlatStruct(bytes: Uint8Array): CanonicalMap | undefined {
  const head = bytes[0];
  if (head === undefined || head < 0x80 || head > 0x8f) return undefined;
  const count = head & 0x0f;
  const entries: CanonicalEntry[] = new Array<CanonicalEntry>(count);
  let at = 1;
  for (let i = 0; i < count; i++) {
    const key = bytes[at];
    let n: number;
    if (key !== undefined && key >= 0xa0 && key <= 0xbf) {
      n = key & 0x1f;
      at += 1;
    } else if (key === 0xd9 && at + 1 < bytes.length) {
      n = bytes[at + 1]!;
      at += 2;
    } else return undefined;
    const name = asciiAt(bytes, at, n);
    if (name === undefined) return undefined;
    at += n;
    const tag = bytes[at];
    if (tag === undefined) return undefined;
    let v: CanonicalValue;
    if (tag <= 0x7f) {
      v = { t: 'int', v: tag };
      at += 1;
    } else if (tag === 0xc0) {
      v = { t: 'nil' };
      at += 1;
    } else if (tag === 0xc2 || tag === 0xc3) {
      v = { t: 'bool', v: tag === 0xc3 };
      at += 1;
    } else if (tag === 0xcc || tag === 0xcd || tag === 0xce) {
      const width = tag === 0xcc ? 1 : tag === 0xcd ? 2 : 4;
      if (at + width >= bytes.length) return undefined;
      let x = 0;
      for (let j = 1; j <= width; j++) x = x * 256 + bytes[at + j]!;
      v = { t: 'int', v: x };
      at += 1 + width;
    } else if ((tag >= 0xa0 && tag <= 0xbf) || tag === 0xd9) {
      const len = tag === 0xd9 ? bytes[at + 1] : tag & 0x1f;
      if (len === undefined) return undefined;
      at += tag === 0xd9 ? 2 : 1;
      const text = asciiAt(bytes, at, len);
      if (text === undefined) return undefined;
      v = { t: 'str', v: text };
      at += len;
    } else return undefined;
    entries[i] = [{ t: 'str', v: name }, v];
  }
  return at === bytes.length ? { t: 'map', entries } : undefined;
}
