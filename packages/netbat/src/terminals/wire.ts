// Terminal message wire form: Rust structs as named-field msgpack (rmp-serde `to_vec_named`), read leniently, written canonically.
// Invariant: a field is found by name (or by position in an array-form struct); unknown fields are ignored and a missing non-Option field is an error (INV-NETBAT-TERMINALS).

import {
  BatpakError,
  cbool,
  cmap,
  cnil,
  cstr,
  cstruct,
  cuint,
  decodeCanonical,
  encodeCanonical,
  type CanonicalEntry,
  type CanonicalValue,
} from '@batpak/core';
import { decodeHex, encodeHex } from '../hex.js';
import { readFlatStruct, writeFlatStruct } from './flat-struct.js';

/** Encodes and decodes one message type. Decoding throws BatpakError `ERR_INVALID_ARGUMENT` naming the field. */
export interface MessageCodec<T> {
  /** The message's schema ref, e.g. `event.get.request`. */
  readonly schemaRef: string;
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

const U64_MAX = (1n << 64n) - 1n;

function wireError(schemaRef: string, message: string): BatpakError {
  return new BatpakError('ERR_INVALID_ARGUMENT', `${schemaRef}: ${message}`);
}

/**
 * Reads the fields of one struct. Clients in other languages may write a struct as a map (named) or as
 * an array (rmp-serde's compact form); both decode, like Rust's `from_slice`. Non-canonical integer and
 * length forms are accepted because request bytes are never hashed as such.
 */
export class StructReader {
  readonly #schemaRef: string;
  readonly #fields: ReadonlyMap<string, CanonicalValue>;

  private constructor(schemaRef: string, fields: ReadonlyMap<string, CanonicalValue>) {
    this.#schemaRef = schemaRef;
    this.#fields = fields;
  }

  static decode(schemaRef: string, order: readonly string[], bytes: Uint8Array): StructReader {
    // Most requests are flat (strings and integers): read directly, exactly as the generic reader would.
    const flat = readFlatStruct(bytes);
    if (flat !== undefined) return StructReader.of(schemaRef, order, flat);
    let value: CanonicalValue;
    try {
      value = decodeCanonical(bytes, { allowNonCanonical: true });
    } catch (err) {
      throw wireError(schemaRef, err instanceof Error ? err.message : String(err));
    }
    return StructReader.of(schemaRef, order, value);
  }

  static of(schemaRef: string, order: readonly string[], value: CanonicalValue): StructReader {
    const fields = new Map<string, CanonicalValue>();
    if (value.t === 'map') {
      for (const [k, v] of value.entries) {
        if (k.t !== 'str') throw wireError(schemaRef, 'struct keys must be strings');
        // First occurrence wins, as serde does not look at later duplicates for a known field.
        if (!fields.has(k.v)) fields.set(k.v, v);
      }
    } else if (value.t === 'array') {
      if (value.items.length > order.length) throw wireError(schemaRef, `array-form struct has ${value.items.length} fields, expected at most ${order.length}`);
      value.items.forEach((v, i) => fields.set(order[i]!, v));
    } else {
      throw wireError(schemaRef, `expected a struct (msgpack map), got ${value.t}`);
    }
    return new StructReader(schemaRef, fields);
  }

  #get(field: string): CanonicalValue {
    const v = this.#fields.get(field);
    if (v === undefined) throw wireError(this.#schemaRef, `missing field \`${field}\``);
    return v;
  }

  #opt(field: string): CanonicalValue | undefined {
    const v = this.#fields.get(field);
    return v === undefined || v.t === 'nil' ? undefined : v;
  }

  #fail(field: string, expected: string): never {
    throw wireError(this.#schemaRef, `field \`${field}\` must be ${expected}`);
  }

  str(field: string): string {
    const v = this.#get(field);
    return v.t === 'str' ? v.v : this.#fail(field, 'a string');
  }

  optStr(field: string): string | undefined {
    const v = this.#opt(field);
    if (v === undefined) return undefined;
    return v.t === 'str' ? v.v : this.#fail(field, 'a string or nil');
  }

  bool(field: string): boolean {
    const v = this.#get(field);
    return v.t === 'bool' ? v.v : this.#fail(field, 'a bool');
  }

  /** An unsigned integer no larger than `max` (u8 / u16 / u32 / a bounded u64). */
  uint(field: string, max: number): number {
    return this.#uintOf(field, this.#get(field), max);
  }

  optUint(field: string, max: number): number | undefined {
    const v = this.#opt(field);
    return v === undefined ? undefined : this.#uintOf(field, v, max);
  }

