// The canonical MessagePack value model and its constructors: the wire form is chosen by the caller, never inferred from JS types.
// Invariant: a constructed value is always encodable (integers in range and exact, f32 values representable), or the constructor throws ERR_INVALID_ARGUMENT.

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

export const U64_MAX = (1n << 64n) - 1n;
export const I64_MIN = -(1n << 63n);
export const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
export const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);

/** The codec's one error: ERR_INVALID_ARGUMENT, `canonical msgpack: …`, with the offset when there is one. */
export function invalid(message: string, details: { offset?: number; field?: string } = {}): BatpakError {
  const where = details.offset === undefined ? '' : ` at offset ${details.offset}`;
  return BatpakError.invalidArgument(`canonical msgpack: ${message}${where}`, details);
}

/** An integer as the model holds it: a number exactly when it is safe. */
export function normalizeBigInt(v: bigint): number | bigint {
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
