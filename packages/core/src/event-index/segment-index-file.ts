// A sealed segment's index file opened for lookups: only its header and fence stay resident; blocks
// are read on demand through positioned reads and a shared BlockCache. Every block is CRC-checked.
// A hit is a location to check, not an answer: callers match the frame it points at (frame-match.ts).

import type { Fs, FsFile } from '../fs/fs.js';
import type { BlockCache } from './block-cache.js';
import {
  blockPosition,
  checkBlock,
  compareBytes,
  decodeFence,
  decodeIndexHeader,
  INDEX_BLOCK_BYTES,
  INDEX_HEADER_BYTES,
  indexFileLength,
  IndexFileDamage,
  RECORD_BYTES,
  RECORDS_PER_BLOCK,
  type IndexFence,
  type IndexFileHeader,
  type SegmentBinding,
} from './segment-index-format.js';

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

export class SegmentIndexFile {
  readonly header: IndexFileHeader;
  readonly #fence: IndexFence;
  readonly #file: FsFile;
  readonly #cache: BlockCache;
  /** Block-cache key prefix, unique per opened file. */
  readonly #key = `${nextFileKey++}:`;

  private constructor(header: IndexFileHeader, fence: IndexFence, file: FsFile, cache: BlockCache) {
    this.header = header;
    this.#fence = fence;
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
      const fence = decodeFence(header, await file.readAt(size - header.fenceBytes, header.fenceBytes));
      return { file: new SegmentIndexFile(header, fence, file, cache) };
    } catch (err) {
      await file.close().catch(() => undefined);
      if (err instanceof IndexFileDamage) return { stale: err.message };
      return { stale: `cannot read: ${(err as Error).message}` };
    }
  }

  /** Resident bytes of this file (header fields and fence). */
  get residentBytes(): number {
    return INDEX_HEADER_BYTES + this.#fence.firstSequence.byteLength + this.#fence.firstId.length + this.#fence.firstEntity.length;
  }

  close(): Promise<void> {
    this.#cache.dropPrefix(this.#key);
    return this.#file.close();
  }

  /** The event with global sequence `g` in this segment. */
  async bySequence(g: number): Promise<IndexedLocation | undefined> {
    const fs = this.#fence.firstSequence;
    const b = lastAtMost(fs.length, (i) => fs[i]! - g);
    if (b < 0) return undefined;
    const { dv, count } = await this.#block(0, b);
    const r = firstAtLeast(count, (i) => dv.getFloat64(4 + i * RECORD_BYTES[0], true) - g);
    if (r === count || dv.getFloat64(4 + r * RECORD_BYTES[0], true) !== g) return undefined;
    return frameRecord(dv, r);
  }

  /** The event with this 16-byte id in this segment. */
  async byId(id: Uint8Array): Promise<IndexedLocation | undefined> {
    const fence = this.#fence.firstId;
    const b = lastAtMost(fence.length / 16, (i) => compareBytes(fence.subarray(i * 16, i * 16 + 16), id));
    if (b < 0) return undefined;
    const { bytes, dv, count } = await this.#block(1, b);
    const at = (i: number) => 4 + i * RECORD_BYTES[1];
    const r = firstAtLeast(count, (i) => compareBytes(bytes.subarray(at(i), at(i) + 16), id));
    if (r === count || compareBytes(bytes.subarray(at(r), at(r) + 16), id) !== 0) return undefined;
    const ordinal = dv.getUint32(at(r) + 16, true);
    if (ordinal >= this.header.eventCount) throw new IndexFileDamage('id record points past the frame column');
    const per = RECORDS_PER_BLOCK[0];
    const frames = await this.#block(0, Math.floor(ordinal / per));
    return frameRecord(frames.dv, ordinal % per);
  }

  /** The events of the entity with this 8-byte key (entityKey), ascending entity sequence. */
  async entity(key: Uint8Array): Promise<EntityHit[]> {
    const fence = this.#fence.firstEntity;
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

  async #block(col: 0 | 1 | 2, b: number): Promise<{ bytes: Uint8Array; dv: DataView; count: number }> {
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
