// Canonical MessagePack: reproduces the bytes of rmp-serde 1.3.1 `to_vec_named`, which Rust batpak hashes and signs.
// Invariant: for every input the strict decoder accepts, encodeCanonical(decodeCanonical(b)) is byte-identical to b.

import { BatpakError } from '../errors.js';

// The wire form is chosen by the caller through an explicit value model rather than inferred from JS
// types: a Rust `[u8; 32]` (array of ints) and an id (`bin`) are both Uint8Array in JS, and a struct is
// an ordered map whose key order is API.

/** MessagePack nil (`c0`): Rust `Option::None` / `()`. */
export interface CanonicalNil {
  readonly t: 'nil';
}
export interface CanonicalBool {
  readonly t: 'bool';
  readonly v: boolean;
}
/**
 * Any integer in [-2^63, 2^64 - 1], written in the smallest form. `v` is a number exactly when it is a
 * safe integer and a bigint otherwise, so two equal integers always have the same representation.
 */
export interface CanonicalInt {
  readonly t: 'int';
  readonly v: number | bigint;
}
/** `ca` (bits 32) or `cb` (bits 64); rmp never narrows an f64, so the width is part of the value. */
export interface CanonicalFloat {
  readonly t: 'float';
  readonly bits: 32 | 64;
  readonly v: number;
}
export interface CanonicalStr {
  readonly t: 'str';
  readonly v: string;
}
/** MessagePack `bin` (`c4`/`c5`/`c6`): only fields Rust marks `u128_bytes` (ids) use it. */
export interface CanonicalBin {
  readonly t: 'bin';
  readonly v: Uint8Array;
}
/**
 * Rust `Vec<u8>` / `[u8; N]`: written as a MessagePack *array* of integers, each byte >= 0x80 as `cc xx`.
 * Encode-only shorthand: the decoder returns such data as an `array` of `int` (see `asByteArray`).
 */
export interface CanonicalByteArray {
  readonly t: 'byteArray';
  readonly v: Uint8Array;
}
export interface CanonicalArray {
  readonly t: 'array';
  readonly items: readonly CanonicalValue[];
}
/** Ordered map: entries are written in the given order (struct declaration order, or sorted for a BTreeMap). */
export interface CanonicalMap {
  readonly t: 'map';
  readonly entries: readonly CanonicalEntry[];
}
export type CanonicalEntry = readonly [key: CanonicalValue, value: CanonicalValue];

export type CanonicalValue =
  | CanonicalNil
  | CanonicalBool
  | CanonicalInt
  | CanonicalFloat
  | CanonicalStr
  | CanonicalBin
  | CanonicalByteArray
  | CanonicalArray
  | CanonicalMap;

/** Nesting limit for both directions: deep or cyclic input becomes a typed error, never a stack overflow. */
export const MAX_CANONICAL_DEPTH = 1024;

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
// A lone surrogate cannot be written as UTF-8; TextEncoder would silently substitute U+FFFD.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const utf8Encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF in the string, otherwise it would be dropped and re-encoding would differ.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function invalid(message: string, details: { offset?: number; field?: string } = {}): BatpakError {
  const where = details.offset === undefined ? '' : ` at offset ${details.offset}`;
  return new BatpakError('ERR_INVALID_ARGUMENT', `canonical msgpack: ${message}${where}`, { details });
}

function normalizeBigInt(v: bigint): number | bigint {
  return v >= SAFE_MIN && v <= SAFE_MAX ? Number(v) : v;
}

// ---------------------------------------------------------------------------------------------------------
// Constructors

export const cnil = (): CanonicalNil => ({ t: 'nil' });
export const cbool = (v: boolean): CanonicalBool => ({ t: 'bool', v });

/** A signed or unsigned integer. A non-safe `number` is refused: it has already lost precision. */
export function cint(v: number | bigint): CanonicalInt {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw invalid(`integer ${v} is not a safe integer; pass a bigint`);
    return { t: 'int', v: v === 0 ? 0 : v };
  }
  if (v < I64_MIN || v > U64_MAX) throw invalid(`integer ${v} is outside [-2^63, 2^64-1]`);
  return { t: 'int', v: normalizeBigInt(v) };
}

/** A non-negative integer (Rust u8..u64, or a signed field holding a value >= 0). */
export function cuint(v: number | bigint): CanonicalInt {
  if (v < 0) throw invalid(`unsigned integer ${v} is negative`);
  return cint(v);
}

