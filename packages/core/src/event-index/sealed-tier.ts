// The sealed segments' entries, served from their index files (one per segment, in segment order) through a
// shared BlockCache. Invariant: every answer is built from a frame read and checked (INV-DERIVED-NOT-AUTHORITY);
// a file caught lying is reported through `onUntrusted` and its segment is answered from the segment itself.

import { bytesEqual, fromHex, toHex } from '../encoding/hex.js';
import { BatpakError, typedIoError } from '../errors.js';
import { EventFlags } from '../segment/frame.js';
import type { SegmentSet } from '../segment/set.js';
import type { IndexEntry } from './entry.js';
import type { EntityPosition, IndexSummary } from './event-index.js';
import { rememberFrame } from './entry-frame.js';
import { entryFromRecovered } from './from-frame.js';
import { checkHits, type HitExpectation } from './index-hit.js';
import { ResidentIndex } from './resident-index.js';
import type { EntityHit, IndexedLocation, SegmentIndexFile } from './segment-index-file.js';
import type { EntityHead } from './segment-index-heads.js';
import { entityKey, IndexFileDamage } from './segment-index-format.js';
import { checkSealedFile, type SealedFileCheck } from './sealed-file-check.js';
import { isCompactedHeader, segmentWalk, segmentWalkPages } from './segment-walk.js';
import type { HeadTable } from './head-table.js';
import { HEAD_AT } from './segment-index-heads.js';
import { PlainEventBody } from '../segment/plain-body.js';
import { FRAME_HEADER_BYTES, FRAME_MAGIC, SEGMENT_HEADER_BYTES } from '../segment/format.js';
import { crc32 } from 'node:zlib';
import { RECORD_BYTES, REC } from './entry-records.js';

/** A sealed segment's index file that did not check out: its owner rebuilds it from the segment (replaceFile). */
export interface UntrustedIndexFile {
  readonly segmentId: number;
  readonly reason: string;
}

/** Segments an entity range reads at once in its first wave, and at most (each wave doubles). */
const FIRST_WAVE = 4;
const MAX_WAVE = 32;
/** Resident bytes of a slot besides its file's (the slot, its summary and its last entry), counted generously. */
const SLOT_BYTES = 1024;
const EVENT_ID = /^[0-9a-f]{32}$/;

/** A sealed segment checked and ready to install (opaque). */
export interface PreparedSegment {
  readonly segmentId: number;
  /** Undefined when the file did not check out (its segment is then read instead). */
  readonly file: SegmentIndexFile | undefined;
  readonly count: number;
  readonly first: number;
  readonly last: number;
}

interface Slot {
  readonly segmentId: number;
  readonly compacted: boolean;
  /** The index file, or undefined once it did not check out (the segment is then answered from `fallback`). */
  file: SegmentIndexFile | undefined;
  /** The segment's entries read from the segment itself, while its file is untrusted. */
  fallback: Promise<ResidentIndex> | undefined;
  count: number;
  /** Global sequences of the first and last events (checked against their frames); 0 when the segment has none. */
  first: number;
  last: number;
  lastEntry: IndexEntry | undefined;
  summary: IndexSummary;
}

export class SealedTier {
  readonly #segments: SegmentSet;
  readonly #onUntrusted: (u: UntrustedIndexFile) => void;
  /** Ascending segment id (and so ascending global sequence). */
  #slots: Slot[] = [];
  /** Files no longer used, closed once no lookup is in flight (a lookup may still be reading one). */
  #retired: SegmentIndexFile[] = [];
  #busy = 0;

  constructor(segments: SegmentSet, onUntrusted: (u: UntrustedIndexFile) => void) {
    this.#segments = segments;
    this.#onUntrusted = onUntrusted;
  }

  /**
   * Adds sealed segment `segmentId`, served from `file` (opened against the segment): after every segment held.
   * `checked`: what checkSealedFile already found for this very file (an open checks before it commits to a file).
   */
  async add(segmentId: number, file: SegmentIndexFile, checked?: SealedFileCheck): Promise<void> {
    this.install(await this.prepare(segmentId, file, checked));
  }

