// Canonical MessagePack: reproduces the bytes of rmp-serde 1.3.1 `to_vec_named`, which Rust batpak hashes and signs.
// Invariant: for every input the strict decoder accepts, encodeCanonical(decodeCanonical(b)) is byte-identical to b.

import { BatpakError } from '../errors.js';
import {
  cbytesArray, cmap, cstr, cstruct, I64_MIN, MAX_CANONICAL_DEPTH, invalid, normalizeBigInt,
  SAFE_MAX, SAFE_MIN, U64_MAX, type CanonicalArray, type CanonicalBin, type CanonicalEntry, type CanonicalFloat, type CanonicalInt, type CanonicalMap, type CanonicalStr, type CanonicalValue,
} from './canonical-value.js';
import { MsgpackReader, type MsgpackReadProblem } from './msgpack-read.js';
import { MAX_MSGPACK_LENGTH, MsgpackWriter } from './msgpack-write.js';

// The value model, for the callers of this module (canonical-value.ts).
export { MAX_CANONICAL_DEPTH, asByteArray, carray, cbin, cbool, cbytesArray, cf32, cf64, cint, cmap, cnil, cstr, cstruct, cuint } from './canonical-value.js';
export type {
  CanonicalArray, CanonicalBin, CanonicalBool, CanonicalByteArray, CanonicalEntry, CanonicalFloat,
  CanonicalInt, CanonicalMap, CanonicalNil, CanonicalStr, CanonicalValue,
} from './canonical-value.js';

// A lone surrogate cannot be written as UTF-8; TextEncoder would silently substitute U+FFFD.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const utf8Encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------------------
// Encoder

/** Writes a short pure-ASCII string (field names, the common case) without TextEncoder; false if it is not one. */
function asciiStr(w: MsgpackWriter, v: string): boolean {
  const n = v.length;
  if (n > 255) return false;
  w.ensure(n + 2);
  const buf = w.buf;
  let p = w.pos + (n <= 31 ? 1 : 2);
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0x80) return false;
    buf[p++] = c;
  }
  if (n <= 31) buf[w.pos] = 0xa0 | n;
  else {
    buf[w.pos] = 0xd9;
    buf[w.pos + 1] = n;
  }
  w.pos = p;
  return true;
}

/** A Rust `Vec<u8>`'s items: each byte an int, `cc xx` from 0x80 on. */
function byteArrayBody(w: MsgpackWriter, b: Uint8Array): void {
  w.ensure(b.length * 2);
  const buf = w.buf;
  let p = w.pos;
  for (let i = 0; i < b.length; i++) {
    const x = b[i]!;
    if (x >= 0x80) buf[p++] = 0xcc;
    buf[p++] = x;
  }
  w.pos = p;
}

function writeInt(w: MsgpackWriter, v: number | bigint): void {
  if (typeof v === 'bigint') {
    if (v >= SAFE_MIN && v <= SAFE_MAX) return writeInt(w, Number(v));
    if (v > U64_MAX || v < I64_MIN) throw invalid(`integer ${v} is outside [-2^63, 2^64-1]`);
    w.tagU64(v > 0n ? 0xcf : 0xd3, v);
    return;
  }
  if (!Number.isSafeInteger(v)) throw invalid(`integer ${v} is not a safe integer; use a bigint`);
  if (v >= 0) return w.uint(v);
  if (v >= -32) w.u8(v & 0xff);
  else if (v >= -0x80) w.tagU8(0xd0, v & 0xff);
  else if (v >= -0x8000) w.tagU16(0xd1, v & 0xffff);
  else if (v >= -0x80000000) w.tagU32(0xd2, v >>> 0);
  else w.tagU64(0xd3, BigInt(v));
}

/** A length that fits a 32-bit header, or ERR_INVALID_ARGUMENT naming what is too long. */
function fits(n: number, what: string): number {
  if (n > MAX_MSGPACK_LENGTH) throw invalid(`${what} of length ${n} exceeds 2^32-1`);
  return n;
}

