// The compaction marker `compaction.pending`: its durable presence is the commit point of a compaction
// (INV-COMPACT-SWAP) — recovery rolls forward when it exists and rolls back (deletes staging) when not.

import { BatpakError } from '../errors.js';
import { carray, cmap, cstr, cuint, type CanonicalValue } from '../encoding/canonical.js';
import { openEnvelope, sealEnvelope } from '../encoding/envelope.js';
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
  return sealEnvelope(
    MARKER_MAGIC,
    MARKER_VERSION,
    cmap([
      [cstr('id'), cstr(m.compactionId)],
      [cstr('merged'), cuint(m.mergedId)],
      [cstr('sources'), carray(m.sources.map((s) => cuint(s)))],
      [cstr('entry'), encodeEntry(m.entry)],
    ]),
  );
}

export function decodeMarker(bytes: Uint8Array, path: string): CompactionMarker {
  const bad = (reason: string) =>
    new BatpakError('ERR_CORRUPT_MARKER', `compaction marker ${path} refused: ${reason}`, { details: { file: path, reason } });
  const { value: v } = openEnvelope(bytes, MARKER_MAGIC, MIN_MARKER_VERSION, MARKER_VERSION, bad);
  // Exactly four fields, in order: past this check each of them is there.
  if (v.t !== 'map' || v.entries.length !== 4) throw bad('body is not a marker');
  const [id, merged, sources, entry] = v.entries.map((f) => f[1]) as [CanonicalValue, CanonicalValue, CanonicalValue, CanonicalValue];
  if (id.t !== 'str' || merged.t !== 'int' || sources.t !== 'array') throw bad('body is not a marker');
  const ids = sources.items.map((x) => (x.t === 'int' && typeof x.v === 'number' ? x.v : -1));
  if (ids.some((x) => x < 1) || typeof merged.v !== 'number' || !ids.includes(merged.v)) throw bad('bad segment ids');
  return { compactionId: id.v, mergedId: merged.v, sources: ids, entry: decodeEntry(entry, bad) };
}
