// The store's view of its index: what every store module reads and writes, whatever tier holds an entry.
// Invariant: a lookup that may reach disk (an entry in a sealed segment) is async; only facts that stay resident are sync.

import type { IndexEntry } from './entry.js';

/**
 * Where an entity range starts: after an entity sequence (a projection's cursor) or after a global
 * sequence (a query's `after`). Within one entity both grow along commit order, so either is a position.
 */
export type EntityPosition = { readonly afterEntitySequence: number } | { readonly afterGlobalSequence: number };

/**
 * Facts about every committed event that the store needs without a scan (open-time refusals, verify,
 * key generations). A two-tier index keeps one per sealed file and folds them with the active tier's.
 */
export interface IndexSummary {
  /** Events written in a signed commit group (flag SEALED). */
  readonly signedEvents: number;
  /** The first encrypted event in commit order, if any. */
  readonly firstEncrypted: string | undefined;
  /** The highest key generation a frame references, per scope (hex) — a re-mint must never reuse one. */
  readonly generations: ReadonlyMap<string, { readonly scope: Uint8Array; readonly generation: number }>;
}

/**
 * The index of every committed event, in one tier (ResidentIndex) or two (TieredIndex; FORMAT.md, "The index
 * in two tiers"): the active segment's entries in memory, the sealed segments' entries in their index files, read through
 * `Fs` with positioned reads. `Fs` is async, so anything that may look past the active segment returns a
 * promise — even where today's all-resident index answers at once.
 *
 * Resident by design, and therefore sync: the entry count, the last committed entry, every entity's head
 * (an append links to it, and a disk read per append is not affordable), the summary, and the generation.
 *
 * Ranges are paged: no caller holds every entry of the store in an array (FORMAT.md names the three that
 * still collect one for a callee that takes an array).
 */
/** What an append links to: an entity's newest event's sequences and content hash (the hash views index storage: do not keep it). */
export interface HeadLink {
  readonly globalSequence: number;
  readonly entitySequence: number;
  readonly contentHash: Uint8Array;
}

export interface EventIndex {
  /** Committed events in the index. */
  readonly size: number;
  /** Bumped whenever existing entries move or go (replaceSegments): an entry read under the same generation is current. */
  readonly generation: number;
  /** The last committed entry (highest global sequence), if any. */
  last(): IndexEntry | undefined;
  /** The highest committed global sequence, 0 for an empty index. */
  lastGlobalSequence(): number;
  /** The latest event of an entity: resident, since every append links to it. */
  head(entity: string): IndexEntry | undefined;
  /** head(entity)'s link fields without building an entry (the append path asks once per event); optional: head() stands in. */
  headLink?(entity: string): HeadLink | undefined;
  summary(): IndexSummary;

  /**
   * The entry of an event id if it is resident (the active segment's tier), without waiting. For the
   * append path, whose sequencing is one synchronous step between commit groups (idempotent retries,
   * import clashes, retries of a group that just landed), and for open while it builds the resident tier.
   * `undefined` means "not resident", which in a two-tier index is not "absent".
   */
  getResident(eventId: string): IndexEntry | undefined;

  get(eventId: string): Promise<IndexEntry | undefined>;
  has(eventId: string): Promise<boolean>;
  /** The committed event with this global sequence. */
  bySequence(globalSequence: number): Promise<IndexEntry | undefined>;
  /** Up to `limit` (≥ 1) events of `entity` after `from`, in commit order; fewer than `limit` means the range ended. */
  entityRange(entity: string, from: EntityPosition, limit: number): Promise<readonly IndexEntry[]>;
  /**
   * Every event with global sequence ≥ `fromGlobal`, in commit order, a page (never empty) at a time. Each
   * page is read when asked for: events committed meanwhile appear, and after a replaceSegments the scan goes
   * on over the new entries after the last global sequence it yielded. A page is current as of the
   * generation read before asking for it; once `generation` moved, re-read an entry through `get`.
   */
  scan(fromGlobal: number, options?: ScanOptions): AsyncIterable<readonly IndexEntry[]>;
  /**
   * The entries of one segment, in commit order (an index file is written from them when the segment seals). With
   * `views`, entries may read their fields from the index's own storage (cheaper for a segment's ~10^5–10^6 events):
   * read them at once and do not keep or spread them.
   */
  segmentEntries(segmentId: number, options?: { readonly views?: boolean }): Promise<readonly IndexEntry[]>;

  /** Adds a committed event; callers add in ascending global sequence. */
  insert(e: IndexEntry): void;
  /**
   * Installs compaction's result in one synchronous step: `entries` (commit order) replace every entry of
   * the segments `segmentIds`; entries of other segments (appended meanwhile) stay. Compaction still
   * builds the whole list for its sources in memory, as it builds their output.
   */
  replaceSegments(segmentIds: readonly number[], entries: readonly IndexEntry[]): void;
}

export interface ScanOptions {
  /**
   * Entries built from frames the scan read and checked may carry that frame's payload, so the reader need not
   * read the frame again: for a reader that decodes every event it is given and keeps no entry (a kept entry keeps
   * the small buffer its payload was copied into).
   */
  readonly payloads?: boolean;
}

/** Entries an entity page asks for at a time. */
const ENTITY_PAGE = 256;

/**
 * The events of `entity` after `from`, in commit order, a page (never empty) at a time. `firstPage`: how many
 * the first page asks for (a caller that wants fewer than a page; a sealed segment reads a frame per event asked for).
 */
export async function* entityPages(index: EventIndex, entity: string, from: EntityPosition = { afterEntitySequence: 0 }, firstPage = ENTITY_PAGE): AsyncIterable<readonly IndexEntry[]> {
  let position = from;
  let size = Math.max(1, Math.min(firstPage, ENTITY_PAGE));
  for (;;) {
    const page = await index.entityRange(entity, position, size);
    if (page.length > 0) yield page;
    if (page.length < size) return;
    position = { afterGlobalSequence: page[page.length - 1]!.globalSequence };
    size = ENTITY_PAGE;
  }
}

/** Every event of `entity` after `from`, one by one, in commit order. */
export async function* entityEvents(index: EventIndex, entity: string, from: EntityPosition = { afterEntitySequence: 0 }): AsyncIterable<IndexEntry> {
  for await (const page of entityPages(index, entity, from)) yield* page;
}

/**
 * The events with global sequence in `from..through`, in commit order, as one array: only for a range
 * its caller needs whole (a commit group's members, or what an API still takes as an array).
 */
export async function collectRange(index: Pick<EventIndex, 'scan'>, from: number, through: number): Promise<IndexEntry[]> {
  const out: IndexEntry[] = [];
  for await (const page of index.scan(from)) {
    for (const e of page) {
      if (e.globalSequence > through) return out;
      out.push(e);
    }
  }
  return out;
}
