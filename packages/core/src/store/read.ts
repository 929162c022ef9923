// The store's reads: events by id (decoded, raw, or as their original receipt), queries in commit order
// with read-ahead, and ancestor walks. Every payload goes through one decode path (openPayload).
// Invariant: a read that races a compaction re-reads the event at its new place, never serves moved bytes.

import { walkAncestors as walk } from '../chain/ancestry.js';
import { BatpakError } from '../errors.js';
import type { IndexEntry } from '../event-index/entry.js';
import { frameOf } from '../event-index/entry-frame.js';
import { walkedPayload } from '../event-index/walked-entry.js';
import { collectRange, entityPages, type EventIndex } from '../event-index/event-index.js';
import { MemoryIndex } from '../event-index/memory.js';
import { isEventIdString } from '../id.js';
import type { Keyset } from '../keyset/keyset.js';
import { openPayload } from '../keyset/seal.js';
import type { RemovedSet } from '../compaction/log.js';
import { findSeal, rebuildGroup, signedReceipt, type GroupCache } from '../receipt/original.js';
import { checkFilter, type CheckedFilter } from '../query-filter.js';
import type { EventRegistry } from '../registry.js';
import { EventFlags, type EventFrame } from '../segment/frame.js';
import type { SegmentSet } from '../segment/set.js';
import type { AncestorWalk, AppendReceipt, QueryFilter, RawEvent, StoredEvent } from '../types.js';
import { CoordinateCache } from './coordinate-cache.js';
import { baseReceipt, coordinateOf, decodeStoredPayload, headerOf } from './views.js';

/** Events a query reads ahead at most, and the bytes (at least one event is always read). */
const QUERY_READ_AHEAD = 256;
const QUERY_READ_AHEAD_BYTES = 4 * 1024 * 1024;

/** Bytes read ahead for one planned event, or undefined when its run failed to read. */
type ReadAhead = { segmentId: number; offset: number; length: number; bytes: Uint8Array } | undefined;

export interface ReadParts {
  readonly index: EventIndex;
  readonly segments: SegmentSet;
  readonly removed: RemovedSet;
  readonly keyset: Keyset | undefined;
  readonly registry: EventRegistry | undefined;
  /** Rebuilt commit groups for receipt(): cleared when compaction moves frames. */
  readonly groups: GroupCache;
  /** Throws ERR_STORE_CLOSED once the store is closing (checked between the events a query yields). */
  readonly assertOpen: () => void;
}

export class StoreReader {
  readonly #p: ReadParts;
  readonly #coordinates = new CoordinateCache();

  constructor(parts: ReadParts) {
    this.#p = parts;
  }

  /** The committed entry of an event id; ERR_INVALID_ARGUMENT for a malformed id, ERR_NOT_FOUND for an unknown one. */
  async entry(eventId: string): Promise<IndexEntry> {
    if (!isEventIdString(eventId)) {
      throw BatpakError.invalidArgument('eventId must be 32 lowercase hex characters', { field: 'eventId' });
    }
    const entry = await this.#p.index.get(eventId);
    if (entry === undefined) throw BatpakError.notFound(`no event ${eventId}`, { eventId });
    return entry;
  }

  async get<T>(eventId: string): Promise<StoredEvent<T>> {
    const event = await this.load(await this.entry(eventId));
    if (event.shredded) {
      throw new BatpakError('ERR_PAYLOAD_SHREDDED', `the payload of event ${eventId} was shredded (its key was destroyed)`, { details: { eventId } });
    }
    return event as StoredEvent<T>;
  }

  async getRaw(eventId: string): Promise<RawEvent> {
    const { entry, frame } = await this.readFrame(await this.entry(eventId));
    return { header: headerOf(entry), coordinate: coordinateOf(entry), bytes: new Uint8Array(frame.payload) };
  }

  query(filter: QueryFilter): AsyncIterable<StoredEvent> {
    return this.scan(checkFilter(filter), filter.signal);
  }

