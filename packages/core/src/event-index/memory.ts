// In-memory index rebuilt from the scan at open: events by id, in commit order, and per entity.
// Commit order equals global-sequence order, so range queries are binary searches over one array.

import type { IndexEntry } from './entry.js';
import { IdTable } from './id-table.js';

export class MemoryIndex {
  /** Every committed event in ascending global sequence. */
  #ordered: IndexEntry[] = [];
  #byId: IdTable;
  #byEntity = new Map<string, IndexEntry[]>();

  /** `expected`: how many events are about to be inserted (sizes the id table once). */
  constructor(expected = 0) {
    this.#byId = new IdTable(this.#ordered, expected);
  }

  get size(): number {
    return this.#ordered.length;
  }

  /** Adds an event; callers add in ascending global sequence. */
  insert(e: IndexEntry): void {
    this.#ordered.push(e);
    this.#byId.set(this.#ordered.length - 1);
    let list = this.#byEntity.get(e.entity);
    if (list === undefined) {
      list = [];
      this.#byEntity.set(e.entity, list);
    }
    list.push(e);
  }

  get(eventId: string): IndexEntry | undefined {
    return this.#byId.get(eventId);
  }

  has(eventId: string): boolean {
    return this.#byId.get(eventId) !== undefined;
  }

  /** The latest event of an entity. */
  head(entity: string): IndexEntry | undefined {
    const list = this.#byEntity.get(entity);
    return list === undefined ? undefined : list[list.length - 1];
  }

  entityEvents(entity: string): readonly IndexEntry[] {
    return this.#byEntity.get(entity) ?? [];
  }

  entities(): IterableIterator<string> {
    return this.#byEntity.keys();
  }

  get entityCount(): number {
    return this.#byEntity.size;
  }

  /** All events, ascending global sequence. */
  all(): readonly IndexEntry[] {
    return this.#ordered;
  }

  /** The committed event with this global sequence (binary search over commit order). */
  bySequence(g: number): IndexEntry | undefined {
    const i = MemoryIndex.firstAfter(this.#ordered, g - 1);
    const e = this.#ordered[i];
    return e !== undefined && e.globalSequence === g ? e : undefined;
  }

  lastGlobalSequence(): number {
    const last = this.#ordered[this.#ordered.length - 1];
    return last === undefined ? 0 : last.globalSequence;
  }

  /** Position in `list` of the first entry with globalSequence > after. */
  static firstAfter(list: readonly IndexEntry[], after: number): number {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.globalSequence <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Replaces the whole content (compaction swap): the new index is built off to the side and installed
   * in one synchronous step, so readers never see a half-swapped state.
   */
  replaceWith(entries: readonly IndexEntry[]): void {
    // Fresh structures: an iterator over the old arrays keeps a consistent (older) snapshot.
    this.#ordered = [];
    this.#byId = new IdTable(this.#ordered, entries.length);
    this.#byEntity = new Map();
    for (const e of entries) this.insert(e);
  }
}
