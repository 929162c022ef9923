// The EventIndex with every entry resident, held compactly: fixed-width records in commit order (EntryRecords),
// an id table and per-entity lists of record ordinals; IndexEntry objects are made only for what a caller asks.
// The two-tier index keeps this as its active tier. Invariant: it answers exactly as a map of the entries inserted.

import { toHex } from '../encoding/hex.js';
import { EventFlags } from '../segment/frame.js';
import type { RecordRange } from './checkpoint.js';
import { EntryRecords, RECORD_BYTES } from './entry-records.js';
import type { IndexEntry } from './entry.js';
import type { EntityPosition, EventIndex, HeadLink, IndexSummary } from './event-index.js';
import { RecordIdTable } from './record-id-table.js';
import { scopeHex } from './scope-hex.js';

/** Entries a scan page holds. */
/** Entries built between two turns of the event loop by segmentEntries (~10 ms of work). */
const ENTRIES_PER_TURN = 16_384;
const SCAN_PAGE = 1024;

/** One entity's record ordinals, ascending (commit order). */
class Ordinals {
  ords = new Int32Array(4);
  n = 0;

  push(i: number): void {
    if (this.n === this.ords.length) {
      const next = new Int32Array(this.ords.length * 2);
      next.set(this.ords);
      this.ords = next;
    }
    this.ords[this.n++] = i;
  }
}

/** The records, id table and entity lists of one generation (replaceSegments builds a new one). */
class Held {
  readonly records: EntryRecords;
  readonly ids: RecordIdTable;
  /** By the entity's string id in `records.strings` (scopes share the table: their slots stay empty). */
  readonly byEntity: (Ordinals | undefined)[] = [];

  constructor(records: EntryRecords, expected: number) {
    this.records = records;
    this.ids = new RecordIdTable(records, expected);
  }

  /** Indexes record `i` (just appended); false when its id was already held (it now points at `i`). */
  index(i: number): boolean {
    const e = this.records.entityId(i);
    let list = this.byEntity[e];
    if (list === undefined) {
      list = new Ordinals();
      while (this.byEntity.length < e) this.byEntity.push(undefined);
      this.byEntity[e] = list;
    }
    list.push(i);
    return this.ids.set(i);
  }

  entityList(entity: string): Ordinals | undefined {
    const e = this.records.strings.find(entity);
    return e < 0 ? undefined : this.byEntity[e];
  }

