// A deliberately naive MessagePack writer, independent of @batpak/core's encoder, for deriving canonical views by hand.
// Invariant: it writes rmp-serde `to_vec_named` as spec §2.2 states it — struct keys in declaration order, Vec<u8> as int arrays, None as nil.

import { blake3, fromHex, toHex } from '@batpak/core';

export type Bytes = number[];
const enc = new TextEncoder();
export function str(s: string): Bytes {
  const b = [...enc.encode(s)];
  if (b.length < 32) return [0xa0 | b.length, ...b];
  if (b.length < 256) return [0xd9, b.length, ...b];
  throw new Error('long strings are not needed here');
}
export function uint(n: number): Bytes {
  if (n < 0x80) return [n];
  if (n < 0x100) return [0xcc, n];
  if (n < 0x10000) return [0xcd, n >> 8, n & 0xff];
  throw new Error('wide ints are not needed here');
}
export function arr(items: readonly Bytes[]): Bytes {
  const head = items.length < 16 ? [0x90 | items.length] : [0xdc, items.length >> 8, items.length & 0xff];
  return [...head, ...items.flat()];
}
export function struct(fields: readonly [string, Bytes][]): Bytes {
  if (fields.length >= 16) throw new Error('wide maps are not needed here');
  return [0x80 | fields.length, ...fields.flatMap(([k, v]) => [...str(k), ...v])];
}
export const NIL: Bytes = [0xc0];
export const byteArray = (b: Uint8Array): Bytes => arr([...b].map(uint));
export const hex = (b: Bytes): string => toHex(Uint8Array.from(b));
export const digestOf = (b: Bytes): string => toHex(blake3(Uint8Array.from(b)));

export function schemaView(id: string, version: number, role: string, golden: readonly [string, Uint8Array][]): Bytes {
  return struct([
    ['domain', str('hostbat.schema.v3')],
    ['id', str(id)],
    ['version', uint(version)],
    ['role', str(role)],
    ['golden', arr(golden.map(([c, b]) => struct([['case', str(c)], ['bytes', byteArray(b)]])))],
  ]);
}

export function schemaIdentity(id: string, role: string, encodingHex: string): Bytes {
  return struct([['id', str(id)], ['version', uint(1)], ['role', str(role)], ['encoding', byteArray(fromHex(encodingHex))]]);
}
