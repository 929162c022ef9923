// Byte layout of a sealed segment's index file (`NNNNNN.bpi`, version 3, FORMAT.md § Segment index files):
// a header bound to its segment, four columns in CRC-checked blocks, the lists, a fence, two Bloom filters
// and a summary. Pure encode/decode: nothing here touches disk, nothing decoded is trusted beyond its CRCs.

import { crc32 } from 'node:zlib';
import { blake3 } from '../crypto/blake3.js';
import { bloomSectionBytes } from './bloom-filter.js';
import { SUMMARY_BYTES, type SummarizedEvent } from './segment-summary.js';

export const INDEX_MAGIC = 0x58495042; // "BPIX" read as u32le
/**
 * Versions 1 (three columns and a fence) and 2 (id records naming a frame-column ordinal) are not read: such
 * a file is stale and rebuilt from its segment.
 */
export const INDEX_VERSION = 3;
export const INDEX_HEADER_BYTES = 128;
export const INDEX_BLOCK_BYTES = 4096;
/**
 * Record size of each column (frames, ids, entities); a block holds a u16 count, 2 reserved bytes,
 * records, zero padding and a u32 CRC-32 of everything before it. An id record holds its frame's location
 * itself (a get reads one block, then the frame), not an ordinal into the frame column (version 2).
 */
export const RECORD_BYTES = [20, 36, 36] as const;
const perBlock = (record: number): number => Math.floor((INDEX_BLOCK_BYTES - 8) / record);
export const RECORDS_PER_BLOCK: readonly [number, number, number] = [perBlock(RECORD_BYTES[0]), perBlock(RECORD_BYTES[1]), perBlock(RECORD_BYTES[2])];
/** Bytes at a segment's end whose CRC-32 the header records: the cheap staleness check of an open. */
export const TAIL_BYTES = 4096;

/** What ties an index file to the one segment it was built from. */
export interface SegmentBinding {
  readonly segmentId: number;
  /** The segment's length (a sealed segment never changes length). */
  readonly committedEnd: number;
  /** The segment's 32-byte header (it holds the id and creation time). */
  readonly segmentHeader: Uint8Array;
  /** CRC-32 of the segment's last min(TAIL_BYTES, committedEnd) bytes. */
  readonly tailCrc: number;
  /** CRC-32 of every byte [0, committedEnd): checked by a full verification, not by open. */
  readonly segmentCrc: number;
}

/** One committed event as the index file keeps it (an IndexEntry has every field). */
export interface IndexedFrame extends SummarizedEvent {
  readonly entitySequence: number;
  readonly entity: string;
  readonly offset: number;
  readonly length: number;
  /** Kept for the entity's head: what its next event links to. */
  readonly contentHash: Uint8Array;
}

export interface IndexFileHeader extends SegmentBinding {
  readonly eventCount: number;
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly frameBlocks: number;
  readonly idBlocks: number;
  readonly entityBlocks: number;
  /** Blocks of the heads column (variable-length records: not a function of the entity count). */
  readonly headBlocks: number;
  /** Distinct entities in the segment: records of the heads column, keys of the entity filter. */
  readonly entityCount: number;
  readonly listsBytes: number;
  readonly fenceBytes: number;
}

/** Thrown for a header, block or fence that does not check out; callers rebuild from the segment. */
export class IndexFileDamage extends Error {
  override readonly name = 'IndexFileDamage';
}

/** Column numbers: frames, ids, entities (fixed-size records), heads (variable-size records). */
export type Column = 0 | 1 | 2 | 3;

/** Where block `b` of column `col` starts in the file. */
export function blockPosition(h: IndexFileHeader, col: Column, b: number): number {
  const before = [0, h.frameBlocks, h.frameBlocks + h.idBlocks, h.frameBlocks + h.idBlocks + h.entityBlocks][col]!;
  return INDEX_HEADER_BYTES + (before + b) * INDEX_BLOCK_BYTES;
}

/** The 8-byte entity key of the entity column: the first bytes of BLAKE3 of the UTF-8 name (stable across processes). */
export function entityKey(entity: string): Uint8Array {
  return blake3(new TextEncoder().encode(entity)).subarray(0, 8);
}

