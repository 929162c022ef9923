// The EventIndex in two tiers: sealed segments served from their index files (SealedTier), every other
// entry resident (ResidentIndex). Invariant: it answers every call exactly as one ResidentIndex over the same
// events would; what stays sync (size, last, heads, summary, generation) is resident in both tiers.

import type { SegmentSet } from '../segment/set.js';
import type { RecordRange } from './checkpoint.js';
import type { IndexEntry } from './entry.js';
import type { EntityPosition, EventIndex, HeadLink, IndexSummary, ScanOptions } from './event-index.js';
import { HeadTable } from './head-table.js';
import { ResidentIndex } from './resident-index.js';
import type { SegmentIndexFile } from './segment-index-file.js';
import type { SealedFileCheck } from './sealed-file-check.js';
import { SealedTier, type UntrustedIndexFile } from './sealed-tier.js';

/** Entries a scan page holds. */
const SCAN_PAGE = 1024;
const NONE: ReadonlySet<number> = new Set();

/** What a TieredIndex holds in memory, counted (not measured): what grows with the store and what does not. */
export interface TieredResidency {
  /** Entries of the active tier (the segments without an index file in use). */
  readonly activeEntries: number;
  /** Entity heads kept for the sealed tier (one per entity whose head lies in a sealed segment). */
  readonly headEntries: number;
  /** Bytes of the sealed files' resident parts (headers, fences, Bloom filters, summaries) and their slots. */
  readonly sealedBytes: number;
  /** Entries read from segments whose index file did not check out, until it is rebuilt. */
  readonly fallbackEntries: number;
  /** Bytes of index-file blocks in the block cache now. */
  readonly cachedBytes: number;
}

const newer = <T extends { readonly globalSequence: number }>(a: T | undefined, b: T | undefined): T | undefined => (a === undefined ? b : b === undefined || a.globalSequence > b.globalSequence ? a : b);

export class TieredIndex implements EventIndex {
  readonly #sealed: SealedTier;
  #active: ResidentIndex;
  /** The newest event in the sealed tier of each entity that has one there (head() takes the newer of this and the active tier's). */
  #heads = new HeadTable();
  /** Whether open left out the sealed heads of entities that had a head in the active tier. */
  #headsPartial = false;
  #generation = 0;
  /** Bumped whenever entries change tier or are replaced: a lookup over both tiers that saw it move runs again. */
  #epoch = 0;

  private constructor(sealed: SealedTier, active: ResidentIndex) {
    this.#sealed = sealed;
    this.#active = active;
  }