function writeValue(w: MsgpackWriter, value: CanonicalValue, depth: number): void {
  if (depth > MAX_CANONICAL_DEPTH) throw invalid(`nesting deeper than ${MAX_CANONICAL_DEPTH}`);
  switch (value.t) {
    case 'nil':
      w.u8(0xc0);
      return;
    case 'bool':
      w.u8(value.v ? 0xc3 : 0xc2);
      return;
    case 'int':
      writeInt(w, value.v);
      return;
    case 'float':
      if (value.bits === 32) {
        if (!Number.isNaN(value.v) && Math.fround(value.v) !== value.v) throw invalid(`${value.v} is not representable as f32`);
        w.tagF32(value.v);
      } else {
        w.tagF64(value.v);
      }
      return;
    case 'str': {
      // 0xa0 fixstr holds up to 31 bytes; str8 (d9) exists and rmp uses it.
      if (asciiStr(w, value.v)) return;
      if (LONE_SURROGATE.test(value.v)) throw invalid('string contains a lone UTF-16 surrogate');
      const b = utf8Encoder.encode(value.v);
      w.strHeader(fits(b.length, 'string'));
      w.bytes(b);
      return;
    }
    case 'bin':
      w.binHeader(fits(value.v.length, 'bin'));
      w.bytes(value.v);
      return;
    case 'byteArray':
      w.arrayHeader(fits(value.v.length, 'array'));
      byteArrayBody(w, value.v);
      return;
    case 'array':
      w.arrayHeader(fits(value.items.length, 'array'));
      for (const item of value.items) writeValue(w, item, depth + 1);
      return;
    case 'map':
      w.mapHeader(fits(value.entries.length, 'map'));
      for (const [k, v] of value.entries) {
        writeValue(w, k, depth + 1);
        writeValue(w, v, depth + 1);
      }
      return;
    default:
      throw invalid(`unknown value kind ${String((value as { t?: unknown }).t)}`);
  }
}

/** Canonical (rmp-serde `to_vec_named`) bytes of `value`. Throws ERR_INVALID_ARGUMENT on an unencodable value. */
export function encodeCanonical(value: CanonicalValue): Uint8Array {
  const w = new MsgpackWriter();
  try {
    writeValue(w, value, 0);
  } catch (err) {
    if (err instanceof BatpakError) throw err;
    // A malformed value built by hand (missing fields, wrong types) must still surface as our error type.
    throw BatpakError.invalidArgument(`canonical msgpack: cannot encode value: ${String(err)}`, undefined, err);
  }
  return w.buf.slice(0, w.pos);
}

