// A sealed segment's index file opened for lookups: its header, fence, Bloom filters and summary stay
// resident; blocks are read on demand through positioned reads and a shared BlockCache, each CRC-checked.
// A hit is a location to check, not an answer: callers match the frame it points at (frame-match.ts).

import type { Fs, FsFile } from '../fs/fs.js';
import { crc32 } from 'node:zlib';
import type { BlockCache } from './block-cache.js';
import { bloomSectionBytes, decodeBloom, type BloomFilter } from './bloom-filter.js';
import {
  blockPosition,
  checkBlock,
  compareBytes,
  decodeFence,
  decodeIndexHeader,
  entityBloomSeed,
  entityKey,
  idBloomSeed,
  INDEX_BLOCK_BYTES,
  INDEX_HEADER_BYTES,
  indexFileLength,
  IndexFileDamage,
  listsPosition,
  RECORD_BYTES,
  RECORDS_PER_BLOCK,
  residentTailBytes,
  type Column,
  type IndexFence,
  type IndexFileHeader,
  type SegmentBinding,
} from './segment-index-format.js';
import { decodeHeadsBlock, visitHeadsBlock, type EntityHead, type HeadRecord } from './segment-index-heads.js';
import { decodeLists, decodeSummary, SUMMARY_BYTES, type SegmentLists, type SegmentSummary } from './segment-summary.js';

/** Where the index file says an event's frame is. */
export interface IndexedLocation {
  readonly globalSequence: number;
  readonly offset: number;
  readonly length: number;
}

export interface EntityHit extends IndexedLocation {
  readonly entitySequence: number;
}

/** What an open must see for the file to describe the segment: everything but the full CRC. */
export type ExpectedBinding = Omit<SegmentBinding, 'segmentCrc'>;

export type IndexFileOpen = { readonly file: SegmentIndexFile; readonly stale?: undefined } | { readonly file?: undefined; readonly stale: string };

let nextFileKey = 0;

/** What an open keeps of a file besides its header. */
interface Resident {
  readonly fence: IndexFence;
  readonly ids: BloomFilter;
  readonly entities: BloomFilter;
  readonly summary: SegmentSummary;
}

export class SegmentIndexFile {
  readonly header: IndexFileHeader;
  /** What an open needs of the segment without reading its events (FORMAT.md § Summary). */
  readonly summary: SegmentSummary;
  readonly #r: Resident;
  readonly #file: FsFile;
  readonly #cache: BlockCache;
  /** Block-cache key prefix, unique per opened file. */
  readonly #key = `${nextFileKey++}:`;

  private constructor(header: IndexFileHeader, resident: Resident, file: FsFile, cache: BlockCache) {
    this.header = header;
    this.summary = resident.summary;
    this.#r = resident;
    this.#file = file;
    this.#cache = cache;
  }

  /**
   * Opens `path` and checks it describes the segment `expect` names (id, length, segment header and the
   * CRC of its tail). A missing, torn, damaged or stale file yields `{ stale: reason }` (never a throw):
   * it is derived data, rebuilt from the segment.
   */
  static async open(fs: Fs, path: string, expect: ExpectedBinding, cache: BlockCache): Promise<IndexFileOpen> {
    let file: FsFile;
    try {
      file = await fs.open(path);
    } catch (err) {
      return { stale: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `cannot open: ${(err as Error).message}` };
    }
    try {
      const header = decodeIndexHeader(await file.readAt(0, INDEX_HEADER_BYTES));
      const why = bindingMismatch(header, expect);
      if (why !== undefined) throw new IndexFileDamage(why);
      const size = await file.size();
      if (size !== indexFileLength(header)) throw new IndexFileDamage(`length ${size}, header implies ${indexFileLength(header)}`);
      const tailBytes = residentTailBytes(header);
      return { file: new SegmentIndexFile(header, decodeResident(header, await file.readAt(size - tailBytes, tailBytes)), file, cache) };
    } catch (err) {
      await file.close().catch(() => undefined);
      if (err instanceof IndexFileDamage) return { stale: err.message };
      return { stale: `cannot read: ${(err as Error).message}` };
    }
  }

