// Index entries held column-wise: one fixed-width 164-byte record per entry (the checkpoint's record layout,
// FORMAT.md § Cold-start checkpoint) in chunks, strings interned, with IndexEntry objects made only when asked.
// Invariant: a record never changes once written, so an entry made from it stays true for the life of the store.

import { toHex } from '../encoding/hex.js';
import type { IndexEntry } from './entry.js';

/** Bytes of one record; the offsets below are the checkpoint record's (event-index/checkpoint.ts). */
export const RECORD_BYTES = 164;
export const REC = {
  id: 0,
  globalSequence: 16,
  entitySequence: 24,
  kind: 32,
  flags: 34,
  payloadVersion: 36,
  entity: 38,
  scope: 42,
  committedAt: 46,
  prevHash: 54,
  contentHash: 86,
  segmentId: 118,
  offset: 122,
  length: 130,
  batchFirst: 134,
  batchIndex: 142,
  batchCount: 146,
  extra: 150,
} as const;
/** `extra` of a record without encryption or extensions. */
export const NO_EXTRA = 0xffffffff;

/** The optional fields that do not fit a fixed record, kept beside it (only encrypted or extended events have one). */
export interface RecordExtra {
  readonly encryption: IndexEntry['encryption'];
  readonly extensions: IndexEntry['extensions'];
}

/**
 * Records per chunk. Chunks never move: growing adds one (no copy of everything held, no pause on the append
 * path), and an entry kept by a caller pins only its own chunk (~656 KiB), never the whole tier.
 */
const CHUNK_SHIFT = 12;
const CHUNK_RECORDS = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_RECORDS - 1;
const CHUNK_BYTES = CHUNK_RECORDS * RECORD_BYTES;

/** Writes `e`'s fixed fields as a record at `rv`/`rb`[`p`, `p + 164`) (zeroed) with the given string and extra ids. */
export function writeRecord(rb: Uint8Array, rv: DataView, p: number, e: IndexEntry, entity: number, scope: number, extra: number): void {
  rb.set(e.idBytes, p);
  rv.setFloat64(p + REC.globalSequence, e.globalSequence, true);
  rv.setFloat64(p + REC.entitySequence, e.entitySequence, true);
  rv.setUint16(p + REC.kind, e.kind, true);
  rv.setUint16(p + REC.flags, e.flags, true);
  rv.setUint16(p + REC.payloadVersion, e.payloadVersion, true);
  rv.setUint32(p + REC.entity, entity, true);
  rv.setUint32(p + REC.scope, scope, true);
  rv.setFloat64(p + REC.committedAt, e.committedAt, true);
  rb.set(e.prevHash, p + REC.prevHash);
  rb.set(e.contentHash, p + REC.contentHash);
  rv.setUint32(p + REC.segmentId, e.segmentId, true);
  rv.setFloat64(p + REC.offset, e.offset, true);
  rv.setUint32(p + REC.length, e.length, true);
  const b = e.batch;
  rv.setFloat64(p + REC.batchFirst, b?.first ?? -1, true);
  rv.setUint32(p + REC.batchIndex, b?.index ?? 0, true);
  rv.setUint32(p + REC.batchCount, b?.count ?? 0, true);
  rv.setUint32(p + REC.extra, extra, true);
  // Bytes 154..164 are reserved: left as they are (zero in a fresh chunk or image, and a record is written once).
}

/** Interned strings (entity and scope names): a record holds their number. */
export class StringTable {
  readonly #ids = new Map<string, number>();
  readonly #strings: string[] = [];

  id(s: string): number {
    let i = this.#ids.get(s);
    if (i === undefined) {
      i = this.#strings.length;
      this.#strings.push(s);
      this.#ids.set(s, i);
    }
    return i;
  }

  /** The id of `s` if interned, else -1 (a lookup never grows the table). */
  find(s: string): number {
    return this.#ids.get(s) ?? -1;
  }

