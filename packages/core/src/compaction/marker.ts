// The compaction marker `compaction.pending`: its durable presence is the commit point of a compaction
// (INV-COMPACT-SWAP) — recovery rolls forward when it exists and rolls back (deletes staging) when not.

import { crc32 } from 'node:zlib';
import { BatpakError } from '../errors.js';
import { carray, cmap, cstr, cuint, decodeCanonical, encodeCanonical, type CanonicalValue } from '../encoding/canonical.js';
import { decodeEntry, encodeEntry, type CompactionEntry } from './log.js';

export const MARKER_FILE = 'compaction.pending';
export const MARKER_MAGIC = new TextEncoder().encode('BPCMPT');
/** Written: 2 (its entry may be a version-2 compaction.log entry). Read: 1 and 2. */
export const MARKER_VERSION = 2;
const MIN_MARKER_VERSION = 1;

export interface CompactionMarker {
  /** Identifies the compaction; its record and committed events carry the same id. */
  readonly compactionId: string;
  /** The id the merged output takes (the lowest source id). */
  readonly mergedId: number;
  /** Every source segment id, ascending (includes mergedId). */
  readonly sources: readonly number[];
  /** The compaction's log entry: the record commits together with the compaction. */
  readonly entry: CompactionEntry;
}

/** `"BPCMPT" | version u16le | crc32 u32le (body) | msgpack { id, merged, sources, entry }`. */
export function encodeMarker(m: CompactionMarker): Uint8Array {
  const body = encodeCanonical(
    cmap([
      [cstr('id'), cstr(m.compactionId)],
      [cstr('merged'), cuint(m.mergedId)],
      [cstr('sources'), carray(m.sources.map((s) => cuint(s)))],
      [cstr('entry'), encodeEntry(m.entry)],
    ]),
  );
  const out = new Uint8Array(12 + body.length);
  out.set(MARKER_MAGIC, 0);
  const dv = new DataView(out.buffer);
  dv.setUint16(6, MARKER_VERSION, true);
  dv.setUint32(8, crc32(body), true);
  out.set(body, 12);
  return out;
}

export function decodeMarker(bytes: Uint8Array, path: string): CompactionMarker {
  const bad = (reason: string) =>
    new BatpakError('ERR_CORRUPT_MARKER', `compaction marker ${path} refused: ${reason}`, { details: { file: path, reason } });
  if (bytes.length < 12 || Buffer.compare(bytes.subarray(0, 6), MARKER_MAGIC) !== 0) throw bad('bad magic or short header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(6, true);
  if (version < MIN_MARKER_VERSION || version > MARKER_VERSION) throw bad(`unsupported version ${version}`);
  const body = bytes.subarray(12);
  if (crc32(body) !== dv.getUint32(8, true)) throw bad('CRC mismatch');
  let v: CanonicalValue;
  try {
    v = decodeCanonical(body);
  } catch (err) {
    throw bad(`body does not decode: ${(err as Error).message}`);
  }
  const e = v.t === 'map' ? v.entries : [];
  const id = e[0]?.[1];
  const merged = e[1]?.[1];
  const sources = e[2]?.[1];
  const entry = e[3]?.[1];
  if (e.length !== 4 || id?.t !== 'str' || merged?.t !== 'int' || sources?.t !== 'array' || entry === undefined) throw bad('body is not a marker');
  const ids = sources.items.map((x) => (x.t === 'int' && typeof x.v === 'number' ? x.v : -1));
  if (ids.some((x) => x < 1) || typeof merged.v !== 'number' || !ids.includes(merged.v)) throw bad('bad segment ids');
  return { compactionId: id.v, mergedId: merged.v, sources: ids, entry: decodeEntry(entry, bad) };
}