  /** The block cache this file reads through (shared with the store's other index files). */
  get cache(): BlockCache {
    return this.#cache;
  }

  /** Resident bytes of this file (header, fence, both filters' bits and the summary). */
  get residentBytes(): number {
    const f = this.#r.fence;
    const fence = f.firstSequence.byteLength + f.firstId.length + f.firstEntity.length + f.firstHeadKey.length + f.firstHead.byteLength;
    return INDEX_HEADER_BYTES + fence + this.#r.ids.bits.length + this.#r.entities.bits.length + SUMMARY_BYTES;
  }

  /** False: no event of this segment has this 16-byte id. True: look it up (about 1 % of absent ids pass). */
  mayContainId(idBytes: Uint8Array): boolean {
    return this.#r.ids.mayContain(idBytes);
  }

  /** False: this segment holds no event of `entity`. True: it may (look it up). */
  mayContainEntity(entity: string): boolean {
    return this.#r.entities.mayContain(entityKey(entity));
  }

  /** mayContainEntity for an entity's key (entityKey), computed once for every file. */
  mayContainEntityKey(key: Uint8Array): boolean {
    return this.#r.entities.mayContain(key);
  }

  /** The last event of `entity` in this segment, with its content hash; check it against its frame before chaining onto it. */
  async head(entity: string): Promise<EntityHead | undefined> {
    const key = entityKey(entity);
    if (!this.#r.entities.mayContain(key)) return undefined;
    const fence = this.#r.fence.firstHeadKey;
    const blocks = fence.length / 8;
    // Heads of one key (entities whose keys collide) may start in the block before the first whose fence key is this key.
    let b = Math.max(0, firstAtLeast(blocks, (i) => compareBytes(fence.subarray(i * 8, i * 8 + 8), key)) - 1);
    for (; b < blocks && compareBytes(fence.subarray(b * 8, b * 8 + 8), key) <= 0; b++) {
      for (const h of await this.#heads(b)) if (h.entity === entity) return withoutKey(h);
    }
    return undefined;
  }

  /**
   * The heads of the segment's entities that `wanted` accepts (every one by default), in key order: what an
   * open rebuilds the heads map from. The whole column is one positioned read, not through the block cache
   * (an open reads every file's heads once: block by block that was a read per 4 KiB, and an emptied cache).
   */
  async heads(wanted: (entity: string) => boolean = () => true): Promise<EntityHead[]> {
    const h = this.header;
    const fence = this.#r.fence;
    const out: EntityHead[] = [];
    if (h.headBlocks === 0) return out;
    const column = await this.#file.readAt(blockPosition(h, 3, 0), h.headBlocks * INDEX_BLOCK_BYTES);
    if (column.length !== h.headBlocks * INDEX_BLOCK_BYTES) throw new IndexFileDamage('heads column is cut short');
    for (let b = 0; b < h.headBlocks; b++) {
      const block = column.subarray(b * INDEX_BLOCK_BYTES, (b + 1) * INDEX_BLOCK_BYTES);
      for (const r of decodeHeadsBlock(block, fence.firstHead[b + 1]! - fence.firstHead[b]!, fence.firstHeadKey.subarray(b * 8, b * 8 + 8), wanted, true)) {
        out.push(withoutKey(r));
      }
    }
    return out;
  }

  /**
   * heads() without an object per head: calls `visit` with each wanted record's name and position in a block (its
   * fields at HEAD_AT; the block is reused after the call), in key order, every check of heads() made. Reads one
   * block at a time into one buffer, so an open's transient memory is a block, not every file's heads column.
   */
  async visitHeads(wanted: (entity: string) => boolean, visit: (entity: string, dv: DataView, at: number) => void): Promise<void> {
    const h = this.header;
    const fence = this.#r.fence;
    const block = new Uint8Array(INDEX_BLOCK_BYTES);
    for (let b = 0; b < h.headBlocks; b++) {
      const position = blockPosition(h, 3, b);
      const got = this.#file.readInto !== undefined ? await this.#file.readInto(position, block) : (block.set(await this.#file.readAt(position, INDEX_BLOCK_BYTES)), INDEX_BLOCK_BYTES);
      if (got !== INDEX_BLOCK_BYTES) throw new IndexFileDamage('heads column is cut short');
      visitHeadsBlock(block, fence.firstHead[b + 1]! - fence.firstHead[b]!, fence.firstHeadKey.subarray(b * 8, b * 8 + 8), wanted, true, visit);
    }
  }

  /** The sequence jumps and per-scope key generations (read on demand; the summary says how many there are). */
  async lists(): Promise<SegmentLists> {
    const bytes = await this.#file.readAt(listsPosition(this.header), this.header.listsBytes);
    const lists = bytes.length === this.header.listsBytes ? decodeLists(bytes, this.summary, crc32) : undefined;
    if (lists === undefined) throw new IndexFileDamage('lists do not check out');
    if (lists.jumps.length > 0 && (lists.jumps[0]!.last < this.header.firstSequence || lists.jumps[lists.jumps.length - 1]!.next > this.header.lastSequence)) {
      throw new IndexFileDamage('a sequence jump lies outside the file');
    }
    return lists;
  }

  async #heads(b: number): Promise<HeadRecord[]> {
    const fence = this.#r.fence;
    const bytes = await this.#cache.get(`${this.#key}3:${b}`, async () => {
      const block = await this.#file.readAt(blockPosition(this.header, 3, b), INDEX_BLOCK_BYTES);
      decodeHeadsBlock(block, fence.firstHead[b + 1]! - fence.firstHead[b]!, fence.firstHeadKey.subarray(b * 8, b * 8 + 8));
      return block;
    });
    return decodeHeadsBlock(bytes, fence.firstHead[b + 1]! - fence.firstHead[b]!, fence.firstHeadKey.subarray(b * 8, b * 8 + 8));
  }

  close(): Promise<void> {
    this.#cache.dropPrefix(this.#key);
    return this.#file.close();
  }

  /** The event with global sequence `g` in this segment. */
  async bySequence(g: number): Promise<IndexedLocation | undefined> {
    const fs = this.#r.fence.firstSequence;
    const b = lastAtMost(fs.length, (i) => fs[i]! - g);
    if (b < 0) return undefined;
    const { dv, count } = await this.#block(0, b);
    const r = firstAtLeast(count, (i) => dv.getFloat64(4 + i * RECORD_BYTES[0], true) - g);
    if (r === count || dv.getFloat64(4 + r * RECORD_BYTES[0], true) !== g) return undefined;
    return frameRecord(dv, r);
  }

  /** The event with this 16-byte id in this segment. */
  async byId(id: Uint8Array): Promise<IndexedLocation | undefined> {
    if (!this.#r.ids.mayContain(id)) return undefined;
    const fence = this.#r.fence.firstId;
    const b = lastAtMost(fence.length / 16, (i) => compareBytes(fence.subarray(i * 16, i * 16 + 16), id));
    if (b < 0) return undefined;
    const { bytes, dv, count } = await this.#block(1, b);
    const at = (i: number) => 4 + i * RECORD_BYTES[1];
    const r = firstAtLeast(count, (i) => compareBytes(bytes.subarray(at(i), at(i) + 16), id));
    if (r === count || compareBytes(bytes.subarray(at(r), at(r) + 16), id) !== 0) return undefined;
    // The record names its frame's location itself: one block read, then the frame (checked by the caller).
    return { globalSequence: dv.getFloat64(at(r) + 16, true), offset: dv.getFloat64(at(r) + 24, true), length: dv.getUint32(at(r) + 32, true) };
  }

  /** The events of the entity with this 8-byte key (entityKey), ascending entity sequence. */
  async entity(key: Uint8Array): Promise<EntityHit[]> {
    if (!this.#r.entities.mayContain(key)) return [];
    const fence = this.#r.fence.firstEntity;
    const blocks = fence.length / 16;
    // Records of one key may start in the block before the first block whose fence key is this key.
    let b = Math.max(0, firstAtLeast(blocks, (i) => compareBytes(fence.subarray(i * 16, i * 16 + 8), key)) - 1);
    const out: EntityHit[] = [];
    for (; b < blocks && compareBytes(fence.subarray(b * 16, b * 16 + 8), key) <= 0; b++) {
      const { bytes, dv, count } = await this.#block(2, b);
      for (let r = 0; r < count; r++) {
        const at = 4 + r * RECORD_BYTES[2];
        if (compareBytes(bytes.subarray(at, at + 8), key) !== 0) continue;
        out.push({ entitySequence: dv.getFloat64(at + 8, true), globalSequence: dv.getFloat64(at + 16, true), offset: dv.getFloat64(at + 24, true), length: dv.getUint32(at + 32, true) });
      }
    }
    return out;
  }

  async #block(col: Exclude<Column, 3>, b: number): Promise<{ bytes: Uint8Array; dv: DataView; count: number }> {
    const h = this.header;
    const per = RECORDS_PER_BLOCK[col];
    const expected = Math.min(per, h.eventCount - b * per);
    const bytes = await this.#cache.get(`${this.#key}${col}:${b}`, async () => {
      const block = await this.#file.readAt(blockPosition(h, col, b), INDEX_BLOCK_BYTES);
      checkBlock(block, expected);
      return block;
    });
    return { bytes, dv: new DataView(bytes.buffer, bytes.byteOffset, bytes.length), count: expected };
  }
}

