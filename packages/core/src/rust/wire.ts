// Typed field access over decoded canonical msgpack, with serde's rules for Rust structs: fields by
// name in any order, unknown fields ignored, a duplicate field an error. Invariant: errors name the field.

import { asByteArray, type CanonicalValue } from '../encoding/canonical.js';

/** A value that is not what the Rust type requires; `field` is the dotted path (e.g. `event.header.position`). */
export class RustWireError extends Error {
  override readonly name = 'RustWireError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export type RustStruct = ReadonlyMap<string, CanonicalValue>;

/** A struct as serde reads it: a map keyed by field-name strings; a repeated name is refused (serde: duplicate field). */
export function structOf(value: CanonicalValue, path: string): RustStruct {
  if (value.t !== 'map') throw new RustWireError(path, `expected a struct (map), got ${value.t}`);
  const out = new Map<string, CanonicalValue>();
  for (const [k, v] of value.entries) {
    if (k.t !== 'str') throw new RustWireError(path, `struct key is a ${k.t}, not a field name`);
    if (out.has(k.v)) throw new RustWireError(`${path}.${k.v}`, 'duplicate field');
    out.set(k.v, v);
  }
  return out;
}

export function field(s: RustStruct, name: string, path: string): CanonicalValue {
  const v = s.get(name);
  if (v === undefined) throw new RustWireError(`${path}.${name}`, 'missing field');
  return v;
}

/** An unsigned integer of at most `bits` bits (u8/u16/u32), as a number. */
export function uintOf(v: CanonicalValue, bits: 8 | 16 | 32, path: string): number {
  if (v.t !== 'int' || typeof v.v !== 'number' || v.v < 0 || v.v > 2 ** bits - 1) {
    throw new RustWireError(path, `expected a u${bits}`);
  }
  return v.v;
}

export function u64Of(v: CanonicalValue, path: string): bigint {
  if (v.t !== 'int' || v.v < 0) throw new RustWireError(path, 'expected a u64');
  return BigInt(v.v);
}

export function i64Of(v: CanonicalValue, path: string): bigint {
  if (v.t !== 'int') throw new RustWireError(path, 'expected an i64');
  const n = BigInt(v.v);
  if (n > (1n << 63n) - 1n) throw new RustWireError(path, 'integer is outside i64');
  return n;
}

export function strOf(v: CanonicalValue, path: string): string {
  if (v.t !== 'str') throw new RustWireError(path, `expected a string, got ${v.t}`);
  return v.v;
}

/**
 * A u128 id (`u128_bytes` helper): `bin` of 16 big-endian bytes on the wire; Rust's decoder also accepts
 * an array of 16 integers, so this does too.
 */
export function idOf(v: CanonicalValue, path: string): Uint8Array {
  const bytes = v.t === 'bin' ? v.v : asByteArray(v);
  if (bytes === undefined || bytes.length !== 16) throw new RustWireError(path, 'expected a 16-byte id (bin16)');
  return bytes;
}

/** A Rust `Vec<u8>` / `[u8; N]`: an array of integers 0..=255 (never `bin`), of exactly `length` when given. */
export function byteArrayOf(v: CanonicalValue, path: string, length?: number): Uint8Array {
  const bytes = v.t === 'array' ? asByteArray(v) : undefined;
  if (bytes === undefined) throw new RustWireError(path, 'expected an array of bytes');
  if (length !== undefined && bytes.length !== length) throw new RustWireError(path, `expected ${length} bytes, got ${bytes.length}`);
  return bytes;
}

/** `Option<T>`: nil or absent is None. */
export function optional<T>(s: RustStruct, name: string, path: string, read: (v: CanonicalValue, p: string) => T): T | undefined {
  const v = s.get(name);
  if (v === undefined || v.t === 'nil') return undefined;
  return read(v, `${path}.${name}`);
}

/** A `BTreeMap<ExtensionKey, EncodedBytes>`: string keys, byte-array values. */
export function extensionsOf(v: CanonicalValue, path: string): Map<string, Uint8Array> {
  if (v.t !== 'map') throw new RustWireError(path, `expected a map, got ${v.t}`);
  const out = new Map<string, Uint8Array>();
  for (const [k, val] of v.entries) {
    if (k.t !== 'str') throw new RustWireError(path, 'extension key is not a string');
    if (out.has(k.v)) throw new RustWireError(`${path}.${k.v}`, 'duplicate extension key');
    out.set(k.v, byteArrayOf(val, `${path}.${k.v}`));
  }
  return out;
}

/** The entry count and first-entry offset of the map header at `at`, or undefined when it is not a map. */
export function mapHeaderAt(bytes: Uint8Array, at: number): { count: number; next: number } | undefined {
  const tag = bytes[at];
  if (tag === undefined) return undefined;
  if (tag >= 0x80 && tag <= 0x8f) return { count: tag & 0x0f, next: at + 1 };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (tag === 0xde && at + 3 <= bytes.length) return { count: dv.getUint16(at + 1), next: at + 3 };
  if (tag === 0xdf && at + 5 <= bytes.length) return { count: dv.getUint32(at + 1), next: at + 5 };
  return undefined;
}

/**
 * Fast path for the one large field of a frame, the payload: an array of u8 integers read straight into a
 * Uint8Array (a generic decode would build one object per byte). Undefined when the array holds anything
 * other than `00..7f` / `cc xx`, so the caller can fall back to the generic (tolerant) decoder.
 */
export function byteArrayAt(bytes: Uint8Array, at: number): { bytes: Uint8Array; end: number } | undefined {
  const tag = bytes[at];
  if (tag === undefined) return undefined;
  let count: number;
  let p: number;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (tag >= 0x90 && tag <= 0x9f) {
    count = tag & 0x0f;
    p = at + 1;
  } else if (tag === 0xdc && at + 3 <= bytes.length) {
    count = dv.getUint16(at + 1);
    p = at + 3;
  } else if (tag === 0xdd && at + 5 <= bytes.length) {
    count = dv.getUint32(at + 5 - 4);
    p = at + 5;
  } else {
    return undefined;
  }
  if (count > bytes.length - p) return undefined;
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const b = bytes[p];
    if (b === undefined) return undefined;
    if (b <= 0x7f) {
      out[i] = b;
      p += 1;
    } else if (b === 0xcc) {
      const x = bytes[p + 1];
      if (x === undefined) return undefined;
      out[i] = x;
      p += 2;
    } else {
      return undefined;
    }
  }
  return { bytes: out, end: p };
}