export const cf64 = (v: number): CanonicalFloat => ({ t: 'float', bits: 64, v });
export function cf32(v: number): CanonicalFloat {
  if (!Number.isNaN(v) && Math.fround(v) !== v) throw invalid(`${v} is not representable as f32`);
  return { t: 'float', bits: 32, v };
}
export const cstr = (v: string): CanonicalStr => ({ t: 'str', v });
export const cbin = (v: Uint8Array): CanonicalBin => ({ t: 'bin', v });
export const cbytesArray = (v: Uint8Array): CanonicalByteArray => ({ t: 'byteArray', v });
export const carray = (items: readonly CanonicalValue[]): CanonicalArray => ({ t: 'array', items });
export const cmap = (entries: readonly CanonicalEntry[]): CanonicalMap => ({ t: 'map', entries });

/** A Rust struct: string keys in declaration order. */
export function cstruct(fields: readonly (readonly [name: string, value: CanonicalValue])[]): CanonicalMap {
  return { t: 'map', entries: fields.map(([k, v]): CanonicalEntry => [cstr(k), v]) };
}

/**
 * The bytes of a Rust `Vec<u8>`/`[u8; N]` value: a `byteArray`, or an `array` whose items are all ints in
 * 0..=255 (what the decoder returns). Undefined for anything else.
 */