  #uintOf(field: string, v: CanonicalValue, max: number): number {
    if (v.t !== 'int' || v.v < 0 || v.v > max) this.#fail(field, `an unsigned integer <= ${max}`);
    return Number(v.v);
  }

  u64(field: string): bigint {
    return this.#u64Of(field, this.#get(field));
  }

  optU64(field: string): bigint | undefined {
    const v = this.#opt(field);
    return v === undefined ? undefined : this.#u64Of(field, v);
  }

  #u64Of(field: string, v: CanonicalValue): bigint {
    if (v.t !== 'int' || BigInt(v.v) < 0n || BigInt(v.v) > U64_MAX) this.#fail(field, 'a u64');
    return BigInt(v.v);
  }

  /** A signed 64-bit integer (Rust i64). */
  i64(field: string): bigint {
    const v = this.#get(field);
    return v.t === 'int' ? BigInt(v.v) : this.#fail(field, 'an i64');
  }

  /** Hex text decoded to bytes (both cases accepted), optionally of an exact length. */
  hex(field: string, length?: number): Uint8Array {
    return this.#hexOf(field, this.str(field), length);
  }

  optHex(field: string, length?: number): Uint8Array | undefined {
    const text = this.optStr(field);
    return text === undefined ? undefined : this.#hexOf(field, text, length);
  }

  #hexOf(field: string, text: string, length: number | undefined): Uint8Array {
    const decoded = decodeHex(text);
    if (!decoded.ok) this.#fail(field, 'hex text');
    if (length !== undefined && decoded.bytes.length !== length) this.#fail(field, `hex of ${length} bytes, got ${decoded.bytes.length}`);
    return decoded.bytes;
  }

  /** A `map<string, string>` whose values are hex: the Rust `BTreeMap<String, String>` of extensions. */
  hexMap(field: string): Map<string, Uint8Array> {
    const v = this.#get(field);
    if (v.t !== 'map') this.#fail(field, 'a map of string to hex string');
    const out = new Map<string, Uint8Array>();
    for (const [k, value] of v.entries) {
      if (k.t !== 'str' || value.t !== 'str') this.#fail(field, 'a map of string to hex string');
      out.set(k.v, this.#hexOf(`${field}.${k.v}`, value.v, undefined));
    }
    return out;
  }

  /** An array of hex strings, each of `length` bytes. */
  hexArray(field: string, length: number): Uint8Array[] {
    return this.array(field).map((v, i) => (v.t === 'str' ? this.#hexOf(`${field}[${i}]`, v.v, length) : this.#fail(`${field}[${i}]`, 'hex text')));
  }

  array(field: string): readonly CanonicalValue[] {
    const v = this.#get(field);
    return v.t === 'array' ? v.items : this.#fail(field, 'an array');
  }

  /** A nested struct field, or undefined when the field is absent or nil. */
  optStruct(field: string, schemaRef: string, order: readonly string[]): StructReader | undefined {
    const v = this.#opt(field);
    return v === undefined ? undefined : StructReader.of(schemaRef, order, v);
  }
}

/** Struct fields in declaration order: the canonical bytes Rust writes for the same value. */
export type StructFields = readonly (readonly [name: string, value: CanonicalValue])[];

export function encodeStruct(fields: StructFields): Uint8Array {
  // Most acks are flat (strings and integers): written directly, byte for byte what the generic encoder writes.
  return writeFlatStruct(fields) ?? encodeCanonical(cstruct(fields));
}

/** One struct type: its schema ref, field order, and both directions. Nested structs reuse `fields`/`read`. */
export interface StructSpec<T> {
  readonly schemaRef: string;
  readonly order: readonly string[];
  fields(value: T): StructFields;
  read(reader: StructReader): T;
}

export function messageCodec<T>(spec: StructSpec<T>): MessageCodec<T> {
  return Object.freeze({
    schemaRef: spec.schemaRef,
    encode: (value: T) => encodeStruct(spec.fields(value)),
    decode: (bytes: Uint8Array) => spec.read(StructReader.decode(spec.schemaRef, spec.order, bytes)),
  });
}

/** A nested struct value (e.g. an `EventSummary` inside an ack). */
export function wstruct<T>(spec: StructSpec<T>, value: T): CanonicalValue {
  return cstruct(spec.fields(value));
}

/** Reads a nested struct value. */
export function readStruct<T>(spec: StructSpec<T>, value: CanonicalValue): T {
  return spec.read(StructReader.of(spec.schemaRef, spec.order, value));
}

export const wstr = (v: string): CanonicalValue => cstr(v);
export const wbool = (v: boolean): CanonicalValue => cbool(v);
export const wuint = (v: number | bigint): CanonicalValue => cuint(v);
export const whex = (bytes: Uint8Array): CanonicalValue => cstr(encodeHex(bytes));
export const woptStr = (v: string | undefined): CanonicalValue => (v === undefined ? cnil() : cstr(v));
export const woptUint = (v: number | bigint | undefined): CanonicalValue => (v === undefined ? cnil() : cuint(v));
export const woptHex = (v: Uint8Array | undefined): CanonicalValue => (v === undefined ? cnil() : cstr(encodeHex(v)));

const utf8 = new TextEncoder();

function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** A Rust `BTreeMap<String, String>` of hex values: keys in UTF-8 byte order. */
export function whexMap(map: ReadonlyMap<string, Uint8Array>): CanonicalValue {
  const keys = [...map.keys()].sort(compareUtf8);
  return cmap(keys.map((k): CanonicalEntry => [cstr(k), cstr(encodeHex(map.get(k)!))]));
}

/** The 16 bytes of a 32-hex event id (for encoding); ERR_INVALID_ARGUMENT for anything else. */
export function idBytes(eventId: string): Uint8Array {
  const d = decodeHex(eventId);
  if (!d.ok || d.bytes.length !== 16) throw new BatpakError('ERR_INVALID_ARGUMENT', `event id must be 32 hex characters, got ${JSON.stringify(eventId)}`);
  return d.bytes;
}

/** A 32-hex event id as 16 bytes, whatever the case of its digits; throws the reader's field error. */
export function eventIdOf(reader: StructReader, field: string): string {
  return encodeHex(reader.hex(field, 16));
}