  /** First ordinal in [lo, hi) whose `key` is above `after` (`key` grows along the ordinals). */
  firstAbove(lo: number, hi: number, after: number, key: (i: number) => number): number {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (key(mid) <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export class ResidentIndex implements EventIndex {
  #held: Held;
  #generation = 0;
  #signed = 0;
  #firstEncrypted: string | undefined;
  #generations = new Map<string, { readonly scope: Uint8Array; readonly generation: number }>();

  /** `expected`: how many events are about to be inserted (sizes the id table once). */
  constructor(expected = 0) {
    this.#held = new Held(new EntryRecords(), expected);
  }

  /**
   * An index over `records` as they are (adopted, not copied: the checkpoint's records at open). `duplicate` is the
   * ordinal of the first record whose id an earlier one already has, or -1.
   */
  static fromRecords(records: EntryRecords): { index: ResidentIndex; duplicate: number } {
    const index = new ResidentIndex();
    const held = new Held(records, records.count);
    index.#held = held;
    let duplicate = -1;
    for (let i = 0; i < records.count; i++) {
      if (!held.index(i) && duplicate < 0) duplicate = i;
      index.#fold(records, i);
    }
    return { index, duplicate };
  }

  get size(): number {
    return this.#held.records.count;
  }

  get generation(): number {
    return this.#generation;
  }

  /** Bytes the records and the id table hold (the entity lists aside). */
  get residentBytes(): number {
    return this.#held.records.bytes + this.#held.ids.bytes;
  }

  last(): IndexEntry | undefined {
    const r = this.#held.records;
    return r.count === 0 ? undefined : r.entry(r.count - 1);
  }

  lastGlobalSequence(): number {
    const r = this.#held.records;
    return r.count === 0 ? 0 : r.globalSequence(r.count - 1);
  }

  head(entity: string): IndexEntry | undefined {
    const held = this.#held;
    const list = held.entityList(entity);
    return list === undefined || list.n === 0 ? undefined : held.records.entry(list.ords[list.n - 1]!);
  }

  headLink(entity: string): HeadLink | undefined {
    const held = this.#held;
    const list = held.entityList(entity);
    return list === undefined || list.n === 0 ? undefined : held.records.link(list.ords[list.n - 1]!);
  }

  /** Whether any entry of `entity` is held (no object made). */
  hasEntity(entity: string): boolean {
    return (this.#held.entityList(entity)?.n ?? 0) > 0;
  }

  summary(): IndexSummary {
    return { signedEvents: this.#signed, firstEncrypted: this.#firstEncrypted, generations: this.#generations };
  }

  getResident(eventId: string): IndexEntry | undefined {
    const held = this.#held;
    const i = held.ids.find(eventId);
    return i < 0 ? undefined : held.records.entry(i);
  }

  async get(eventId: string): Promise<IndexEntry | undefined> {
    return this.getResident(eventId);
  }

  async has(eventId: string): Promise<boolean> {
    return this.#held.ids.find(eventId) >= 0;
  }

  async bySequence(globalSequence: number): Promise<IndexEntry | undefined> {
    const { records } = this.#held;
    const i = this.#held.firstAbove(0, records.count, globalSequence - 1, (k) => records.globalSequence(k));
    return i < records.count && records.globalSequence(i) === globalSequence ? records.entry(i) : undefined;
  }

  async entityRange(entity: string, from: EntityPosition, limit: number): Promise<readonly IndexEntry[]> {
    const held = this.#held;
    const list = held.entityList(entity);
    if (list === undefined) return [];
    const { records } = held;
    const ords = list.ords;
    const i =
      'afterEntitySequence' in from
        ? held.firstAbove(0, list.n, from.afterEntitySequence, (k) => records.entitySequence(ords[k]!))
        : held.firstAbove(0, list.n, from.afterGlobalSequence, (k) => records.globalSequence(ords[k]!));
    const end = Math.min(list.n, i + Math.max(1, limit));
    const out: IndexEntry[] = [];
    for (let k = i; k < end; k++) out.push(records.entry(ords[k]!));
    return out;
  }

  async *scan(fromGlobal: number): AsyncIterable<readonly IndexEntry[]> {
    let next = fromGlobal;
    for (;;) {
      // Each page from the records of the moment (replaceSegments installs new ones): found again by sequence.
      const { records } = this.#held;
      const i = this.#held.firstAbove(0, records.count, next - 1, (k) => records.globalSequence(k));
      if (i >= records.count) return;
      const page = records.entries(i, Math.min(records.count, i + SCAN_PAGE));
      next = page[page.length - 1]!.globalSequence + 1;
      yield page;
    }
  }

  /**
   * The entries of one segment, a page at a time with a turn of the event loop between pages: a sealed segment holds
   * ~10^5–10^6 events, and building them in one step (an index file's input) stalled every append for half a second.
   * With `views` they are entries over the records (no copies, EntryRecords.lazyEntry). The records are this moment's:
   * a later replaceSegments builds new ones and leaves these as they are.
   */
  async segmentEntries(segmentId: number, options?: { readonly views?: boolean }): Promise<readonly IndexEntry[]> {
    const [from, to] = this.#segmentBounds(segmentId);
    const { records } = this.#held;
    const views = options?.views === true;
    const out: IndexEntry[] = new Array(Math.max(0, to - from));
    for (let i = from; i < to; i++) {
      out[i - from] = views ? records.lazyEntry(i) : records.entry(i);
      if ((i - from) % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return out;
  }

  /** Ordinals [from, to) of segment `segmentId`'s records. */
  #segmentBounds(segmentId: number): [number, number] {
    // Two binary searches: segment ids never decrease along commit order (a rotation takes the next id,
    // a compaction merges every sealed segment into the lowest one).
    const held = this.#held;
    const { records } = held;
    const bySegment = (k: number) => records.segmentId(k);
    return [held.firstAbove(0, records.count, segmentId - 1, bySegment), held.firstAbove(0, records.count, segmentId, bySegment)];
  }

  /** The entries of one segment, at once (a two-tier index moves them to its sealed tier in one step). */
  segmentEntriesNow(segmentId: number): readonly IndexEntry[] {
    const [from, to] = this.#segmentBounds(segmentId);
    return this.#held.records.entries(from, to);
  }

  /**
   * What sealing segment `segmentId` takes from this tier, without an object per entry: its event count, first and
   * last global sequence, and the newest entry of each entity in it (detached: kept long, they pin no records).
   */
  segmentSealView(segmentId: number): { count: number; first: number; last: number; heads: IndexEntry[] } {
    const [from, to] = this.#segmentBounds(segmentId);
    const { records } = this.#held;
    if (from === to) return { count: 0, first: 0, last: 0, heads: [] };
    const seen = new Uint8Array(records.strings.size);
    const heads: IndexEntry[] = [];
    for (let i = to - 1; i >= from; i--) {
      const e = records.entityId(i);
      if (seen[e] === 1) continue;
      seen[e] = 1;
      heads.push(records.detached(i));
    }
    return { count: to - from, first: records.globalSequence(from), last: records.globalSequence(to - 1), heads };
  }

  /** The entries of the segments after `segmentId`, at once, in commit order. */
  entriesAfterSegment(segmentId: number): readonly IndexEntry[] {
    const r = this.recordsAfterSegment(segmentId);
    return r.records.entries(r.from, r.to);
  }

  /** The records of the segments after `segmentId`, in commit order, as they are held now (a checkpoint image is encoded from them). */
  recordsAfterSegment(segmentId: number): RecordRange {
    const [, to] = this.#segmentBounds(segmentId);
    return { records: this.#held.records, from: to, to: this.#held.records.count };
  }

  insert(e: IndexEntry): void {
    const held = this.#held;
    const i = held.records.push(e);
    held.index(i);
    this.#fold(held.records, i);
  }

  replaceSegments(segmentIds: readonly number[], entries: readonly IndexEntry[]): void {
    const old = this.#held.records;
    // Each replaced segment is one run of ordinals (#segmentBounds): what is kept lies between the runs, found by
    // binary search instead of a look at every record's segment (a seal replaces a whole segment's ~10^5–10^6 records,
    // in one synchronous step the event loop waits for).
    const runs = segmentIds.map((id) => this.#segmentBounds(id)).sort((a, b) => a[0] - b[0]);
    const keptRanges: [number, number][] = [];
    let at = 0;
    for (const [from, to] of runs) {
      if (from > at) keptRanges.push([at, from]);
      if (to > at) at = to;
    }
    if (old.count > at) keptRanges.push([at, old.count]);
    this.#signed = 0;
    this.#firstEncrypted = undefined;
    this.#generations = new Map();
    const next = entries.length === 0 ? this.#keepOnly(old, keptRanges) : this.#merge(old, keptRanges, entries);
    // One synchronous swap: a scan begun before it goes on over the new records, found again by sequence.
    this.#held = next;
    this.#generation++;
  }

  /**
   * The records of `ranges` alone (a seal: the sealed segment's records leave, the active segment's stay), copied a
   * chunk at a time. A seal runs every few seconds at full append rate while the active segment holds 10^4–10^5
   * records; copying them one by one was ~7 % of the appends' main-thread CPU. The id table is sized for what the
   * tier held before (it fills to about that again before the next seal) so it does not grow step by step meanwhile.
   */
  #keepOnly(old: EntryRecords, ranges: readonly (readonly [number, number])[]): Held {
    let kept = 0;
    for (const [from, to] of ranges) kept += to - from;
    const next = new Held(new EntryRecords(), Math.max(kept, old.count));
    const records = next.records;
    const strings = records.strings;
    // Old string id + 1 → new id + 1: each distinct entity and scope is interned once, not once per record.
    const remap = new Int32Array(old.strings.size);
    const map = (s: number): number => {
      const m = remap[s]!;
      if (m !== 0) return m - 1;
      const id = strings.id(old.strings.get(s));
      remap[s] = id + 1;
      return id;
    };
    for (const [from, to] of ranges) {
      for (let o = from; o < to; ) {
        const room = Math.min(to - o, (old.chunk(o).length - old.at(o)) / RECORD_BYTES);
        const first = records.count;
        records.pushRaw(old.chunk(o), old.at(o), room);
        for (let k = 0; k < room; k++) {
          const i = first + k;
          records.setIds(i, map(old.entityId(o + k)), map(old.scopeId(o + k)), old.extra(o + k));
          next.index(i);
          this.#fold(records, i);
        }
        o += room;
      }
    }
    return next;
  }

  /** The records of `ranges` and `entries` merged by global sequence (both in commit order): a compaction's result. */
  #merge(old: EntryRecords, ranges: readonly (readonly [number, number])[], entries: readonly IndexEntry[]): Held {
    const kept: number[] = [];
    for (const [from, to] of ranges) for (let i = from; i < to; i++) kept.push(i);
    const next = new Held(new EntryRecords(), entries.length + kept.length);
    const records = next.records;
    let k = 0;
    const keep = (o: number) => {
      const i = records.pushFrom(old, o);
      next.index(i);
      this.#fold(records, i);
    };
    for (const e of entries) {
      while (k < kept.length && old.globalSequence(kept[k]!) < e.globalSequence) keep(kept[k++]!);
      const i = records.push(e);
      next.index(i);
      this.#fold(records, i);
    }
    while (k < kept.length) keep(kept[k++]!);
    return next;
  }

  /** Folds record `i` into the summary. */
  #fold(records: EntryRecords, i: number): void {
    if ((records.flags(i) & EventFlags.SEALED) !== 0) this.#signed++;
    const enc = records.extra(i)?.encryption;
    if (enc === undefined) return;
    if (this.#firstEncrypted === undefined) {
      const c = records.chunk(i);
      const at = records.at(i);
      this.#firstEncrypted = toHex(c.subarray(at, at + 16));
    }
    const hex = scopeHex(enc.scope);
    if ((this.#generations.get(hex)?.generation ?? -1) < enc.generation) this.#generations.set(hex, { scope: enc.scope, generation: enc.generation });
  }
}