  /** Events in commit order matching a checked filter (query, and subscriptions with their own kind test). */
  async *scan(f: CheckedFilter, signal: AbortSignal | undefined): AsyncIterable<StoredEvent> {
    const index = this.#p.index;
    const after = f.after === undefined ? 0 : Number(f.after);
    const pages = (f.entity === undefined ? index.scan(after + 1, { payloads: true }) : entityPages(index, f.entity, { afterGlobalSequence: after }, f.limit))[Symbol.asyncIterator]();
    let page: readonly IndexEntry[] = [];
    let i = 0;
    /** The index generation the page is current at (read before asking for it). */
    let pageGeneration = index.generation;
    let ended = false;
    let yielded = 0;
    const aborted = () => signal?.aborted === true;
    try {
      // Read ahead in growing steps: a `limit: 1` query reads one frame, a long scan reads runs of frames.
      let ahead = 8;
      while (!(ended && i >= page.length) && yielded < f.limit) {
        if (aborted()) throw BatpakError.aborted('query');
        const planned: IndexEntry[] = [];
        const plannedAt: number[] = [];
        let plannedBytes = 0;
        const want = Math.min(ahead, f.limit - yielded);
        /** A page that failed (a sealed segment's walk met damage): surfaced after the events planned before it. */
        let failed: { error: unknown } | undefined;
        while (planned.length < want && plannedBytes < QUERY_READ_AHEAD_BYTES) {
          if (i >= page.length) {
            if (ended) break;
            pageGeneration = index.generation;
            let next: IteratorResult<readonly IndexEntry[]>;
            try {
              next = await pages.next();
            } catch (error) {
              failed = { error };
              break;
            }
            if (next.done === true) ended = true;
            else [page, i] = [next.value, 0];
            continue;
          }
          // After a compaction swap, read the current entry (or skip a dropped one).
          const at = index.generation;
          let e: IndexEntry | undefined = page[i++]!;
          if (at !== pageGeneration) e = await index.get(e.eventId);
          if (e === undefined) continue;
          if (f.scope !== undefined && e.scope !== f.scope) continue;
          if (f.kind !== undefined && !f.kind(e.kind)) continue;
          planned.push(e);
          plannedAt.push(at);
          plannedBytes += e.length;
        }
        ahead = Math.min(ahead * 2, QUERY_READ_AHEAD);
        const read = await this.#readAhead(planned);
        for (let k = 0; k < planned.length; k++) {
          if (aborted()) throw BatpakError.aborted('query');
          this.#p.assertOpen();
          let e: IndexEntry | undefined = planned[k]!;
          if (index.generation !== plannedAt[k]) e = await index.get(e.eventId);
          if (e === undefined) continue;
          const r = read[k];
          // Bytes read ahead serve only if the event has not moved since (compaction relocates survivors).
          const usable = r !== undefined && r.segmentId === e.segmentId && r.offset === e.offset && r.length === e.length;
          // An entry built from a frame just read and checked (a sealed segment's walk or lookup) comes with its payload.
          const known = walkedPayload(e) ?? frameOf(e)?.payload;
          yield known !== undefined ? this.#decodeLoaded(e, known) : usable ? this.#loadRead(e, r.bytes) ?? (await this.load(e)) : await this.load(e);
          yielded++;
          if (yielded >= f.limit) return;
        }
        if (failed !== undefined) throw failed.error;
      }
    } finally {
      // A query left early releases what the index holds for its pages.
      await pages.return?.();
    }
  }