export function asByteArray(value: CanonicalValue): Uint8Array | undefined {
  if (value.t === 'byteArray') return value.v;
  if (value.t !== 'array') return undefined;
  const out = new Uint8Array(value.items.length);
  for (let i = 0; i < out.length; i++) {
    const item = value.items[i]!;
    if (item.t !== 'int' || typeof item.v !== 'number' || item.v < 0 || item.v > 255) return undefined;
    out[i] = item.v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Encoder

class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  tagU8(tag: number, v: number): void {
    this.ensure(2);
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = v;
  }

  tagU16(tag: number, v: number): void {
    this.ensure(3);
    this.buf[this.pos] = tag;
    this.view.setUint16(this.pos + 1, v);
    this.pos += 3;
  }

  tagU32(tag: number, v: number): void {
    this.ensure(5);
    this.buf[this.pos] = tag;
    this.view.setUint32(this.pos + 1, v);
    this.pos += 5;
  }

  tagU64(tag: number, v: bigint): void {
    this.ensure(9);
    this.buf[this.pos] = tag;
    this.view.setBigUint64(this.pos + 1, BigInt.asUintN(64, v));
    this.pos += 9;
  }

  tagF32(v: number): void {
    this.ensure(5);
    this.buf[this.pos] = 0xca;
    this.view.setFloat32(this.pos + 1, v);
    this.pos += 5;
  }

  tagF64(v: number): void {
    this.ensure(9);
    this.buf[this.pos] = 0xcb;
    this.view.setFloat64(this.pos + 1, v);
    this.pos += 9;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Writes a short pure-ASCII string (field names, the common case) without TextEncoder; false if it is not one. */
  asciiStr(v: string): boolean {
    const n = v.length;
    if (n > 255) return false;
    this.ensure(n + 2);
    const buf = this.buf;
    let p = this.pos + (n <= 31 ? 1 : 2);
    for (let i = 0; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[p++] = c;
    }
    if (n <= 31) buf[this.pos] = 0xa0 | n;
    else {
      buf[this.pos] = 0xd9;
      buf[this.pos + 1] = n;
    }
    this.pos = p;
    return true;
  }

  byteArrayBody(b: Uint8Array): void {
    this.ensure(b.length * 2);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < b.length; i++) {
      const x = b[i]!;
      if (x >= 0x80) buf[p++] = 0xcc;
      buf[p++] = x;
    }
    this.pos = p;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

function writeUint(w: Writer, v: number): void {
  if (v < 0x80) w.u8(v);
  else if (v <= 0xff) w.tagU8(0xcc, v);
  else if (v <= 0xffff) w.tagU16(0xcd, v);
  else if (v <= 0xffffffff) w.tagU32(0xce, v);
  else w.tagU64(0xcf, BigInt(v));
}

function writeInt(w: Writer, v: number | bigint): void {
  if (typeof v === 'bigint') {
    if (v >= SAFE_MIN && v <= SAFE_MAX) return writeInt(w, Number(v));
    if (v > U64_MAX || v < I64_MIN) throw invalid(`integer ${v} is outside [-2^63, 2^64-1]`);
    w.tagU64(v > 0n ? 0xcf : 0xd3, v);
    return;
  }
  if (!Number.isSafeInteger(v)) throw invalid(`integer ${v} is not a safe integer; use a bigint`);
  if (v >= 0) return writeUint(w, v);
  if (v >= -32) w.u8(v & 0xff);
  else if (v >= -0x80) w.tagU8(0xd0, v & 0xff);
  else if (v >= -0x8000) w.tagU16(0xd1, v & 0xffff);
  else if (v >= -0x80000000) w.tagU32(0xd2, v >>> 0);
  else w.tagU64(0xd3, BigInt(v));
}

// One length-header writer for the four families: fix form, 8-bit (str/bin only), 16-bit, 32-bit.
function writeLength(w: Writer, n: number, fix: number, fixMax: number, tag8: number, tag16: number, tag32: number, what: string): void {
  if (n <= fixMax) w.u8(fix | n);
  else if (tag8 !== 0 && n <= 0xff) w.tagU8(tag8, n);
  else if (n <= 0xffff) w.tagU16(tag16, n);
  else if (n <= 0xffffffff) w.tagU32(tag32, n);
  else throw invalid(`${what} of length ${n} exceeds 2^32-1`);
}

function writeValue(w: Writer, value: CanonicalValue, depth: number): void {
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
      if (w.asciiStr(value.v)) return;
      if (LONE_SURROGATE.test(value.v)) throw invalid('string contains a lone UTF-16 surrogate');
      const b = utf8Encoder.encode(value.v);
      writeLength(w, b.length, 0xa0, 31, 0xd9, 0xda, 0xdb, 'string');
      w.bytes(b);
      return;
    }
    case 'bin':
      // bin has no fix form; the mask/limit pair (0, -1) disables it.
      writeLength(w, value.v.length, 0, -1, 0xc4, 0xc5, 0xc6, 'bin');
      w.bytes(value.v);
      return;
    case 'byteArray':
      writeLength(w, value.v.length, 0x90, 15, 0, 0xdc, 0xdd, 'array');
      w.byteArrayBody(value.v);
      return;
    case 'array':
      writeLength(w, value.items.length, 0x90, 15, 0, 0xdc, 0xdd, 'array');
      for (const item of value.items) writeValue(w, item, depth + 1);
      return;
    case 'map':
      writeLength(w, value.entries.length, 0x80, 15, 0, 0xde, 0xdf, 'map');
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
  const w = new Writer();
  try {
    writeValue(w, value, 0);
  } catch (err) {
    if (err instanceof BatpakError) throw err;
    // A malformed value built by hand (missing fields, wrong types) must still surface as our error type.
    throw new BatpakError('ERR_INVALID_ARGUMENT', `canonical msgpack: cannot encode value: ${String(err)}`, { cause: err });
  }
  return w.finish();
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

class Reader {
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly strict: boolean,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(n: number, what: string): void {
    if (n > this.bytes.length - this.pos) {
      throw invalid(`truncated ${what}: need ${n} bytes, ${this.bytes.length - this.pos} left`, { offset: this.pos });
    }
  }

  u8(): number {
    this.need(1, 'input');
    return this.bytes[this.pos++]!;
  }

  u16(): number {
    this.need(2, 'input');
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4, 'input');
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
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
    if (tag <= 0x8f) return this.map(tag & 0x0f, depth, at, -1);
    if (tag <= 0x9f) return this.array(tag & 0x0f, depth, at, -1);
    if (tag <= 0xbf) return this.str(tag & 0x1f);
    switch (tag) {
      case 0xc0:
        return { t: 'nil' };
      case 0xc2:
        return { t: 'bool', v: false };
      case 0xc3:
        return { t: 'bool', v: true };
      case 0xc4:
        return this.bin(this.u8(), at, -1);
      case 0xc5:
        return this.bin(this.u16(), at, 0xff);
      case 0xc6:
        return this.bin(this.u32(), at, 0xffff);
      case 0xca: {
        this.need(4, 'f32');
        const v = this.view.getFloat32(this.pos);
        this.pos += 4;
        return this.float(32, v, at);
      }
      case 0xcb: {
        this.need(8, 'f64');
        const v = this.view.getFloat64(this.pos);
        this.pos += 8;
        return this.float(64, v, at);
      }
      case 0xcc:
        return this.uint(this.u8(), 0x7f, at);
      case 0xcd:
        return this.uint(this.u16(), 0xff, at);
      case 0xce:
        return this.uint(this.u32(), 0xffff, at);
      case 0xcf: {
        this.need(8, 'u64');
        const v = this.view.getBigUint64(this.pos);
        this.pos += 8;
        if (v <= 0xffffffffn) this.nonCanonical('integer width', at);
        return { t: 'int', v: normalizeBigInt(v) };
      }
      case 0xd0:
        return this.sint(this.u8() << 24 >> 24, -32, at);
      case 0xd1:
        return this.sint(this.u16() << 16 >> 16, -0x80, at);
      case 0xd2:
        return this.sint(this.u32() | 0, -0x8000, at);
      case 0xd3: {
        this.need(8, 'i64');
        const v = this.view.getBigInt64(this.pos);
        this.pos += 8;
        if (v >= -0x80000000n) this.nonCanonical(v >= 0n ? 'signed tag for a non-negative integer' : 'integer width', at);
        return { t: 'int', v: normalizeBigInt(v) };
      }
      case 0xd9:
        return this.str(this.u8(), at, 31);
      case 0xda:
        return this.str(this.u16(), at, 0xff);
      case 0xdb:
        return this.str(this.u32(), at, 0xffff);
      case 0xdc:
        return this.array(this.u16(), depth, at, 15);
      case 0xdd:
        return this.array(this.u32(), depth, at, 0xffff);
      case 0xde:
        return this.map(this.u16(), depth, at, 15);
      case 0xdf:
        return this.map(this.u32(), depth, at, 0xffff);
      default:
        // c1 is never used; c7-c9 and d4-d8 are ext types, which rmp-serde never writes for batpak data.
        throw invalid(`unsupported type byte 0x${tag.toString(16)}`, { offset: at });
    }
  }

  // `smallerMax`: the largest value the next-smaller form could hold; a value at or below it is over-wide.
  private uint(v: number, smallerMax: number, at: number): CanonicalInt {
    if (v <= smallerMax) this.nonCanonical('integer width', at);
    return { t: 'int', v };
  }

  private sint(v: number, smallerMin: number, at: number): CanonicalInt {
    if (v >= 0) this.nonCanonical('signed tag for a non-negative integer', at);
    else if (v >= smallerMin) this.nonCanonical('integer width', at);
    return { t: 'int', v: v === 0 ? 0 : v };
  }

  private float(bits: 32 | 64, v: number, at: number): CanonicalFloat {
    // NaN payloads may not survive a JS round trip; refuse any float whose bytes would not come back.
    if (this.strict && Number.isNaN(v)) {
      const again = encodeCanonical({ t: 'float', bits, v });
      const orig = this.bytes.subarray(at, this.pos);
      if (compareBytes(again, orig) !== 0) throw invalid('NaN payload that does not round-trip', { offset: at });
    }
    return { t: 'float', bits, v };
  }

  private str(len: number, at = this.pos - 1, smallerMax = -1): CanonicalStr {
    if (len <= smallerMax) this.nonCanonical('string length header', at);
    this.need(len, 'string');
    const start = this.pos;
    const end = start + len;
    const b = this.bytes;
    let ascii = len <= 64;
    for (let i = start; ascii && i < end; i++) if (b[i]! >= 0x80) ascii = false;
    let v: string;
    if (ascii) {
      v = '';
      for (let i = start; i < end; i++) v += String.fromCharCode(b[i]!);
    } else {
      try {
        v = utf8Decoder.decode(b.subarray(start, end));
      } catch {
        throw invalid('string is not valid UTF-8', { offset: start });
      }
    }
    this.pos = end;
    return { t: 'str', v };
  }

  private bin(len: number, at: number, smallerMax: number): CanonicalBin {
    if (len <= smallerMax) this.nonCanonical('bin length header', at);
    return { t: 'bin', v: this.take(len, 'bin') };
  }

  private array(count: number, depth: number, at: number, smallerMax: number): CanonicalArray {
    if (count <= smallerMax) this.nonCanonical('array length header', at);
    // Every item takes at least one byte: a forged count is rejected before anything is allocated.
    this.need(count, 'array');
    const items: CanonicalValue[] = new Array<CanonicalValue>(count);
    for (let i = 0; i < count; i++) items[i] = this.value(depth + 1);
    return { t: 'array', items };
  }

  private map(count: number, depth: number, at: number, smallerMax: number): CanonicalMap {
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
    throw new BatpakError('ERR_INVALID_ARGUMENT', `canonical msgpack: malformed input at offset ${r.pos}`, {
      cause: err,
      details: { offset: r.pos },
    });
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
