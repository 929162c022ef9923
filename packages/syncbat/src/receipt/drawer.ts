// Receipt drawers: string → bytes maps written as Rust BTreeMap<String, Vec<u8>> (byte-sorted keys, int-array values).
// Invariant: encoding sorts keys by UTF-8 bytes whatever the Map's insertion order, so equal drawers give equal bytes.

import { asByteArray, BatpakError, cbytesArray, cmap, cstr, type CanonicalEntry, type CanonicalValue } from '@batpak/core';

export type Drawer = ReadonlyMap<string, Uint8Array>;

const utf8 = new TextEncoder();

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Entries in BTreeMap order, keys with their UTF-8 bytes. */
export function sortedDrawer(drawer: Drawer): { key: string; keyBytes: Uint8Array; value: Uint8Array }[] {
  const out = [...drawer].map(([key, value]) => ({ key, keyBytes: utf8.encode(key), value }));
  out.sort((a, b) => compareBytes(a.keyBytes, b.keyBytes));
  return out;
}

export function drawerValue(drawer: Drawer): CanonicalValue {
  return cmap(sortedDrawer(drawer).map(({ key, value }): CanonicalEntry => [cstr(key), cbytesArray(value)]));
}

export function drawerFrom(value: CanonicalValue | undefined, field: string): Map<string, Uint8Array> {
  if (value === undefined || value.t !== 'map') throw malformed(`${field} is not a map`);
  const out = new Map<string, Uint8Array>();
  for (const [k, v] of value.entries) {
    if (k.t !== 'str') throw malformed(`${field} has a non-string key`);
    const bytes = asByteArray(v);
    if (bytes === undefined) throw malformed(`${field}[${k.v}] is not a byte array`);
    out.set(k.v, bytes);
  }
  return out;
}

export function malformed(message: string): BatpakError {
  return new BatpakError('ERR_INVALID_PAYLOAD', `malformed syncbat record: ${message}`);
}
