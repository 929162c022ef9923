// The EventIndex with every entry resident: one MemoryIndex, answered through the async seam. The
// two-tier index keeps this as its active tier. Invariant: it answers exactly as the MemoryIndex it wraps.

import { toHex } from '../encoding/hex.js';
import { EventFlags } from '../segment/frame.js';
import type { IndexEntry } from './entry.js';
import type { EntityPosition, EventIndex, IndexSummary } from './event-index.js';
import { MemoryIndex } from './memory.js';

/** Entries a scan page holds. */
const SCAN_PAGE = 1024;

/** Position in `list` of the first entry whose `key` is above `after` (`key` grows along the list). */
export function firstAbove(list: readonly IndexEntry[], after: number, key: (e: IndexEntry) => number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(list[mid]!) <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const bySegment = (e: IndexEntry): number => e.segmentId;
const byEntitySequence = (e: IndexEntry): number => e.entitySequence;
const byGlobalSequence = (e: IndexEntry): number => e.globalSequence;

export class ResidentIndex implements EventIndex {
  #memory: MemoryIndex;
  #generation = 0;
  #signed = 0;
  #firstEncrypted: string | undefined;
  #generations = new Map<string, { readonly scope: Uint8Array; readonly generation: number }>();

  /** `expected`: how many events are about to be inserted (sizes the id table once). */
  constructor(expected = 0) {
    this.#memory = new MemoryIndex(expected);
  }

  get size(): number {
    return this.#memory.size;
  }

  get generation(): number {
    return this.#generation;
  }

  last(): IndexEntry | undefined {
    const all = this.#memory.all();
    return all[all.length - 1];
  }

  lastGlobalSequence(): number {
    return this.#memory.lastGlobalSequence();
  }

  head(entity: string): IndexEntry | undefined {
    return this.#memory.head(entity);
  }

  summary(): IndexSummary {
    return { signedEvents: this.#signed, firstEncrypted: this.#firstEncrypted, generations: this.#generations };
  }

  getResident(eventId: string): IndexEntry | undefined {
    return this.#memory.get(eventId);
  }

  async get(eventId: string): Promise<IndexEntry | undefined> {
    return this.#memory.get(eventId);
  }

  async has(eventId: string): Promise<boolean> {
    return this.#memory.has(eventId);
  }

  async bySequence(globalSequence: number): Promise<IndexEntry | undefined> {
    return this.#memory.bySequence(globalSequence);
  }

  async entityRange(entity: string, from: EntityPosition, limit: number): Promise<readonly IndexEntry[]> {
    const list = this.#memory.entityEvents(entity);
    const i =
      'afterEntitySequence' in from ? firstAbove(list, from.afterEntitySequence, byEntitySequence) : firstAbove(list, from.afterGlobalSequence, byGlobalSequence);
    return list.slice(i, i + Math.max(1, limit));
  }

  async *scan(fromGlobal: number): AsyncIterable<readonly IndexEntry[]> {
    let next = fromGlobal;
    for (;;) {
      // Each page from the array of the moment (replaceSegments installs a new one): found again by sequence.
      const list = this.#memory.all();
      const i = firstAbove(list, next - 1, byGlobalSequence);
      if (i >= list.length) return;
      const page = list.slice(i, i + SCAN_PAGE);
      next = page[page.length - 1]!.globalSequence + 1;
      yield page;
    }
  }

  async segmentEntries(segmentId: number): Promise<readonly IndexEntry[]> {
    return this.segmentEntriesNow(segmentId);
  }

  /** The entries of one segment, at once (a two-tier index moves them to its sealed tier in one step). */
  segmentEntriesNow(segmentId: number): readonly IndexEntry[] {
    // Two binary searches: segment ids never decrease along commit order (a rotation takes the next id,
    // a compaction merges every sealed segment into the lowest one).
    const all = this.#memory.all();
    return all.slice(firstAbove(all, segmentId - 1, bySegment), firstAbove(all, segmentId, bySegment));
  }

  /** The entries of the segments after `segmentId`, at once, in commit order. */
  entriesAfterSegment(segmentId: number): readonly IndexEntry[] {
    const all = this.#memory.all();
    return all.slice(firstAbove(all, segmentId, bySegment));
  }

  insert(e: IndexEntry): void {
    this.#add(this.#memory, e);
  }

  replaceSegments(segmentIds: readonly number[], entries: readonly IndexEntry[]): void {
    const replaced = new Set(segmentIds);
    const kept = this.#memory.all().filter((e) => !replaced.has(e.segmentId));
    const next = new MemoryIndex(entries.length + kept.length);
    this.#signed = 0;
    this.#firstEncrypted = undefined;
    this.#generations = new Map();
    // Both lists are in commit order: merge them by global sequence.
    let k = 0;
    for (const e of entries) {
      while (k < kept.length && kept[k]!.globalSequence < e.globalSequence) this.#add(next, kept[k++]!);
      this.#add(next, e);
    }
    while (k < kept.length) this.#add(next, kept[k++]!);
    // One synchronous swap: a scan begun before it goes on over the old entries.
    this.#memory = next;
    this.#generation++;
  }

  /** Inserts one entry into `memory` and folds it into the summary. */
  #add(memory: MemoryIndex, e: IndexEntry): void {
    memory.insert(e);
    if ((e.flags & EventFlags.SEALED) !== 0) this.#signed++;
    const enc = e.encryption;
    if (enc === undefined) return;
    this.#firstEncrypted ??= e.eventId;
    const hex = toHex(enc.scope);
    if ((this.#generations.get(hex)?.generation ?? -1) < enc.generation) this.#generations.set(hex, { scope: enc.scope, generation: enc.generation });
  }
}