  /**
   * Reads the frames of `entries` (commit order) with one read per run of nearby frames. A run that
   * fails to read is left out: those events are read one by one, which reports the error properly.
   */
  async #readAhead(entries: readonly IndexEntry[]): Promise<ReadAhead[]> {
    const out: ReadAhead[] = new Array(entries.length);
    // Entries the index built from frames it just read and checked come with them: not read again.
    const unread: number[] = [];
    for (let i = 0; i < entries.length; i++) if (walkedPayload(entries[i]!) === undefined && frameOf(entries[i]!) === undefined) unread.push(i);
    if (unread.length < 2) return out;
    const runs: { at: number[]; segmentId: number; locs: { offset: number; length: number }[] }[] = [];
    for (let i = 0; i < unread.length; ) {
      const segmentId = entries[unread[i]!]!.segmentId;
      let j = i + 1;
      while (j < unread.length && entries[unread[j]!]!.segmentId === segmentId && entries[unread[j]!]!.offset > entries[unread[j - 1]!]!.offset) j++;
      const at = unread.slice(i, j);
      runs.push({ at, segmentId, locs: at.map((k) => ({ offset: entries[k]!.offset, length: entries[k]!.length })) });
      i = j;
    }
    await Promise.all(
      runs.map(async ({ at, segmentId, locs }) => {
        try {
          const bytes = await this.#p.segments.readFrameRuns(segmentId, locs);
          for (let k = 0; k < locs.length; k++) out[at[k]!] = { segmentId, offset: locs[k]!.offset, length: locs[k]!.length, bytes: bytes[k]! };
        } catch {
          // Left undefined: read one by one.
        }
      }),
    );
    return out;
  }

  /** Like load over bytes already read; undefined when they do not check (the caller re-reads). */
  #loadRead(entry: IndexEntry, bytes: Uint8Array): StoredEvent | undefined {
    let frame: EventFrame;
    try {
      frame = this.#p.segments.checkEventFrame(bytes, entry, entry.idBytes);
    } catch {
      return undefined;
    }
    return this.#decodeLoaded(entry, frame.payload);
  }

  /**
   * chain/ancestry.ts walks a synchronous MemoryIndex (its signature stays sync until that module is
   * reworked): it gets one holding the anchor's entity up to the anchor, loaded from the index first.
   */
  async walkAncestors(eventId: string, limit: number): Promise<AncestorWalk> {
    const view = new MemoryIndex();
    const anchor = await this.#p.index.get(eventId);
    if (anchor !== undefined) {
      for await (const page of entityPages(this.#p.index, anchor.entity)) {
        for (const e of page) if (e.globalSequence <= anchor.globalSequence) view.insert(e);
        if (page[page.length - 1]!.globalSequence >= anchor.globalSequence) break;
      }
    }
    return walk({ index: view, anchor: eventId, limit, load: (e) => this.load(e) });
  }

  /** Reads an entry's frame; if compaction moved it meanwhile, reads it again at its new place. */
  async readFrame(entry: IndexEntry): Promise<{ entry: IndexEntry; frame: EventFrame }> {
    // An entry of a sealed segment was built from its frame, read and checked just now: that frame is the read.
    const known = frameOf(entry);
    if (known !== undefined) return { entry, frame: known };
    const at = `${entry.segmentId}:${entry.offset}`;
    try {
      return { entry, frame: await this.#p.segments.readEventFrame(entry, entry.idBytes) };
    } catch (err) {
      const now = await this.#p.index.get(entry.eventId);
      if (now === undefined || `${now.segmentId}:${now.offset}` === at) throw err;
      return { entry: now, frame: await this.#p.segments.readEventFrame(now, now.idBytes) };
    }
  }

  /** The one read path for payloads: decrypts when sealed, marks shredded events instead of failing. */
  async load(current: IndexEntry): Promise<StoredEvent> {
    const { entry, frame } = await this.readFrame(current);
    return this.#decodeLoaded(entry, frame.payload);
  }

  /** An event from its entry and its frame's (checked) payload bytes. */
  #decodeLoaded(entry: IndexEntry, payload: Uint8Array): StoredEvent {
    const header = headerOf(entry);
    const coordinate = this.#coordinates.get(entry.entity, entry.scope);
    if (header.tombstone) return { header, coordinate, payload: undefined, shredded: false };
    const plain = openPayload(this.#p.keyset, entry, payload);
    if (plain === 'shredded') return { header, coordinate, payload: undefined, shredded: true };
    return { header, coordinate, payload: decodeStoredPayload(entry, plain, this.#p.registry), shredded: false };
  }

  /** An event's plaintext payload bytes (decrypted when sealed), for comparing an idempotent repeat. */
  async plaintext(current: IndexEntry): Promise<Uint8Array | 'shredded'> {
    const { entry, frame } = await this.readFrame(current);
    return openPayload(this.#p.keyset, entry, frame.payload);
  }

  /** A committed event's receipt exactly as append returned it (signature and group proof included). */
  async originalReceipt(current: IndexEntry): Promise<AppendReceipt> {
    if ((current.flags & EventFlags.SEALED) === 0) return baseReceipt(current);
    const { index, removed, groups, segments } = this.#p;
    // receipt/original.ts looks group members up synchronously: they are loaded from the index first.
    const bySequence = new Map<number, IndexEntry>();
    const members = {
      bySequence: (g: number) => bySequence.get(g),
      removedLeaf: (g: number) => removed.bySequence(g)?.leaf,
      baseReceipt,
    };
    const cached = groups.find(current);
    if (cached !== undefined) return signedReceipt(current, cached, members);
    let entry = current;
    let seal;
    try {
      seal = await findSeal(segments, entry);
    } catch (err) {
      // Compaction may have moved the event meanwhile: look again at its new place.
      const now = await index.get(current.eventId);
      if (now === undefined || (now.segmentId === entry.segmentId && now.offset === entry.offset)) throw err;
      entry = now;
      seal = await findSeal(segments, entry);
    }
    for (const e of await collectRange(index, seal.firstSequence, seal.lastSequence)) bySequence.set(e.globalSequence, e);
    const group = rebuildGroup(entry, seal, members);
    groups.add(group);
    return signedReceipt(entry, group, members);
  }
}