  /**
   * An index over the sealed segments `files` (ascending segment id, each file opened against its segment)
   * and `active`, the other segments' events (commit order; more may be inserted later). Reads each file's
   * resident parts and the heads of entities with no event in `active` (one checked frame each), never
   * its events. A file that does not check out is reported through `onUntrusted` (its owner rebuilds it,
   * then calls replaceFile) and its segment is read instead.
   */
  static async open(
    segments: SegmentSet,
    files: readonly { readonly segmentId: number; readonly file: SegmentIndexFile; readonly checked?: SealedFileCheck }[],
    onUntrusted: (u: UntrustedIndexFile) => void,
    active: readonly IndexEntry[] | ResidentIndex = [],
  ): Promise<TieredIndex> {
    const sealed = new SealedTier(segments, onUntrusted);
    let resident: ResidentIndex;
    if (active instanceof ResidentIndex) resident = active;
    else {
      resident = new ResidentIndex(active.length);
      for (const e of active) resident.insert(e);
    }
    const index = new TieredIndex(sealed, resident);
    try {
      for (const f of files) await sealed.add(f.segmentId, f.file, f.checked);
      // An entity's head is in the newest segment holding it: newest first, each entity once. One with an
      // event in the active tier has its head there (sealed segments hold older events).
      const wanted = (entity: string) => !index.#heads.has(entity) && !index.#active.hasEntity(entity);
      const ids = sealed.ids();
      for (let i = ids.length - 1; i >= 0; i--) await sealed.headsInto(ids[i]!, wanted, index.#heads);
      index.#headsPartial = resident.size > 0;
    } catch (err) {
      await sealed.close();
      throw err;
    }
    return index;
  }

  get size(): number {
    return this.#active.size + this.#sealed.size;
  }

  get generation(): number {
    return this.#generation;
  }

  /**
   * Bumped whenever entries change tier or are replaced (seal, replaceSegments): an id looked up in both
   * tiers under the same epoch is still where it was found, and an id absent then and committed since is
   * resident (the append path resolves ids against the sealed tier before sequencing, and again when this moved).
   */
  get epoch(): number {
    return this.#epoch;
  }

  last(): IndexEntry | undefined {
    return newer(this.#active.last(), this.#sealed.last());
  }

  lastGlobalSequence(): number {
    return this.last()?.globalSequence ?? 0;
  }

  head(entity: string): IndexEntry | undefined {
    return newer(this.#active.head(entity), this.#heads.get(entity));
  }

  headLink(entity: string): HeadLink | undefined {
    return newer(this.#active.headLink(entity), this.#heads.link(entity));
  }

  summary(): IndexSummary {
    let signedEvents = 0;
    let firstEncrypted: string | undefined;
    const generations = new Map<string, { readonly scope: Uint8Array; readonly generation: number }>();
    // Sealed segments in segment (commit) order, then the active tier: the first encrypted event is the first found.
    for (const s of [...this.#sealed.summaries(), this.#active.summary()]) {
      signedEvents += s.signedEvents;
      firstEncrypted ??= s.firstEncrypted;
      for (const [hex, g] of s.generations) if ((generations.get(hex)?.generation ?? -1) < g.generation) generations.set(hex, g);
    }
    return { signedEvents, firstEncrypted, generations };
  }

  getResident(eventId: string): IndexEntry | undefined {
    return this.#active.getResident(eventId);
  }

  get(eventId: string): Promise<IndexEntry | undefined> {
    return this.#stable(async () => this.#active.getResident(eventId) ?? (await this.#sealed.get(eventId)));
  }

  /** False when `eventId` is surely not in the sealed tier (its Bloom filters say so): an answer without a read. */
  mayHoldSealed(eventId: string): boolean {
    return this.#sealed.mayHold(eventId);
  }

  async has(eventId: string): Promise<boolean> {
    return (await this.get(eventId)) !== undefined;
  }

  bySequence(globalSequence: number): Promise<IndexEntry | undefined> {
    return this.#stable(async () => (await this.#active.bySequence(globalSequence)) ?? (await this.#sealed.bySequence(globalSequence)));
  }

  entityRange(entity: string, from: EntityPosition, limit: number): Promise<readonly IndexEntry[]> {
    const want = Math.max(1, limit);
    return this.#stable(async () => {
      const [sealed, active] = await Promise.all([this.#sealed.entityRange(entity, from, want), this.#active.entityRange(entity, from, want)]);
      return mergeByGlobal(sealed, active).slice(0, want);
    });
  }

  /** Both tiers' scans merged by global sequence; both start again after the last yielded event whenever entries moved. */
  scan(fromGlobal: number, options?: ScanOptions): AsyncIterable<readonly IndexEntry[]> {
    return this.#scan(fromGlobal, false, NONE, options?.payloads === true);
  }

  /**
   * The scan verifyChain takes its committed events from: a damaged frame in a sealed segment is left out
   * rather than failing it (verifyChain reads every frame and reports that one; a query must fail at it), and
   * so are the sealed segments `leaveOut` names (verifyChain finds their committed events in their frames as it
   * reads them; reading each twice doubled its work).
   */
  scanSkippingDamage(fromGlobal: number, leaveOut: ReadonlySet<number> = NONE): AsyncIterable<readonly IndexEntry[]> {
    return this.#scan(fromGlobal, true, leaveOut);
  }

  async *#scan(fromGlobal: number, skipDamage: boolean, leaveOut: ReadonlySet<number> = NONE, payloads = false): AsyncIterable<readonly IndexEntry[]> {
    let next = fromGlobal;
    for (;;) {
      const epoch = this.#epoch;
      const sources = [new PageSource(this.#sealed.scan(next, skipDamage, leaveOut, payloads)), new PageSource(this.#active.scan(next))] as const;
      try {
        for (;;) {
          for (const s of sources) await s.fill();
          if (epoch !== this.#epoch) break;
          const page: IndexEntry[] = [];
          while (page.length < SCAN_PAGE) {
            const [a, b] = [sources[0].peek(), sources[1].peek()];
            if (a === undefined && b === undefined) break;
            page.push((b === undefined || (a !== undefined && a.globalSequence < b.globalSequence) ? sources[0] : sources[1]).take());
            // A source whose page ran out is read again before anything else is merged past it.
            if (!sources[0].ready || !sources[1].ready) break;
          }
          if (page.length === 0) return;
          next = page[page.length - 1]!.globalSequence + 1;
          yield page;
          if (epoch !== this.#epoch) break;
        }
      } finally {
        for (const s of sources) await s.close();
      }
    }
  }

  segmentEntries(segmentId: number, options?: { readonly views?: boolean }): Promise<readonly IndexEntry[]> {
    return this.#stable(() => (this.#sealed.has(segmentId) ? this.#sealed.segmentEntries(segmentId) : this.#active.segmentEntries(segmentId, options)));
  }

  insert(e: IndexEntry): void {
    this.#active.insert(e);
  }

  /**
   * Moves sealed segment `segmentId`'s entries to the sealed tier, served from `file` (its index file, written
   * and opened against the segment). False, and nothing moves, when the file disagrees with the entries held
   * (count, first or last sequence) or does not check out, when a newer segment is already sealed, or when a compaction ran meanwhile.
   */
  async seal(segmentId: number, file: SegmentIndexFile): Promise<boolean> {
    const epoch = this.#epoch;
    // Quiet: a file that does not check out is not reported (its entries simply stay resident).
    const prepared = await this.#sealed.prepare(segmentId, file, undefined, true);
    const view = this.#active.segmentSealView(segmentId);
    const agrees = prepared.file !== undefined && view.count > 0 && prepared.count === view.count && prepared.first === view.first && prepared.last === view.last;
    if (!agrees || epoch !== this.#epoch || this.#sealed.topSegmentId >= segmentId) {
      this.#sealed.discard(prepared);
      return false;
    }
    // One synchronous step: the entries leave the active tier as the segment joins the sealed one.
    this.#sealed.install(prepared);
    for (const e of view.heads) this.#heads.setIfNewer(e);
    this.#active.replaceSegments([segmentId], []);
    this.#epoch++;
    return true;
  }

  /** Serves a sealed segment from a file rebuilt after its old one did not check out. */
  replaceFile(segmentId: number, file: SegmentIndexFile): Promise<void> {
    return this.#sealed.replaceFile(segmentId, file);
  }

  /**
   * Installs compaction's result (EventIndex.replaceSegments): the replaced segments leave the sealed tier and
   * `entries` join the active one until their segment's index file is sealed in. `segmentIds` name every
   * sealed-tier segment or none, and none only when open was given no active entries (compaction merges every
   * segment below the active one): a head in a kept sealed segment could not be found again without a read,
   * so anything else is refused.
   */
  replaceSegments(segmentIds: readonly number[], entries: readonly IndexEntry[]): void {
    const replaced = new Set(segmentIds);
    const held = this.#sealed.ids();
    const sealedReplaced = held.filter((id) => replaced.has(id));
    if (sealedReplaced.length !== 0 && sealedReplaced.length !== held.length) throw new RangeError('replaceSegments must replace every sealed-tier segment or none');
    // Open kept no sealed head of an entity headed in the active tier: replacing active entries alone could uncover one.
    if (sealedReplaced.length === 0 && held.length > 0 && this.#headsPartial) throw new RangeError('replaceSegments must replace every sealed-tier segment');
    if (sealedReplaced.length > 0) {
      this.#sealed.remove(sealedReplaced);
      this.#heads = new HeadTable();
    }
    this.#active.replaceSegments(segmentIds, entries);
    this.#generation++;
    this.#epoch++;
  }

  /** Counts what the index holds in memory (see TieredResidency). */
  resident(): TieredResidency {
    const r = this.#sealed.resident();
    return { activeEntries: this.#active.size, headEntries: this.#heads.size, sealedBytes: r.bytes, fallbackEntries: r.fallbackEntries, cachedBytes: r.cachedBytes };
  }

  /** Sealed segment ids, ascending. */
  sealedSegmentIds(): number[] {
    return this.#sealed.ids();
  }

  /** Whether segment `segmentId` is served by the sealed tier. */
  isSealed(segmentId: number): boolean {
    return this.#sealed.has(segmentId);
  }

  /** The active tier's entries of the segments after `segmentId`, in commit order (what the cold-start checkpoint holds). */
  activeEntriesAfter(segmentId: number): readonly IndexEntry[] {
    return this.#active.entriesAfterSegment(segmentId);
  }

  /** The same entries as activeEntriesAfter, as the records the active tier holds (no object per entry). */
  activeRecordsAfter(segmentId: number): RecordRange {
    return this.#active.recordsAfterSegment(segmentId);
  }

  /** Closes the sealed tier's files. */
  close(): Promise<void> {
    return this.#sealed.close();
  }

  /** Runs a lookup over both tiers until no entries moved between tiers while it ran. */
  async #stable<T>(op: () => Promise<T>): Promise<T> {
    for (;;) {
      const epoch = this.#epoch;
      try {
        const result = await op();
        if (epoch === this.#epoch) return result;
      } catch (err) {
        // A compaction that removed a segment mid-read explains a failed read: ask again over the new entries.
        if (epoch === this.#epoch) throw err;
      }
    }
  }
}

/** Two lists in ascending global sequence, merged. */
function mergeByGlobal(a: readonly IndexEntry[], b: readonly IndexEntry[]): IndexEntry[] {
  const out: IndexEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) out.push(j >= b.length || (i < a.length && a[i]!.globalSequence < b[j]!.globalSequence) ? a[i++]! : b[j++]!);
  return out;
}

/** One tier's scan, a page buffered at a time. */
class PageSource {
  readonly #it: AsyncIterator<readonly IndexEntry[]>;
  #page: readonly IndexEntry[] = [];
  #at = 0;
  #done = false;

  constructor(pages: AsyncIterable<readonly IndexEntry[]>) {
    this.#it = pages[Symbol.asyncIterator]();
  }

  /** Whether the next event is known without a read (buffered, or the scan ended). */
  get ready(): boolean {
    return this.#done || this.#at < this.#page.length;
  }

  async fill(): Promise<void> {
    while (!this.ready) {
      const r = await this.#it.next();
      if (r.done === true) this.#done = true;
      else {
        this.#page = r.value;
        this.#at = 0;
      }
    }
  }

  peek(): IndexEntry | undefined {
    return this.#page[this.#at];
  }

  take(): IndexEntry {
    return this.#page[this.#at++]!;
  }

  async close(): Promise<void> {
    if (!this.#done) await this.#it.return?.();
  }
}