/** Blocks of column `col` for `n` events. */
export const blocksFor = (col: 0 | 1 | 2, n: number): number => Math.ceil(n / RECORDS_PER_BLOCK[col]);
/** Fence entry of a heads block: the first record's key[8] and its head ordinal (u32). */
export const HEAD_FENCE_BYTES = 12;
/** Fence: f64 per frame block, id[16] per id block, key[8] ‖ f64 per entity block, key[8] ‖ u32 per heads block, CRC. */
export const fenceBytesFor = (n: number, headBlocks: number): number => blocksFor(0, n) * 8 + blocksFor(1, n) * 16 + blocksFor(2, n) * 16 + headBlocks * HEAD_FENCE_BYTES + 4;

/** Seeds of the two filters: from the segment's tail CRC, so a rebuild writes the same bits and files differ. */
export const idBloomSeed = (h: Pick<SegmentBinding, 'tailCrc'>): number => h.tailCrc >>> 0;
export const entityBloomSeed = (h: Pick<SegmentBinding, 'tailCrc'>): number => ~h.tailCrc >>> 0;

/** Compares two byte strings of equal length, as unsigned big-endian numbers. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** What the header records besides the binding. */
export interface HeaderCounts {
  readonly n: number;
  readonly first: number;
  readonly last: number;
  readonly headBlocks: number;
  readonly entityCount: number;
  readonly listsBytes: number;
}

export function writeHeader(out: Uint8Array, b: SegmentBinding, c: HeaderCounts): void {
  if (b.segmentHeader.length !== 32) throw new RangeError('a segment header is 32 bytes');
  const dv = new DataView(out.buffer, out.byteOffset, INDEX_HEADER_BYTES);
  dv.setUint32(0, INDEX_MAGIC, true);
  dv.setUint16(4, INDEX_VERSION, true);
  dv.setUint32(8, b.segmentId, true);
  dv.setUint32(12, c.n, true);
  dv.setFloat64(16, b.committedEnd, true);
  dv.setUint32(24, b.segmentCrc, true);
  dv.setUint32(28, b.tailCrc, true);
  out.set(b.segmentHeader, 32);
  dv.setFloat64(64, c.first, true);
  dv.setFloat64(72, c.last, true);
  dv.setUint32(80, blocksFor(0, c.n), true);
  dv.setUint32(84, blocksFor(1, c.n), true);
  dv.setUint32(88, blocksFor(2, c.n), true);
  dv.setUint32(92, c.headBlocks, true);
  dv.setUint32(96, c.entityCount, true);
  dv.setUint32(100, c.listsBytes, true);
  dv.setUint32(104, fenceBytesFor(c.n, c.headBlocks), true);
  dv.setUint32(124, crc32(out.subarray(0, 124)), true);
}

/** Decodes and checks a header (magic, version, CRC, internal consistency). Binding is compared by the caller. */
export function decodeIndexHeader(bytes: Uint8Array): IndexFileHeader {
  if (bytes.length < INDEX_HEADER_BYTES) throw new IndexFileDamage('header is cut short');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, INDEX_HEADER_BYTES);
  if (dv.getUint32(0, true) !== INDEX_MAGIC) throw new IndexFileDamage('bad magic');
  if (dv.getUint16(4, true) !== INDEX_VERSION) throw new IndexFileDamage(`unknown version ${dv.getUint16(4, true)}`);
  if (dv.getUint32(124, true) !== crc32(bytes.subarray(0, 124))) throw new IndexFileDamage('header CRC mismatch');
  const h: IndexFileHeader = {
    segmentId: dv.getUint32(8, true),
    eventCount: dv.getUint32(12, true),
    committedEnd: dv.getFloat64(16, true),
    segmentCrc: dv.getUint32(24, true),
    tailCrc: dv.getUint32(28, true),
    segmentHeader: bytes.slice(32, 64),
    firstSequence: dv.getFloat64(64, true),
    lastSequence: dv.getFloat64(72, true),
    frameBlocks: dv.getUint32(80, true),
    idBlocks: dv.getUint32(84, true),
    entityBlocks: dv.getUint32(88, true),
    headBlocks: dv.getUint32(92, true),
    entityCount: dv.getUint32(96, true),
    listsBytes: dv.getUint32(100, true),
    fenceBytes: dv.getUint32(104, true),
  };
  const n = h.eventCount;
  const e = h.entityCount;
  if (h.frameBlocks !== blocksFor(0, n) || h.idBlocks !== blocksFor(1, n) || h.entityBlocks !== blocksFor(2, n) || h.fenceBytes !== fenceBytesFor(n, h.headBlocks)) throw new IndexFileDamage('block counts do not match the event count');
  if (e > n || (n > 0) !== (e > 0) || h.headBlocks > e || (e > 0) !== (h.headBlocks > 0) || h.listsBytes < 12) throw new IndexFileDamage('entity or heads counts do not match the event count');
  if (!Number.isSafeInteger(h.committedEnd) || h.committedEnd < 32) throw new IndexFileDamage('bad segment length');
  return h;
}