  /**
   * Checks `file` for segment `segmentId` before it is installed (a file that fails is reported and its segment
   * read instead). `quiet`: a file that fails is only closed, and the result has no file (a seal that would be refused).
   */
  async prepare(segmentId: number, file: SegmentIndexFile, checked?: SealedFileCheck, quiet = false): Promise<PreparedSegment> {
    const slot: Slot = { segmentId, compacted: isCompactedHeader(file.header.segmentHeader), file, fallback: undefined, count: 0, first: 0, last: 0, lastEntry: undefined, summary: EMPTY_SUMMARY };
    if (quiet) {
      const c = checked ?? (await checkSealedFile(this.#segments, segmentId, file, slot.compacted, (id) => this.#walk(id)));
      if (c.untrusted !== undefined) {
        this.#retire(file);
        return { ...slot, file: undefined };
      }
      checked = c;
    }
    await this.#verify(slot, file, checked);
    return slot;
  }

  /** Installs a prepared segment in one synchronous step; throws RangeError unless it comes after every segment held. */
  install(prepared: PreparedSegment): void {
    const slot = prepared as Slot;
    const top = this.#slots[this.#slots.length - 1];
    if (top !== undefined && top.segmentId >= slot.segmentId) throw new RangeError(`segment ${slot.segmentId} is not after segment ${top.segmentId}`);
    this.#slots = [...this.#slots, slot];
  }

  /** Drops a prepared segment that will not be installed (closes its file). */
  discard(prepared: PreparedSegment): void {
    const slot = prepared as Slot;
    if (slot.file !== undefined) this.#retire(slot.file);
  }

  /** The highest segment id held, or -1. */
  get topSegmentId(): number {
    return this.#slots[this.#slots.length - 1]?.segmentId ?? -1;
  }

  /** Serves segment `segmentId` from `file` again (a file rebuilt from the segment after it was untrusted). */
  async replaceFile(segmentId: number, file: SegmentIndexFile): Promise<void> {
    const slot = this.#slots.find((s) => s.segmentId === segmentId);
    if (slot === undefined) throw new RangeError(`segment ${segmentId} is not in the sealed tier`);
    const next: Slot = { ...slot, file, fallback: undefined };
    await this.#verify(next, file);
    if (!this.#slots.includes(slot)) return this.#retire(file);
    if (slot.file !== undefined) this.#retire(slot.file);
    this.#slots = this.#slots.map((s) => (s === slot ? next : s));
  }

  /** Drops segments (compaction replaced them); their files close once no lookup reads them. */
  remove(segmentIds: readonly number[]): void {
    const gone = new Set(segmentIds);
    for (const s of this.#slots) if (gone.has(s.segmentId) && s.file !== undefined) this.#retire(s.file);
    this.#slots = this.#slots.filter((s) => !gone.has(s.segmentId));
  }

  has(segmentId: number): boolean {
    return this.#slots.some((s) => s.segmentId === segmentId);
  }

  ids(): number[] {
    return this.#slots.map((s) => s.segmentId);
  }

  get size(): number {
    let n = 0;
    for (const s of this.#slots) n += s.count;
    return n;
  }

  /** The last event of the newest segment that has one. */
  last(): IndexEntry | undefined {
    for (let i = this.#slots.length - 1; i >= 0; i--) if (this.#slots[i]!.lastEntry !== undefined) return this.#slots[i]!.lastEntry;
    return undefined;
  }

  /** Each segment's summary facts, in segment order. */
  summaries(): IndexSummary[] {
    return this.#slots.map((s) => s.summary);
  }

  /** Bytes this tier keeps whatever the lookups: each file's resident part and each slot's; and entries held while a file is untrusted. */
  resident(): { bytes: number; fallbackEntries: number; untrusted: number; cachedBytes: number } {
    let bytes = 0;
    let fallbackEntries = 0;
    let untrusted = 0;
    const caches = new Set<{ readonly bytes: number }>();
    for (const s of this.#slots) {
      bytes += SLOT_BYTES + (s.file?.residentBytes ?? 0);
      if (s.file !== undefined) caches.add(s.file.cache);
      if (s.file === undefined) {
        untrusted++;
        fallbackEntries += s.count;
      }
    }
    let cachedBytes = 0;
    for (const c of caches) cachedBytes += c.bytes;
    return { bytes, fallbackEntries, untrusted, cachedBytes };
  }

  /** False only when no sealed segment can hold `eventId` (every file's id filter says absent, none is read from its segment). */
  mayHold(eventId: string): boolean {
    if (this.#slots.length === 0 || !EVENT_ID.test(eventId)) return false;
    const id = fromHex(eventId);
    return this.#slots.some((s) => s.file === undefined || s.file.mayContainId(id));
  }

  async get(eventId: string): Promise<IndexEntry | undefined> {
    if (!EVENT_ID.test(eventId)) return undefined;
    const id = fromHex(eventId);
    return this.#run(async () => {
      for (const slot of this.#slots) {
        const file = slot.file;
        if (file !== undefined && !file.mayContainId(id)) continue;
        const found = file === undefined ? undefined : await this.#checked(slot, file, async () => [await file.byId(id)], () => ({ idBytes: id }));
        const e = found === undefined ? (await slot.fallback)?.getResident(eventId) : found[0];
        if (e !== undefined) return e;
      }
      return undefined;
    });
  }

  async bySequence(g: number): Promise<IndexEntry | undefined> {
    return this.#run(async () => {
      const slot = this.#slots.find((s) => s.count > 0 && s.first <= g && g <= s.last);
      if (slot === undefined) return undefined;
      const file = slot.file;
      if (file !== undefined) {
        const found = await this.#checked(slot, file, async () => {
          const hit = await file.bySequence(g);
          // Sequences are dense in a segment compaction did not write: the file's range holds every one.
          if (hit === undefined && !slot.compacted) throw new IndexFileDamage(`the file leaves out global sequence ${g}`);
          return [hit];
        }, () => ({}));
        if (found !== undefined) return found[0];
      }
      return (await slot.fallback)?.bySequence(g);
    });
  }

  /**
   * Up to `limit` events of `entity` after `from`, in commit order. Segments whose events all lie at or before a
   * global position, or whose entity filter rules the entity out, are not read; the others are read a wave at a
   * time, every segment of a wave at once: first their records of the entity (a block or two each), which say
   * how many events each holds, then the frames of just as many records as the limit needs.
   */
  async entityRange(entity: string, from: EntityPosition, limit: number): Promise<IndexEntry[]> {
    const want = Math.max(1, limit);
    const key = entityKey(entity);
    const floor = 'afterGlobalSequence' in from ? from.afterGlobalSequence : 0;
    return this.#run(async () => {
      const candidates = this.#slots.filter((s) => s.file === undefined || (s.count > 0 && s.last > floor && s.file.mayContainEntityKey(key)));
      const out: IndexEntry[] = [];
      let next = 0;
      let wave = FIRST_WAVE;
      while (out.length < want && next < candidates.length) {
        const batch = candidates.slice(next, next + wave);
        next += batch.length;
        wave = Math.min(wave * 2, MAX_WAVE);
        // Every slot of the wave reads after the last event found so far (segments hold ascending global sequences).
        const position: EntityPosition = out.length === 0 ? from : { afterGlobalSequence: out[out.length - 1]!.globalSequence };
        const after = (e: { entitySequence: number; globalSequence: number }) =>
          'afterEntitySequence' in position ? e.entitySequence > position.afterEntitySequence : e.globalSequence > position.afterGlobalSequence;
        const room = want - out.length;
        const listed = await Promise.all(batch.map((slot) => this.#entityHits(slot, key, after)));
        // Records are not events yet (another entity may share the key, a file may lie): ask each for what the limit needs.
        let left = room;
        const needs = listed.map((hits) => {
          if (hits === undefined) return room;
          const n = Math.min(hits.length, left);
          left -= n;
          return n;
        });
        const parts = await Promise.all(batch.map((slot, j) => (needs[j] === 0 ? { entries: [], exhausted: listed[j]!.length === 0 } : this.#entityPart(slot, listed[j], entity, position, needs[j]!))));
        for (let j = 0; j < batch.length; j++) {
          const part = parts[j]!;
          for (const e of part.entries) if (out.length < want) out.push(e);
          if (out.length >= want) break;
          // A segment that may hold more than it was asked for (an earlier one held fewer than its records said): read it again, after what was found.
          if (!part.exhausted) {
            next = candidates.indexOf(batch[j]!);
            wave = FIRST_WAVE;
            break;
          }
        }
      }
      return out;
    });
  }

  /** The records of the key in a slot's file after the position, ascending global sequence; undefined for a slot answered from its segment. */
  async #entityHits(slot: Slot, key: Uint8Array, after: (e: EntityHit) => boolean): Promise<EntityHit[] | undefined> {
    const file = slot.file;
    if (file === undefined) return undefined;
    try {
      return (await file.entity(key)).filter(after).sort((a, b) => a.globalSequence - b.globalSequence);
    } catch (err) {
      return this.#damaged(slot, err);
    }
  }

  /**
   * Up to `want` checked events of `entity` in one slot (from `hits`, its file's records, or from its segment);
   * `exhausted`: the slot holds no more of them after the position.
   */
  async #entityPart(slot: Slot, hits: EntityHit[] | undefined, entity: string, position: EntityPosition, want: number): Promise<{ entries: IndexEntry[]; exhausted: boolean }> {
    const file = slot.file;
    if (hits !== undefined && file !== undefined) {
      const out: IndexEntry[] = [];
      // Hits of entities sharing the key are skipped once read: read more until `want` are found or none are left.
      let i = 0;
      let trusted = true;
      while (i < hits.length && out.length < want) {
        const chunk = hits.slice(i, i + (want - out.length));
        i += chunk.length;
        const found = await this.#checked(slot, file, async () => chunk, (h) => ({ entity, entitySequence: h.entitySequence }));
        if (found === undefined) {
          trusted = false;
          break;
        }
        for (const e of found) if (e !== undefined) out.push(e);
      }
      if (trusted) return { entries: out, exhausted: i >= hits.length };
    }
    // The file did not check out (now or before): the segment's own entries answer, from the same position.
    const entries = await (await slot.fallback)!.entityRange(entity, position, want);
    return { entries: [...entries], exhausted: entries.length < want };
  }

  /**
   * Every committed event with global sequence ≥ `fromGlobal`, read from the sealed segments themselves, a page
   * at a time. `skipDamage`: a damaged frame is left out instead of failing the scan; `leaveOut`: segments whose
   * events are left out (both for verifyChain only, which reads those segments itself). `payloads`: each entry
   * carries its frame's payload (walked-entry.ts), for a reader that decodes every event it is given.
   */
  async *scan(fromGlobal: number, skipDamage = false, leaveOut?: ReadonlySet<number>, payloads = false): AsyncGenerator<IndexEntry[], void, undefined> {
    for (const slot of this.#slots) {
      if (leaveOut?.has(slot.segmentId) === true) continue;
      await slot.fallback;
      if (slot.count === 0 || slot.last < fromGlobal) continue;
      // A scan from inside a segment walks from where its first event's commit group starts, not from the segment's start.
      const from = slot.first < fromGlobal && !skipDamage ? await this.#scanStart(slot, fromGlobal) : undefined;
      yield* segmentWalkPages(this.#segments, slot.segmentId, { skipDamage, from, fromGlobal, payloads });
    }
  }

  /**
   * A file offset in `slot`'s segment from which a walk sees every committed event ≥ `fromGlobal` exactly as a walk
   * from the segment's start does, or undefined (walk from the start). The commit rules start afresh at a frame that
   * is not sealed and not inside a batch, or is the first of its batch: whatever came before is discarded or committed
   * there (segment/commit-rules.ts); in a compacted segment at any frame. The file names the frames, and every one
   * it names is read and checked (INV-DERIVED-NOT-AUTHORITY): a file that lies is distrusted and the walk starts at the top.
   */
  async #scanStart(slot: Slot, fromGlobal: number): Promise<number | undefined> {
    const file = slot.file;
    if (file === undefined) return undefined;
    // The file is derived: a read of it that fails costs the scan its shortcut, never its answer. Damage in the
    // segment at a frame the walk would pass anyway is that walk's answer.
    const at = async (g: number) => {
      try {
        return (await this.#checked(slot, file, async () => [await file.bySequence(g)], () => ({})))?.[0];
      } catch (err) {
        if (err instanceof BatpakError && err.code === 'ERR_CORRUPT_SEGMENT') throw err;
        return undefined;
      }
    };
    return this.#run(async () => {
      const e = await at(fromGlobal);
      if (e === undefined) return undefined;
      if (slot.compacted) return e.offset;
      if ((e.flags & EventFlags.SEALED) !== 0) return undefined;
      const batch = e.batch;
      if (batch === undefined || batch.index === 0) return e.offset;
      // Inside a batch: its first frame, if it is in this segment and is that batch's first.
      if (batch.first < slot.first) return undefined;
      const head = await at(batch.first);
      const same = head?.batch !== undefined && head.batch.index === 0 && head.batch.count === batch.count && head.batch.first === batch.first;
      return same && (head.flags & EventFlags.SEALED) === 0 && head.offset < e.offset ? head.offset : undefined;
    });
  }

  /** The committed events of one sealed segment, from the segment. */
  async segmentEntries(segmentId: number): Promise<IndexEntry[]> {
    return this.has(segmentId) ? this.#walk(segmentId) : [];
  }

  async #walk(segmentId: number): Promise<IndexEntry[]> {
    const out: IndexEntry[] = [];
    for await (const e of segmentWalk(this.#segments, segmentId)) out.push(e);
    return out;
  }

  /**
   * The head (last event) in segment `segmentId` of every entity `wanted` accepts, each checked against its
   * frame (entity, entity sequence and content hash): what an open rebuilds the heads map from.
   */
  async heads(segmentId: number, wanted: (entity: string) => boolean): Promise<IndexEntry[]> {
    return this.#run(async () => {
      const slot = this.#slots.find((s) => s.segmentId === segmentId);
      if (slot === undefined) return [];
      const fromFile = slot.file === undefined ? undefined : await this.#checkedHeads(slot, slot.file, wanted);
      if (fromFile !== undefined) return fromFile;
      const latest = new Map<string, IndexEntry>();
      for (const e of await this.#walk(segmentId)) latest.set(e.entity, e);
      return [...latest.values()].filter((e) => wanted(e.entity));
    });
  }

  /**
   * heads() into `table`, each head still checked against its frame, but for the common case without an object per
   * head read: a plain frame is read into one reused buffer and its fields compared in place (PlainEventBody), its
   * record written straight into the table. Anything else — a frame that is not plain, or any doubt about the file —
   * goes through heads(), which decodes, reports and distrusts exactly as before.
   */
  async headsInto(segmentId: number, wanted: (entity: string) => boolean, table: HeadTable): Promise<void> {
    const leanDone = await this.#run(async () => {
      const slot = this.#slots.find((s) => s.segmentId === segmentId);
      return slot?.file === undefined ? false : this.#leanHeads(slot, slot.file, wanted, table);
    });
    if (leanDone) return;
    for (const e of await this.heads(segmentId, (entity) => wanted(entity) && !table.has(entity))) table.set(e);
  }

  /** The lean half of headsInto: true when every wanted head of `file` was checked and set; false hands the rest over. */
  async #leanHeads(slot: Slot, file: SegmentIndexFile, wanted: (entity: string) => boolean, table: HeadTable): Promise<boolean> {
    // Per wanted head: its name, [offset, length, global sequence, entity sequence] and content hash, copied out of
    // the heads blocks as they are read (numbers and bytes, no object per head).
    const entity: string[] = [];
    const nums: number[] = [];
    let hashes = new Uint8Array(32 * 1024);
    try {
      await file.visitHeads(wanted, (name, dv, p) => {
        const k = entity.length;
        entity.push(name);
        nums.push(dv.getFloat64(p + HEAD_AT.offset, true), dv.getUint32(p + HEAD_AT.length, true), dv.getFloat64(p + HEAD_AT.globalSequence, true), dv.getFloat64(p + HEAD_AT.entitySequence, true));
        if (32 * (k + 1) > hashes.length) {
          const more = new Uint8Array(2 * hashes.length);
          more.set(hashes);
          hashes = more;
        }
        for (let i = 0; i < 32; i++) hashes[32 * k + i] = dv.getUint8(p + HEAD_AT.contentHash + i);
      });
    } catch {
      return false;
    }
    // In file order: the frames are read front to back, and two heads claiming overlapping bytes are caught.
    const order = Array.from(entity.keys()).sort((x, y) => nums[4 * x]! - nums[4 * y]!);
    const handle = await this.#segments.handle(slot.segmentId);
    const size = this.#segments.size(slot.segmentId);
    const body = new PlainEventBody();
    let buf = new Uint8Array(4096);
    const rec = new Uint8Array(RECORD_BYTES);
    const rv = new DataView(rec.buffer);
    let lastEnd = 0;
    let scope = '';
    let scopeBytes = new Uint8Array(0);
    for (const k of order) {
      const name = entity[k]!;
      const offset = nums[4 * k]!;
      const length = nums[4 * k + 1]!;
      if (!Number.isSafeInteger(offset) || offset < SEGMENT_HEADER_BYTES || length <= FRAME_HEADER_BYTES || offset + length > size || offset < lastEnd) return false;
      lastEnd = offset + length;
      if (buf.length < length) buf = new Uint8Array(Math.max(length, 2 * buf.length));
      let got: number;
      try {
        got = handle.readInto !== undefined ? await handle.readInto(offset, buf.subarray(0, length)) : (buf.set(await handle.readAt(offset, length)), length);
      } catch {
        return false;
      }
      // The frame is whole (magic, its length, its CRC) and a plain event naming the head's sequences, entity and hash.
      const b = buf;
      if (got !== length || u32be(b, 0) !== FRAME_MAGIC || FRAME_HEADER_BYTES + u32be(b, 4) !== length) return false;
      if (crc32(b.subarray(FRAME_HEADER_BYTES, length)) !== u32be(b, 8)) return false;
      // A payload version past a record's u16 is left to heads(), as any frame that is not a plain event.
      if (!body.read(b, FRAME_HEADER_BYTES, length) || body.payloadVersion > 0xffff) return false;
      if (body.globalSequence !== nums[4 * k + 2] || body.entitySequence !== nums[4 * k + 3]) return false;
      if (body.entityLength !== name.length) return false;
      for (let i = 0; i < body.entityLength; i++) if (b[body.entityAt + i] !== name.charCodeAt(i)) return false;
      for (let i = 0; i < 32; i++) if (b[body.contentAt + i] !== hashes[32 * k + i]) return false;
      let sameScope = body.scopeLength === scopeBytes.length;
      for (let i = 0; sameScope && i < body.scopeLength; i++) sameScope = b[body.scopeAt + i] === scopeBytes[i];
      if (!sameScope) {
        // Stores have few scopes: the last one's string is reused while its bytes repeat.
        scopeBytes = b.slice(body.scopeAt, body.scopeAt + body.scopeLength);
        scope = Buffer.from(scopeBytes.buffer, scopeBytes.byteOffset, scopeBytes.length).toString('latin1');
      }
      // The head's record, composed in place (entry-records.ts REC layout; the table sets entity, scope and extra).
      for (let i = 0; i < 16; i++) rec[REC.id + i] = b[body.idAt + i]!;
      for (let i = 0; i < 32; i++) rec[REC.prevHash + i] = b[body.prevAt + i]!;
      for (let i = 0; i < 32; i++) rec[REC.contentHash + i] = b[body.contentAt + i]!;
      rv.setFloat64(REC.globalSequence, body.globalSequence, true);
      rv.setFloat64(REC.entitySequence, body.entitySequence, true);
      rv.setUint16(REC.kind, body.kind, true);
      rv.setUint16(REC.flags, body.flags, true);
      rv.setUint16(REC.payloadVersion, body.payloadVersion, true);
      rv.setFloat64(REC.committedAt, body.committedAt, true);
      rv.setUint32(REC.segmentId, slot.segmentId, true);
      rv.setFloat64(REC.offset, offset, true);
      rv.setUint32(REC.length, length, true);
      rv.setFloat64(REC.batchFirst, body.batchCount === 0 ? -1 : body.batchFirst, true);
      rv.setUint32(REC.batchIndex, body.batchCount === 0 ? 0 : body.batchIndex, true);
      rv.setUint32(REC.batchCount, body.batchCount, true);
      table.setRecord(rec, 0, name, scope);
    }
    return true;
  }

  async #checkedHeads(slot: Slot, file: SegmentIndexFile, wanted: (entity: string) => boolean): Promise<IndexEntry[] | undefined> {
    let heads: EntityHead[];
    try {
      heads = (await file.heads(wanted)).sort((a, b) => a.offset - b.offset);
    } catch (err) {
      return this.#damaged(slot, err);
    }
    const found = await this.#checked(slot, file, async () => heads, (h) => ({ entity: h.entity, entitySequence: h.entitySequence }), true);
    if (found === undefined) return undefined;
    for (let i = 0; i < heads.length; i++) {
      if (!bytesEqual(found[i]!.contentHash, heads[i]!.contentHash)) {
        this.#distrust(slot, `the head of ${JSON.stringify(heads[i]!.entity)} names another content hash than its frame`);
        return undefined;
      }
    }
    return found as IndexEntry[];
  }

  /** Closes every file (the owner's close). */
  async close(): Promise<void> {
    for (const s of this.#slots) if (s.file !== undefined) this.#retired.push(s.file);
    this.#slots = [];
    await this.#closeRetired();
  }

  /**
   * Reads `hits()` from `file` and checks each against its frame; returns one entry per hit (undefined for
   * a hit that is absent or of another entity sharing the key), or undefined when the file did not check
   * out — then the slot is distrusted and the caller answers from its fallback. `strict`: another entity is a lie too.
   */
  async #checked<H extends IndexedLocation>(slot: Slot, file: SegmentIndexFile, hits: () => Promise<readonly (H | undefined)[]>, expect: (h: H) => HitExpectation, strict = false): Promise<(IndexEntry | undefined)[] | undefined> {
    let listed: readonly (H | undefined)[];
    try {
      listed = await hits();
    } catch (err) {
      return this.#damaged(slot, err);
    }
    const present = listed.filter((h): h is H => h !== undefined);
    const checked = await checkHits(this.#segments, slot.segmentId, present, present.map(expect));
    const out: (IndexEntry | undefined)[] = [];
    for (let i = 0; i < present.length; i++) {
      const c = checked[i]!;
      // Damage in the segment itself is the answer to this read (as for any store reading that frame); the file stays.
      if (c.damaged !== undefined && !strict) throw BatpakError.corruptSegment(this.#segments.path(slot.segmentId), present[i]!.offset, c.damaged);
      const why = c.untrusted ?? (c.damaged !== undefined ? `the frame at offset ${present[i]!.offset} fails its checks (${c.damaged})` : undefined) ?? (strict && c.otherEntity === true ? 'a record names another entity than its frame' : undefined);
      if (why !== undefined || slot.file !== file) {
        if (why !== undefined) this.#distrust(slot, why);
        return undefined;
      }
      const hit = present[i]!;
      if (c.frame === undefined) {
        out.push(undefined);
        continue;
      }
      const entry = entryFromRecovered({ frame: c.frame, segmentId: slot.segmentId, offset: hit.offset, length: hit.length });
      // A lookup's answer goes to a reader that wants the frame next; a head is kept for the store's life (no frame with it).
      if (!strict) rememberFrame(entry, c.frame);
      out.push(entry);
    }
    return listed.length === present.length ? out : [...out, undefined];
  }

  /** A read of the file failed its own checks (IndexFileDamage): distrust it; anything else is rethrown. */
  #damaged(slot: Slot, err: unknown): undefined {
    // A read that failed (the disk, a killed process) is this read's answer, typed like a segment read's; the file stays.
    if (!(err instanceof IndexFileDamage)) throw typedIoError(err, `cannot read the index file of segment ${slot.segmentId}`, { file: this.#segments.path(slot.segmentId).replace(/\.bps$/, '.bpi') });
    this.#distrust(slot, err.message);
    return undefined;
  }

  /** Stops using `slot`'s file, reports it, and reads the segment's entries from the segment instead. */
  #distrust(slot: Slot, reason: string): void {
    if (slot.file === undefined) return;
    this.#retire(slot.file);
    slot.file = undefined;
    slot.fallback = this.#loadFallback(slot);
    slot.fallback.catch(() => undefined);
    this.#onUntrusted({ segmentId: slot.segmentId, reason });
  }

  async #loadFallback(slot: Slot): Promise<ResidentIndex> {
    const entries = await this.#walk(slot.segmentId);
    const index = new ResidentIndex(entries.length);
    for (const e of entries) index.insert(e);
    slot.count = entries.length;
    slot.first = entries[0]?.globalSequence ?? 0;
    slot.last = index.lastGlobalSequence();
    slot.lastEntry = index.last();
    slot.summary = index.summary();
    return index;
  }

  /** Checks what the tier takes from `file` without a hit (sealed-file-check.ts); a file that fails is distrusted. */
  async #verify(slot: Slot, file: SegmentIndexFile, given?: SealedFileCheck): Promise<void> {
    const h = file.header;
    const s = file.summary;
    const checked = given ?? (await checkSealedFile(this.#segments, slot.segmentId, file, slot.compacted, (id) => this.#walk(id)));
    slot.count = h.eventCount;
    slot.first = h.eventCount === 0 ? 0 : h.firstSequence;
    slot.last = h.eventCount === 0 ? 0 : h.lastSequence;
    slot.lastEntry = checked.lastEntry;
    slot.summary = { signedEvents: s.sealedEvents, firstEncrypted: s.encryptedEvents > 0 ? toHex(s.firstEncryptedId) : undefined, generations: checked.generations };
    if (checked.untrusted !== undefined) {
      this.#distrust(slot, checked.untrusted);
      await slot.fallback;
    }
  }

  #retire(file: SegmentIndexFile): void {
    this.#retired.push(file);
    if (this.#busy === 0) void this.#closeRetired();
  }

  async #closeRetired(): Promise<void> {
    const files = this.#retired;
    this.#retired = [];
    await Promise.all(files.map((f) => f.close().catch(() => undefined)));
  }

  /** Runs a lookup; retired files are closed only once none is in flight. */
  async #run<T>(op: () => Promise<T>): Promise<T> {
    this.#busy++;
    try {
      return await op();
    } finally {
      if (--this.#busy === 0 && this.#retired.length > 0) void this.#closeRetired();
    }
  }
}

const u32be = (b: Uint8Array, p: number): number => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;

const EMPTY_SUMMARY: IndexSummary = { signedEvents: 0, firstEncrypted: undefined, generations: new Map() };