  get(i: number): string {
    return this.#strings[i]!;
  }

  get size(): number {
    return this.#strings.length;
  }
}

export class EntryRecords {
  readonly #chunks: Uint8Array[] = [];
  readonly #views: DataView[] = [];
  #count = 0;
  readonly strings: StringTable;
  readonly #extras: RecordExtra[] = [];

  constructor(strings = new StringTable()) {
    this.strings = strings;
  }

  get count(): number {
    return this.#count;
  }

  /** Bytes held (records, allocated chunks), for accounting. */
  get bytes(): number {
    return this.#chunks.length * CHUNK_BYTES;
  }

  /** Room for one more record: its chunk and byte position. */
  #slot(): number {
    const i = this.#count;
    if ((i & CHUNK_MASK) === 0 && i >>> CHUNK_SHIFT === this.#chunks.length) {
      const c = new Uint8Array(CHUNK_BYTES);
      this.#chunks.push(c);
      this.#views.push(new DataView(c.buffer));
    }
    return i;
  }

  /** Appends `e` as a record; returns its ordinal. */
  push(e: IndexEntry): number {
    const i = this.#slot();
    let extra = NO_EXTRA;
    if (e.encryption !== undefined || e.extensions !== undefined) {
      extra = this.#extras.length;
      this.#extras.push({ encryption: e.encryption, extensions: e.extensions });
    }
    const c = i >>> CHUNK_SHIFT;
    writeRecord(this.#chunks[c]!, this.#views[c]!, (i & CHUNK_MASK) * RECORD_BYTES, e, this.strings.id(e.entity), this.strings.id(e.scope), extra);
    this.#count = i + 1;
    return i;
  }

  /**
   * Appends a record copied from `src` at `at` (same layout) whose entity, scope and extra are given as values:
   * the ids in the copy are this table's.
   */
  pushRecord(src: Uint8Array, at: number, entity: string, scope: string, extra: RecordExtra | undefined): number {
    return this.pushRecordIds(src, at, this.strings.id(entity), this.strings.id(scope), extra);
  }

  /**
   * Appends a record copied from `src` at `at` (same layout) whose entity and scope ids are already this table's
   * (`entity`, `scope`), with `extra` beside it.
   */
  pushRecordIds(src: Uint8Array, at: number, entity: number, scope: number, extra: RecordExtra | undefined): number {
    const i = this.#slot();
    const c = i >>> CHUNK_SHIFT;
    const p = (i & CHUNK_MASK) * RECORD_BYTES;
    this.#chunks[c]!.set(src.subarray(at, at + RECORD_BYTES), p);
    this.setIds(i, entity, scope, extra);
    this.#count = i + 1;
    return i;
  }

  /**
   * Appends `count` records copied as they are from `src` at `at` (same layout), a chunk's worth per copy; their
   * entity, scope and extra fields must then be set (`setIds`, or `setNames` and `setExtra`) before any read.
   */
  pushRaw(src: Uint8Array, at: number, count: number): void {
    let done = 0;
    while (done < count) {
      const i = this.#slot();
      const room = Math.min(count - done, CHUNK_RECORDS - (i & CHUNK_MASK));
      this.#chunks[i >>> CHUNK_SHIFT]!.set(src.subarray(at + done * RECORD_BYTES, at + (done + room) * RECORD_BYTES), (i & CHUNK_MASK) * RECORD_BYTES);
      this.#count = i + room;
      done += room;
    }
  }

  /** Sets record `i`'s entity and scope ids (this table's) and its extra. */
  setIds(i: number, entity: number, scope: number, extra: RecordExtra | undefined): void {
    this.setNames(i, entity, scope);
    this.setExtra(i, extra);
  }

  /** Sets record `i`'s entity and scope ids (this table's), leaving its extra field as it is. */
  setNames(i: number, entity: number, scope: number): void {
    const v = this.#views[i >>> CHUNK_SHIFT]!;
    const p = (i & CHUNK_MASK) * RECORD_BYTES;
    v.setUint32(p + REC.entity, entity, true);
    v.setUint32(p + REC.scope, scope, true);
  }

  /** Sets record `i`'s extra (kept beside the records; the record holds its number, or NO_EXTRA). */
  setExtra(i: number, extra: RecordExtra | undefined): void {
    let x = NO_EXTRA;
    if (extra !== undefined) {
      x = this.#extras.length;
      this.#extras.push(extra);
    }
    this.#views[i >>> CHUNK_SHIFT]!.setUint32((i & CHUNK_MASK) * RECORD_BYTES + REC.extra, x, true);
  }

  /**
   * Record `i`'s extra field as a number: NO_EXTRA, this table's extra number, or (in a record copied with
   * `pushRaw` and not yet given its extra) the number its source gave it.
   */
  extraNumber(i: number): number {
    return this.#views[i >>> CHUNK_SHIFT]!.getUint32((i & CHUNK_MASK) * RECORD_BYTES + REC.extra, true);
  }

  /** Copies record `i`'s 164 bytes as they are into `out` at `p`. */
  copyRecord(i: number, out: Uint8Array, p: number): void {
    const at = (i & CHUNK_MASK) * RECORD_BYTES;
    out.set(this.#chunks[i >>> CHUNK_SHIFT]!.subarray(at, at + RECORD_BYTES), p);
  }

  /** Appends record `i` of `other`. */
  pushFrom(other: EntryRecords, i: number): number {
    const c = i >>> CHUNK_SHIFT;
    const p = (i & CHUNK_MASK) * RECORD_BYTES;
    return this.pushRecord(other.#chunks[c]!, p, other.entity(i), other.scope(i), other.extra(i));
  }

  // Column reads: ordinal → field, without an object.
  view(i: number): DataView {
    return this.#views[i >>> CHUNK_SHIFT]!;
  }
  at(i: number): number {
    return (i & CHUNK_MASK) * RECORD_BYTES;
  }
  chunk(i: number): Uint8Array {
    return this.#chunks[i >>> CHUNK_SHIFT]!;
  }
  globalSequence(i: number): number {
    return this.#views[i >>> CHUNK_SHIFT]!.getFloat64((i & CHUNK_MASK) * RECORD_BYTES + REC.globalSequence, true);
  }
  /** What an append links to in record `i` (EventIndex.headLink): no entry built, the hash a view of the record. */
  link(i: number): { globalSequence: number; entitySequence: number; contentHash: Uint8Array } {
    return { globalSequence: this.globalSequence(i), entitySequence: this.entitySequence(i), contentHash: this.contentHash(i) };
  }

  /** Record `i`'s content hash, a view of the record (which never changes). */
  contentHash(i: number): Uint8Array {
    const at = (i & CHUNK_MASK) * RECORD_BYTES + REC.contentHash;
    return this.#chunks[i >>> CHUNK_SHIFT]!.subarray(at, at + 32);
  }
  entitySequence(i: number): number {
    return this.#views[i >>> CHUNK_SHIFT]!.getFloat64((i & CHUNK_MASK) * RECORD_BYTES + REC.entitySequence, true);
  }
  segmentId(i: number): number {
    return this.#views[i >>> CHUNK_SHIFT]!.getUint32((i & CHUNK_MASK) * RECORD_BYTES + REC.segmentId, true);
  }
  flags(i: number): number {
    return this.#views[i >>> CHUNK_SHIFT]!.getUint16((i & CHUNK_MASK) * RECORD_BYTES + REC.flags, true);
  }
  entityId(i: number): number {
    return this.#views[i >>> CHUNK_SHIFT]!.getUint32((i & CHUNK_MASK) * RECORD_BYTES + REC.entity, true);
  }
  scopeId(i: number): number {
    return this.#views[i >>> CHUNK_SHIFT]!.getUint32((i & CHUNK_MASK) * RECORD_BYTES + REC.scope, true);
  }
  entity(i: number): string {
    return this.strings.get(this.entityId(i));
  }
  scope(i: number): string {
    return this.strings.get(this.scopeId(i));
  }
  extra(i: number): RecordExtra | undefined {
    const x = this.#views[i >>> CHUNK_SHIFT]!.getUint32((i & CHUNK_MASK) * RECORD_BYTES + REC.extra, true);
    return x === NO_EXTRA ? undefined : this.#extras[x];
  }

  /** Whether record `i`'s id is the 16 bytes `id[from, from + 16)`. */
  idEquals(i: number, id: Uint8Array, from = 0): boolean {
    const c = this.#chunks[i >>> CHUNK_SHIFT]!;
    const p = (i & CHUNK_MASK) * RECORD_BYTES;
    // From the last byte: event ids are UUIDv7, whose first six bytes (the clock) most ids of a segment share.
    for (let k = 15; k >= 0; k--) if (c[p + k] !== id[from + k]) return false;
    return true;
  }

  /**
   * Record `i` as a plain IndexEntry, a new object each time (every field its own property, as an inserted entry
   * has; the byte fields view the record, which never changes).
   */
  entry(i: number): IndexEntry {
    const c = i >>> CHUNK_SHIFT;
    const v = this.#views[c]!;
    const b = this.#chunks[c]!;
    const p = (i & CHUNK_MASK) * RECORD_BYTES;
    const x = v.getUint32(p + REC.extra, true);
    const extra = x === NO_EXTRA ? undefined : this.#extras[x];
    const first = v.getFloat64(p + REC.batchFirst, true);
    const idBytes = b.subarray(p, p + 16);
    return {
      eventId: toHex(idBytes),
      idBytes,
      globalSequence: v.getFloat64(p + REC.globalSequence, true),
      entitySequence: v.getFloat64(p + REC.entitySequence, true),
      kind: v.getUint16(p + REC.kind, true),
      entity: this.strings.get(v.getUint32(p + REC.entity, true)),
      scope: this.strings.get(v.getUint32(p + REC.scope, true)),
      committedAt: v.getFloat64(p + REC.committedAt, true),
      prevHash: b.subarray(p + REC.prevHash, p + REC.prevHash + 32),
      contentHash: b.subarray(p + REC.contentHash, p + REC.contentHash + 32),
      payloadVersion: v.getUint16(p + REC.payloadVersion, true),
      flags: v.getUint16(p + REC.flags, true),
      batch: first < 0 ? undefined : { first, index: v.getUint32(p + REC.batchIndex, true), count: v.getUint32(p + REC.batchCount, true) },
      encryption: extra?.encryption,
      extensions: extra?.extensions,
      segmentId: v.getUint32(p + REC.segmentId, true),
      offset: v.getFloat64(p + REC.offset, true),
      length: v.getUint32(p + REC.length, true),
    };
  }

  /**
   * Record `i` as an entry that reads most fields from the record when asked: for a pass that looks at each
   * entry once and mostly compares bytes in place (the checkpoint check at open), never for an answer.
   */
  lazyEntry(i: number): IndexEntry {
    const c = i >>> CHUNK_SHIFT;
    const v = this.#views[c]!;
    const p = (i & CHUNK_MASK) * RECORD_BYTES;
    const x = v.getUint32(p + REC.extra, true);
    const extra = x === NO_EXTRA ? undefined : this.#extras[x];
    return new RecordEntry(
      v,
      p,
      v.getFloat64(p + REC.globalSequence, true),
      this.strings.get(v.getUint32(p + REC.entity, true)),
      this.strings.get(v.getUint32(p + REC.scope, true)),
      v.getUint32(p + REC.segmentId, true),
      v.getFloat64(p + REC.offset, true),
      v.getUint32(p + REC.length, true),
      extra?.encryption,
      extra?.extensions,
    );
  }

  /**
   * Record `i` as a plain entry with its own bytes: for an entry kept long (a sealed head), which must not pin
   * the record's chunk.
   */
  detached(i: number): IndexEntry {
    const own = this.chunk(i).slice(this.at(i), this.at(i) + REC.contentHash + 32);
    return {
      ...this.entry(i),
      idBytes: own.subarray(REC.id, REC.id + 16),
      prevHash: own.subarray(REC.prevHash, REC.prevHash + 32),
      contentHash: own.subarray(REC.contentHash, REC.contentHash + 32),
    };
  }

  /** Records [from, to) as entries. */
  entries(from: number, to: number): IndexEntry[] {
    const out: IndexEntry[] = new Array(Math.max(0, to - from));
    for (let i = from; i < to; i++) out[i - from] = this.entry(i);
    return out;
  }
}

/**
 * An index entry over a record (EntryRecords.lazyEntry): the fields a pass over every entry touches are own
 * properties; the others are read from the record when asked. Never spread one (`{ ...e }` drops the accessors):
 * build a plain entry from its fields instead.
 */
export class RecordEntry implements IndexEntry {
  readonly #records: DataView;
  readonly #at: number;
  #eventId: string | undefined;
  constructor(
    records: DataView,
    at: number,
    readonly globalSequence: number,
    readonly entity: string,
    readonly scope: string,
    public segmentId: number,
    public offset: number,
    readonly length: number,
    readonly encryption: IndexEntry['encryption'],
    readonly extensions: IndexEntry['extensions'],
  ) {
    this.#records = records;
    this.#at = at;
  }

  #bytes(from: number, length: number): Uint8Array {
    const r = this.#records;
    return new Uint8Array(r.buffer, r.byteOffset + this.#at + from, length);
  }

  /** Whether the record's id (0), prevHash (54) or contentHash (86) equals `other[from, from + length)`, without a view. */
  sameRecordBytes(recordOffset: 0 | 54 | 86, other: Uint8Array, from: number, length: number): boolean {
    if (from + length > other.length) return false;
    const r = this.#records;
    const base = this.#at + recordOffset;
    for (let i = 0; i < length; i++) if (r.getUint8(base + i) !== other[from + i]) return false;
    return true;
  }

  /** Copies the record's 16 id bytes into `out` at `p`, without a view. */
  copyId(out: Uint8Array, p: number): void {
    const r = this.#records;
    for (let k = 0; k < 16; k++) out[p + k] = r.getUint8(this.#at + k);
  }

  get eventId(): string {
    // Made on first use: the checkpoint check at open compares bytes and never needs it.
    return (this.#eventId ??= toHex(this.#bytes(0, 16)));
  }
  get idBytes(): Uint8Array {
    return this.#bytes(REC.id, 16);
  }
  get entitySequence(): number {
    return this.#records.getFloat64(this.#at + REC.entitySequence, true);
  }
  get kind(): number {
    return this.#records.getUint16(this.#at + REC.kind, true);
  }
  get flags(): number {
    return this.#records.getUint16(this.#at + REC.flags, true);
  }
  get payloadVersion(): number {
    return this.#records.getUint16(this.#at + REC.payloadVersion, true);
  }
  get committedAt(): number {
    return this.#records.getFloat64(this.#at + REC.committedAt, true);
  }
  get prevHash(): Uint8Array {
    return this.#bytes(REC.prevHash, 32);
  }
  get contentHash(): Uint8Array {
    return this.#bytes(REC.contentHash, 32);
  }
  get batch(): IndexEntry['batch'] {
    const first = this.#records.getFloat64(this.#at + REC.batchFirst, true);
    return first < 0 ? undefined : { first, index: this.#records.getUint32(this.#at + REC.batchIndex, true), count: this.#records.getUint32(this.#at + REC.batchCount, true) };
  }
}
