// The checksummed envelope of the store's small state files (compaction marker and log, consumer cursors):
// magic (6 bytes) | version u16le | crc32 u32le of the body | canonical msgpack body.
// Invariant: openEnvelope returns a decoded body only when magic, version range and CRC all hold.

import { crc32 } from 'node:zlib';
import type { BatpakError } from '../errors.js';
import { decodeCanonical, encodeCanonical, type CanonicalValue } from './canonical.js';

/** Bytes before the body: magic, version, CRC. */
const HEADER_BYTES = 12;

/** The file bytes of `value` under `magic` (6 bytes) and `version`. */
export function sealEnvelope(magic: Uint8Array, version: number, value: CanonicalValue): Uint8Array {
  const body = encodeCanonical(value);
  const out = new Uint8Array(HEADER_BYTES + body.length);
  out.set(magic, 0);
  const dv = new DataView(out.buffer);
  dv.setUint16(6, version, true);
  dv.setUint32(8, crc32(body), true);
  out.set(body, HEADER_BYTES);
  return out;
}

/**
 * The version and decoded body of an envelope whose version is in [minVersion, maxVersion]; anything
 * else is refused with `bad(reason)` — the caller's typed error for its file.
 */
export function openEnvelope(
  bytes: Uint8Array,
  magic: Uint8Array,
  minVersion: number,
  maxVersion: number,
  bad: (reason: string) => BatpakError,
): { readonly version: number; readonly value: CanonicalValue } {
  if (bytes.length < HEADER_BYTES || Buffer.compare(bytes.subarray(0, 6), magic) !== 0) throw bad('bad magic or short header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(6, true);
  if (version < minVersion || version > maxVersion) throw bad(`unsupported version ${version}`);
  const body = bytes.subarray(HEADER_BYTES);
  if (crc32(body) !== dv.getUint32(8, true)) throw bad('CRC mismatch');
  try {
    return { version, value: decodeCanonical(body) };
  } catch (err) {
    throw bad(`body does not decode: ${(err as Error).message}`);
  }
}
