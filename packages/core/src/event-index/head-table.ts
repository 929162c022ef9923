// The sealed tier's entity heads as fixed records (EntryRecords), one live record per entity: what open keeps for
// every entity whose newest event lies in a sealed segment. Invariant: records are only appended (an entry made
// from one stays true); a head replaced leaves its old record behind until the table is rebuilt without them.

import type { IndexEntry } from './entry.js';
import type { HeadLink } from './event-index.js';
import { EntryRecords } from './entry-records.js';

/** Records the table may hold beyond twice its live ones before it is rebuilt without the replaced ones. */
const SLACK_RECORDS = 4096;

/** The fields of a head that a record keeps (an IndexEntry has them all; open builds one from a frame read in place). */
export type HeadFields = Omit<IndexEntry, 'eventId'>;

export class HeadTable {
  #records = new EntryRecords();
  /** Entity → ordinal of its live record. */
  #live = new Map<string, number>();

  get size(): number {
    return this.#live.size;
  }

  /** Bytes of the records held (live and replaced, until a rebuild). */
  get bytes(): number {
    return this.#records.bytes;
  }

  has(entity: string): boolean {
    return this.#live.has(entity);
  }

  /** The head of `entity`, a new object viewing its record (which never changes), or undefined. */
  get(entity: string): IndexEntry | undefined {
    const i = this.#live.get(entity);
    return i === undefined ? undefined : this.#records.entry(i);
  }

  /** get(entity)'s link fields, without an entry. */
  link(entity: string): HeadLink | undefined {
    const i = this.#live.get(entity);
    return i === undefined ? undefined : this.#records.link(i);
  }

  /** Makes `e` the head of its entity unless the head held is newer (a higher global sequence). */
  setIfNewer(e: HeadFields): void {
    const i = this.#live.get(e.entity);
    if (i === undefined || this.#records.globalSequence(i) < e.globalSequence) this.set(e);
  }

  /** Makes the record at `src[at, at + RECORD_BYTES)` (entity, scope and extra fields aside) the head of `entity`. */
  setRecord(src: Uint8Array, at: number, entity: string, scope: string): void {
    this.#live.set(entity, this.#records.pushRecord(src, at, entity, scope, undefined));
    if (this.#records.count > 2 * this.#live.size + SLACK_RECORDS) this.#rebuild();
  }

  /** Makes `e` the head of its entity. */
  set(e: HeadFields): void {
    this.#live.set(e.entity, this.#records.push(e as IndexEntry));
    if (this.#records.count > 2 * this.#live.size + SLACK_RECORDS) this.#rebuild();
  }

  #rebuild(): void {
    const old = this.#records;
    const next = new EntryRecords(old.strings);
    const live = new Map<string, number>();
    for (const [entity, i] of this.#live) live.set(entity, next.pushFrom(old, i));
    this.#records = next;
    this.#live = live;
  }
}