/** Where the lists section starts (after the last heads block). */
export const listsPosition = (h: IndexFileHeader): number => INDEX_HEADER_BYTES + (h.frameBlocks + h.idBlocks + h.entityBlocks + h.headBlocks) * INDEX_BLOCK_BYTES;

/** Bytes of the resident tail an open reads in one go: fence, id filter, entity filter, summary. */
export const residentTailBytes = (h: IndexFileHeader): number => h.fenceBytes + bloomSectionBytes(h.eventCount) + bloomSectionBytes(h.entityCount) + SUMMARY_BYTES;

/** Total file length the header implies. */
export function indexFileLength(h: IndexFileHeader): number {
  return listsPosition(h) + h.listsBytes + residentTailBytes(h);
}

/** The fence: first key of every block of every column (resident). */
export interface IndexFence {
  readonly firstSequence: Float64Array;
  /** 16 bytes per block. */
  readonly firstId: Uint8Array;
  /** 16 bytes per block: entity key (8) then entitySequence f64le. */
  readonly firstEntity: Uint8Array;
  /** 8 bytes per heads block: the key of its first head. */
  readonly firstHeadKey: Uint8Array;
  /** Ordinal of each heads block's first head, then the entity count (one more entry than blocks). */
  readonly firstHead: Uint32Array;
}

export function decodeFence(h: IndexFileHeader, bytes: Uint8Array): IndexFence {
  if (bytes.length !== h.fenceBytes) throw new IndexFileDamage('fence is cut short');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (dv.getUint32(bytes.length - 4, true) !== crc32(bytes.subarray(0, bytes.length - 4))) throw new IndexFileDamage('fence CRC mismatch');
  const firstSequence = new Float64Array(h.frameBlocks);
  for (let b = 0; b < h.frameBlocks; b++) firstSequence[b] = dv.getFloat64(b * 8, true);
  const idAt = h.frameBlocks * 8;
  const entityAt = idAt + h.idBlocks * 16;
  const headAt = entityAt + h.entityBlocks * 16;
  const firstHeadKey = new Uint8Array(h.headBlocks * 8);
  const firstHead = new Uint32Array(h.headBlocks + 1);
  for (let b = 0; b < h.headBlocks; b++) {
    firstHeadKey.set(bytes.subarray(headAt + b * HEAD_FENCE_BYTES, headAt + b * HEAD_FENCE_BYTES + 8), b * 8);
    firstHead[b] = dv.getUint32(headAt + b * HEAD_FENCE_BYTES + 8, true);
    // Each block holds at least one head, and the first starts at ordinal 0.
    if (b === 0 ? firstHead[b] !== 0 : firstHead[b]! <= firstHead[b - 1]!) throw new IndexFileDamage('heads fence is out of order');
  }
  firstHead[h.headBlocks] = h.entityCount;
  if (h.headBlocks > 0 && firstHead[h.headBlocks - 1]! >= h.entityCount) throw new IndexFileDamage('heads fence is out of order');
  return { firstSequence, firstId: bytes.slice(idAt, entityAt), firstEntity: bytes.slice(entityAt, headAt), firstHeadKey, firstHead };
}

/** Checks a fixed-record block's CRC and count; returns its record count. */
export function checkBlock(block: Uint8Array, expectedCount: number): number {
  if (block.length !== INDEX_BLOCK_BYTES) throw new IndexFileDamage('block is cut short');
  const dv = new DataView(block.buffer, block.byteOffset, block.length);
  if (dv.getUint32(INDEX_BLOCK_BYTES - 4, true) !== crc32(block.subarray(0, INDEX_BLOCK_BYTES - 4))) throw new IndexFileDamage('block CRC mismatch');
  const count = dv.getUint16(0, true);
  if (count !== expectedCount) throw new IndexFileDamage('block record count is wrong');
  return count;
}