/** Decodes the resident tail (fence, filters, summary); throws IndexFileDamage when any part does not check out. */
function decodeResident(h: IndexFileHeader, tail: Uint8Array): Resident {
  if (tail.length !== residentTailBytes(h)) throw new IndexFileDamage('resident tail is cut short');
  const fence = decodeFence(h, tail.subarray(0, h.fenceBytes));
  const idAt = h.fenceBytes;
  const entityAt = idAt + bloomSectionBytes(h.eventCount);
  const summaryAt = entityAt + bloomSectionBytes(h.entityCount);
  const ids = decodeBloom(tail.subarray(idAt, entityAt), h.eventCount, crc32);
  const entities = decodeBloom(tail.subarray(entityAt, summaryAt), h.entityCount, crc32);
  if (ids === undefined || ids.seed !== idBloomSeed(h)) throw new IndexFileDamage('id filter does not check out');
  if (entities === undefined || entities.seed !== entityBloomSeed(h)) throw new IndexFileDamage('entity filter does not check out');
  const summary = decodeSummary(tail.subarray(summaryAt), h.eventCount, crc32);
  if (summary === undefined) throw new IndexFileDamage('summary does not check out');
  return { fence, ids, entities, summary };
}

const withoutKey = (h: HeadRecord): EntityHead => ({ entity: h.entity, entitySequence: h.entitySequence, globalSequence: h.globalSequence, offset: h.offset, length: h.length, contentHash: h.contentHash });

function frameRecord(dv: DataView, r: number): IndexedLocation {
  const at = 4 + r * RECORD_BYTES[0];
  return { globalSequence: dv.getFloat64(at, true), offset: dv.getFloat64(at + 8, true), length: dv.getUint32(at + 16, true) };
}

function bindingMismatch(h: IndexFileHeader, e: ExpectedBinding): string | undefined {
  if (h.segmentId !== e.segmentId) return `built for segment ${h.segmentId}`;
  if (h.committedEnd !== e.committedEnd) return `built for a segment of ${h.committedEnd} bytes, it has ${e.committedEnd}`;
  if (compareBytes(h.segmentHeader, e.segmentHeader) !== 0) return 'built for another segment (its header differs)';
  if (h.tailCrc !== e.tailCrc) return "the segment's last bytes differ from those it was built from";
  return undefined;
}

/** Largest i in [0, n) with cmp(i) ≤ 0 (cmp ascending), or -1. */
function lastAtMost(n: number, cmp: (i: number) => number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(mid) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Smallest i in [0, n) with cmp(i) ≥ 0 (cmp ascending), or n. */
function firstAtLeast(n: number, cmp: (i: number) => number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(mid) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