/** `mp{entity, scope}`: the coordinate_v1 layout, also the coordinate part of the receipt cover. */
export function encodeCoordinateCanonical(entity: string, scope: string): Uint8Array {
  return encodeCanonical(cstruct([['entity', cstr(entity)], ['scope', cstr(scope)]]));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * A Rust `BTreeMap<String, Vec<u8>>`: keys sorted by their UTF-8 bytes (BTreeMap order, which differs from
 * JS string order above U+FFFF), values as arrays of u8 ints. An empty map is the single byte `80`.
 */
export function encodeStringBytesMapCanonical(map: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const sorted = [...map].map(([k, v]) => ({ key: utf8Encoder.encode(k), k, v }));
  sorted.sort((a, b) => compareBytes(a.key, b.key));
  return encodeCanonical(cmap(sorted.map(({ k, v }): CanonicalEntry => [cstr(k), cbytesArray(v)])));
}

// ---------------------------------------------------------------------------------------------------------
// Decoder

export interface CanonicalDecodeOptions {
  /**
   * Accept encodings rmp would never write (an integer or length in a wider form than needed, a signed tag
   * for a non-negative value, duplicate map keys). Such input decodes, but re-encoding it gives different
   * bytes, so never use this for data that is hashed or signed. Default false.
   */
  readonly allowNonCanonical?: boolean;
}

function readProblem(p: MsgpackReadProblem): BatpakError {
  switch (p.kind) {
    case 'truncated':
      return invalid(`truncated ${p.what}: need ${p.need} bytes, ${p.left} left`, { offset: p.at });
    case 'utf8':
      return invalid('string is not valid UTF-8', { offset: p.at });
    case 'type':
      return invalid(`expected ${p.expected}`, { offset: p.at });
    case 'unsafe-integer':
      return invalid('integer exceeds 2^53', { offset: p.at });
  }
}

class Reader extends MsgpackReader {
  constructor(
    bytes: Uint8Array,
    start: number,
    readonly strict: boolean,
  ) {
    // keepBOM: a leading U+FEFF stays in the string, otherwise it would be dropped and re-encoding would differ.
    super(bytes, start, { error: readProblem, keepBOM: true });
  }

  nonCanonical(what: string, at: number): void {
    if (this.strict) throw invalid(`non-canonical ${what}`, { offset: at });
  }

  value(depth: number): CanonicalValue {
    if (depth > MAX_CANONICAL_DEPTH) throw invalid(`nesting deeper than ${MAX_CANONICAL_DEPTH}`, { offset: this.pos });
    const at = this.pos;
    const tag = this.u8();
    if (tag <= 0x7f) return { t: 'int', v: tag };
    if (tag >= 0xe0) return { t: 'int', v: tag - 0x100 };
    if (tag <= 0x8f) return this.mapValue(tag & 0x0f, depth, at, -1);
    if (tag <= 0x9f) return this.arrayValue(tag & 0x0f, depth, at, -1);
    if (tag <= 0xbf) return this.strValue(tag & 0x1f);
    switch (tag) {
      case 0xc0:
        return { t: 'nil' };
      case 0xc2:
        return { t: 'bool', v: false };
      case 0xc3:
        return { t: 'bool', v: true };
      case 0xc4:
        return this.binValue(this.u8(), at, -1);
      case 0xc5:
        return this.binValue(this.u16(), at, 0xff);
      case 0xc6:
        return this.binValue(this.u32(), at, 0xffff);
      case 0xca: {
        this.need(4, 'f32');
        const v = this.dv.getFloat32(this.pos);
        this.pos += 4;
        return this.floatValue(32, v, at);
      }
      case 0xcb: {
        this.need(8, 'f64');
        const v = this.dv.getFloat64(this.pos);
        this.pos += 8;
        return this.floatValue(64, v, at);
      }
      case 0xcc:
        return this.uintValue(this.u8(), 0x7f, at);
      case 0xcd:
        return this.uintValue(this.u16(), 0xff, at);
      case 0xce:
        return this.uintValue(this.u32(), 0xffff, at);
      case 0xcf: {
        const v = this.u64('u64');
        if (v <= 0xffffffffn) this.nonCanonical('integer width', at);
        return { t: 'int', v: normalizeBigInt(v) };
      }
      case 0xd0:
        return this.sintValue(this.u8() << 24 >> 24, -32, at);
      case 0xd1:
        return this.sintValue(this.u16() << 16 >> 16, -0x80, at);
      case 0xd2:
        return this.sintValue(this.u32() | 0, -0x8000, at);
      case 0xd3: {
        this.need(8, 'i64');
        const v = this.dv.getBigInt64(this.pos);
        this.pos += 8;
        if (v >= -0x80000000n) this.nonCanonical(v >= 0n ? 'signed tag for a non-negative integer' : 'integer width', at);
        return { t: 'int', v: normalizeBigInt(v) };
      }
      case 0xd9:
        return this.strValue(this.u8(), at, 31);
      case 0xda:
        return this.strValue(this.u16(), at, 0xff);
      case 0xdb:
        return this.strValue(this.u32(), at, 0xffff);
      case 0xdc:
        return this.arrayValue(this.u16(), depth, at, 15);
      case 0xdd:
        return this.arrayValue(this.u32(), depth, at, 0xffff);
      case 0xde:
        return this.mapValue(this.u16(), depth, at, 15);
      case 0xdf:
        return this.mapValue(this.u32(), depth, at, 0xffff);
      default:
        // c1 is never used; c7-c9 and d4-d8 are ext types, which rmp-serde never writes for batpak data.
        throw invalid(`unsupported type byte 0x${tag.toString(16)}`, { offset: at });
    }
  }

  // `smallerMax`: the largest value the next-smaller form could hold; a value at or below it is over-wide.
  private uintValue(v: number, smallerMax: number, at: number): CanonicalInt {
    if (v <= smallerMax) this.nonCanonical('integer width', at);
    return { t: 'int', v };
  }

  private sintValue(v: number, smallerMin: number, at: number): CanonicalInt {
    if (v >= 0) this.nonCanonical('signed tag for a non-negative integer', at);
    else if (v >= smallerMin) this.nonCanonical('integer width', at);
    return { t: 'int', v: v === 0 ? 0 : v };
  }

  private floatValue(bits: 32 | 64, v: number, at: number): CanonicalFloat {
    // NaN payloads may not survive a JS round trip; refuse any float whose bytes would not come back.
    if (this.strict && Number.isNaN(v)) {
      const again = encodeCanonical({ t: 'float', bits, v });
      const orig = this.bytes.subarray(at, this.pos);
      if (compareBytes(again, orig) !== 0) throw invalid('NaN payload that does not round-trip', { offset: at });
    }
    return { t: 'float', bits, v };
  }

  private strValue(len: number, at = this.pos - 1, smallerMax = -1): CanonicalStr {
    if (len <= smallerMax) this.nonCanonical('string length header', at);
    return { t: 'str', v: this.utf8(len, 'string') };
  }

  private binValue(len: number, at: number, smallerMax: number): CanonicalBin {
    if (len <= smallerMax) this.nonCanonical('bin length header', at);
    return { t: 'bin', v: this.take(len, 'bin') };
  }

  private arrayValue(count: number, depth: number, at: number, smallerMax: number): CanonicalArray {
    if (count <= smallerMax) this.nonCanonical('array length header', at);
    // Every item takes at least one byte: a forged count is rejected before anything is allocated.
    this.need(count, 'array');
    const items: CanonicalValue[] = new Array<CanonicalValue>(count);
    for (let i = 0; i < count; i++) items[i] = this.value(depth + 1);
    return { t: 'array', items };
  }

  private mapValue(count: number, depth: number, at: number, smallerMax: number): CanonicalMap {
    if (count <= smallerMax) this.nonCanonical('map length header', at);
    this.need(count * 2, 'map');
    const entries: CanonicalEntry[] = new Array<CanonicalEntry>(count);
    // Duplicate keys make "which value counts" ambiguous in signed data; compare keys by their raw bytes.
    const seen = this.strict && count > 1 ? new Set<string>() : undefined;
    for (let i = 0; i < count; i++) {
      const keyAt = this.pos;
      const key = this.value(depth + 1);
      if (seen !== undefined) {
        let id = '';
        for (let j = keyAt; j < this.pos; j++) id += String.fromCharCode(this.bytes[j]!);
        if (seen.has(id)) throw invalid('duplicate map key', { offset: keyAt });
        seen.add(id);
      }
      entries[i] = [key, this.value(depth + 1)];
    }
    return { t: 'map', entries };
  }
}

function decodeWith(bytes: Uint8Array, offset: number, options: CanonicalDecodeOptions): { value: CanonicalValue; end: number } {
  if (!(bytes instanceof Uint8Array)) throw invalid('input is not a Uint8Array');
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > bytes.length) throw invalid(`offset ${offset} is out of range`);
  const r = new Reader(bytes, offset, options.allowNonCanonical !== true);
  try {
    const value = r.value(0);
    return { value, end: r.pos };
  } catch (err) {
    if (err instanceof BatpakError) throw err;
    throw BatpakError.invalidArgument(`canonical msgpack: malformed input at offset ${r.pos}`, { offset: r.pos }, err);
  }
}

/**
 * Decodes exactly one value spanning all of `bytes`. Malformed, truncated or (by default) non-canonical
 * input and trailing bytes throw ERR_INVALID_ARGUMENT with `details.offset`.
 */
export function decodeCanonical(bytes: Uint8Array, options: CanonicalDecodeOptions = {}): CanonicalValue {
  const { value, end } = decodeWith(bytes, 0, options);
  if (end !== bytes.length) throw invalid(`${bytes.length - end} trailing bytes after the value`, { offset: end });
  return value;
}

/** Decodes one value starting at `offset` and returns where it ends; bytes after it are left alone. */
export function decodeCanonicalAt(
  bytes: Uint8Array,
  offset: number,
  options: CanonicalDecodeOptions = {},
): { readonly value: CanonicalValue; readonly end: number } {
  return decodeWith(bytes, offset, options);
}
