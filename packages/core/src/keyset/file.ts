// Keyset image: `"BPKEYS" | version u16le | crc32 u32le (body) | msgpack body` (FORMAT.md § Keyset).
// Decoding fails closed (INV-KEYSET-FAIL-CLOSED): a damaged keyset never loads as a silently empty one.

import { crc32 } from 'node:zlib';
import { BatpakError } from '../errors.js';
import { carray, cbin, cmap, cstr, cuint, decodeCanonical, encodeCanonical, type CanonicalValue } from '../encoding/canonical.js';
import type { KeyGranularity } from './scope.js';
import { GRANULARITY_CODE, GRANULARITY_OF_CODE } from './scope.js';

export const KEYSET_MAGIC = new TextEncoder().encode('BPKEYS');
export const KEYSET_VERSION = 1;
export const KEYSET_HEADER_BYTES = 12;

export interface KeyEntry {
  readonly scope: Uint8Array;
  readonly generation: number;
  readonly key: Uint8Array;
}

export interface DestroyedEntry {
  readonly scope: Uint8Array;
  readonly generation: number;
}

export interface KeysetImage {
  readonly granularity: KeyGranularity;
  readonly keys: readonly KeyEntry[];
  readonly destroyed: readonly DestroyedEntry[];
}

const byScopeThenGeneration = (a: { scope: Uint8Array; generation: number }, b: { scope: Uint8Array; generation: number }) =>
  Buffer.compare(a.scope, b.scope) || a.generation - b.generation;

/** Body: `{ g: granularity code, k: [[scope, generation, key] …], d: [[scope, generation] …] }`, sorted. */
export function encodeKeyset(image: KeysetImage): Uint8Array {
  const keys = [...image.keys].sort(byScopeThenGeneration);
  const destroyed = [...image.destroyed].sort(byScopeThenGeneration);
  const body = encodeCanonical(
    cmap([
      [cstr('g'), cuint(GRANULARITY_CODE[image.granularity])],
      [cstr('k'), carray(keys.map((k) => carray([cbin(k.scope), cuint(k.generation), cbin(k.key)])))],
      [cstr('d'), carray(destroyed.map((d) => carray([cbin(d.scope), cuint(d.generation)])))],
    ]),
  );
  const out = new Uint8Array(KEYSET_HEADER_BYTES + body.length);
  out.set(KEYSET_MAGIC, 0);
  const dv = new DataView(out.buffer);
  dv.setUint16(6, KEYSET_VERSION, true);
  dv.setUint32(8, crc32(body), true);
  out.set(body, KEYSET_HEADER_BYTES);
  body.fill(0);
  return out;
}

function corrupt(reason: string, path: string): BatpakError {
  return new BatpakError('ERR_CORRUPT_KEYSET', `keyset ${path} refused: ${reason}`, { details: { file: path, reason } });
}

function bytesOf(v: CanonicalValue | undefined, what: string, path: string, length?: number): Uint8Array {
  if (v === undefined || v.t !== 'bin' || (length !== undefined && v.v.length !== length)) throw corrupt(`${what} is not ${length ?? 'a'} byte string`, path);
  return v.v;
}

function uintOf(v: CanonicalValue | undefined, what: string, path: string): number {
  if (v === undefined || v.t !== 'int' || typeof v.v !== 'number' || v.v < 0) throw corrupt(`${what} is not an unsigned integer`, path);
  return v.v;
}

/** Decodes an image and checks it against the configured granularity; every failure is ERR_CORRUPT_KEYSET. */
export function decodeKeyset(bytes: Uint8Array, expected: KeyGranularity, path: string): KeysetImage {
  if (bytes.length < KEYSET_HEADER_BYTES) throw corrupt('short header', path);
  if (Buffer.compare(bytes.subarray(0, 6), KEYSET_MAGIC) !== 0) throw corrupt('bad magic', path);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(6, true);
  // Version before CRC: a future version refuses as such, not as damage.
  if (version !== KEYSET_VERSION) throw corrupt(`unsupported version ${version}`, path);
  const body = bytes.subarray(KEYSET_HEADER_BYTES);
  if (crc32(body) !== dv.getUint32(8, true)) throw corrupt('CRC mismatch', path);
  let root: CanonicalValue;
  try {
    root = decodeCanonical(body);
  } catch (err) {
    throw corrupt(`body does not decode: ${(err as Error).message}`, path);
  }
  if (root.t !== 'map' || root.entries.length !== 3) throw corrupt('body is not the keyset map', path);
  const field = (i: number, name: string) => {
    const e = root.t === 'map' ? root.entries[i] : undefined;
    if (e === undefined || e[0].t !== 'str' || e[0].v !== name) throw corrupt(`body key ${i} is not '${name}'`, path);
    return e[1];
  };
  const code = uintOf(field(0, 'g'), 'granularity', path);
  const granularity = GRANULARITY_OF_CODE[code];
  if (granularity === undefined) throw corrupt(`unknown granularity ${code}`, path);
  if (granularity !== expected) throw corrupt(`granularity is '${granularity}' but the store is configured for '${expected}'`, path);
  const list = (v: CanonicalValue, what: string) => {
    if (v.t !== 'array') throw corrupt(`${what} is not a list`, path);
    return v.items;
  };
  const keys = list(field(1, 'k'), 'keys').map((item) => {
    const t = item.t === 'array' ? item.items : [];
    if (t.length !== 3) throw corrupt('key entry is not [scope, generation, key]', path);
    return { scope: bytesOf(t[0], 'key scope', path), generation: uintOf(t[1], 'key generation', path), key: bytesOf(t[2], 'key', path, 32) };
  });
  const destroyed = list(field(2, 'd'), 'destroyed').map((item) => {
    const t = item.t === 'array' ? item.items : [];
    if (t.length !== 2) throw corrupt('destroyed entry is not [scope, generation]', path);
    return { scope: bytesOf(t[0], 'destroyed scope', path), generation: uintOf(t[1], 'destroyed generation', path) };
  });
  return { granularity, keys, destroyed };
}
