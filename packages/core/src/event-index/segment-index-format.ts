// Byte layout of a sealed segment's index file (`NNNNNN.bpi`, FORMAT.md § Segment index files): a
// header bound to its segment, three sorted columns in fixed-size CRC-checked blocks, and a fence.
// Pure encode/decode: nothing here touches disk, and nothing decoded is trusted beyond its checksums.

import { crc32 } from 'node:zlib';
import { blake3 } from '../crypto/blake3.js';

export const INDEX_MAGIC = 0x58495042; // "BPIX" read as u32le
export const INDEX_VERSION = 1;
export const INDEX_HEADER_BYTES = 128;
export const INDEX_BLOCK_BYTES = 4096;
/**
 * Record size of each column (frames, ids, entities); a block holds a u16 count, 2 reserved bytes,
 * records, zero padding and a u32 CRC-32 of everything before it.
 */
export const RECORD_BYTES = [20, 20, 36] as const;
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

/** One committed event as the index file keeps it. */
export interface IndexedFrame {
  readonly idBytes: Uint8Array;
  readonly globalSequence: number;
  readonly entitySequence: number;
  readonly entity: string;
  readonly offset: number;
  readonly length: number;
}

export interface IndexFileHeader extends SegmentBinding {
  readonly eventCount: number;
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly frameBlocks: number;
  readonly idBlocks: number;
  readonly entityBlocks: number;
  readonly fenceBytes: number;
}

/** Thrown for a header, block or fence that does not check out; callers rebuild from the segment. */
export class IndexFileDamage extends Error {
  override readonly name = 'IndexFileDamage';
}

/** Where block `b` of column `col` starts in the file. */
export function blockPosition(h: IndexFileHeader, col: 0 | 1 | 2, b: number): number {
  const first = col === 0 ? 0 : col === 1 ? h.frameBlocks : h.frameBlocks + h.idBlocks;
  return INDEX_HEADER_BYTES + (first + b) * INDEX_BLOCK_BYTES;
}

/** The 8-byte entity key of the entity column: the first bytes of BLAKE3 of the UTF-8 name (stable across processes). */
export function entityKey(entity: string): Uint8Array {
  return blake3(new TextEncoder().encode(entity)).subarray(0, 8);
}

/** Blocks of column `col` for `n` events. */
export const blocksFor = (col: 0 | 1 | 2, n: number): number => Math.ceil(n / RECORDS_PER_BLOCK[col]);
const fenceBytesFor = (n: number): number => blocksFor(0, n) * 8 + blocksFor(1, n) * 16 + blocksFor(2, n) * 16 + 4;

/** Compares two byte strings of equal length, as unsigned big-endian numbers. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * Encodes the index file of one segment. `frames`: every committed event of it, in ascending global
 * sequence (as the segment holds them).
 */
export function encodeIndexFile(binding: SegmentBinding, frames: readonly IndexedFrame[]): Uint8Array {
  const n = frames.length;
  const byId = frames.map((_, i) => i).sort((a, b) => compareBytes(frames[a]!.idBytes, frames[b]!.idBytes));
  const keys = new Map<string, Uint8Array>();
  const keyOf = (e: string): Uint8Array => {
    let k = keys.get(e);
    if (k === undefined) keys.set(e, (k = entityKey(e)));
    return k;
  };
  const byEntity = frames.map((_, i) => i).sort((a, b) => compareBytes(keyOf(frames[a]!.entity), keyOf(frames[b]!.entity)) || frames[a]!.entitySequence - frames[b]!.entitySequence);
  const nbs = [blocksFor(0, n), blocksFor(1, n), blocksFor(2, n)] as const;
  const fenceBytes = fenceBytesFor(n);
  const fenceAt = INDEX_HEADER_BYTES + (nbs[0] + nbs[1] + nbs[2]) * INDEX_BLOCK_BYTES;
  const out = new Uint8Array(fenceAt + fenceBytes);
  const dv = new DataView(out.buffer);
  const column = (col: 0 | 1 | 2, order: readonly number[] | undefined, put: (at: number, f: IndexedFrame, ordinal: number) => void, fence: (b: number, f: IndexedFrame) => void): void => {
    const per = RECORDS_PER_BLOCK[col];
    const first = col === 0 ? 0 : col === 1 ? nbs[0] : nbs[0] + nbs[1];
    for (let b = 0; b < nbs[col]; b++) {
      const start = INDEX_HEADER_BYTES + (first + b) * INDEX_BLOCK_BYTES;
      const count = Math.min(per, n - b * per);
      dv.setUint16(start, count, true);
      for (let r = 0; r < count; r++) {
        const ordinal = order === undefined ? b * per + r : order[b * per + r]!;
        const f = frames[ordinal]!;
        if (r === 0) fence(b, f);
        put(start + 4 + r * RECORD_BYTES[col], f, ordinal);
      }
      dv.setUint32(start + INDEX_BLOCK_BYTES - 4, crc32(out.subarray(start, start + INDEX_BLOCK_BYTES - 4)), true);
    }
  };
  const idFence = fenceAt + nbs[0] * 8;
  const entityFence = idFence + nbs[1] * 16;
  column(
    0,
    undefined,
    (at, f) => {
      dv.setFloat64(at, f.globalSequence, true);
      dv.setFloat64(at + 8, f.offset, true);
      dv.setUint32(at + 16, f.length, true);
    },
    (b, f) => dv.setFloat64(fenceAt + b * 8, f.globalSequence, true),
  );
  column(
    1,
    byId,
    (at, f, ordinal) => {
      out.set(f.idBytes, at);
      dv.setUint32(at + 16, ordinal, true);
    },
    (b, f) => out.set(f.idBytes, idFence + b * 16),
  );
  column(
    2,
    byEntity,
    (at, f) => {
      out.set(keyOf(f.entity), at);
      dv.setFloat64(at + 8, f.entitySequence, true);
      dv.setFloat64(at + 16, f.globalSequence, true);
      dv.setFloat64(at + 24, f.offset, true);
      dv.setUint32(at + 32, f.length, true);
    },
    (b, f) => {
      out.set(keyOf(f.entity), entityFence + b * 16);
      dv.setFloat64(entityFence + b * 16 + 8, f.entitySequence, true);
    },
  );
  dv.setUint32(fenceAt + fenceBytes - 4, crc32(out.subarray(fenceAt, fenceAt + fenceBytes - 4)), true);
  writeHeader(dv, out, binding, { n, nbs, fenceBytes, first: frames[0]?.globalSequence ?? 0, last: frames[n - 1]?.globalSequence ?? 0 });
  return out;
}

function writeHeader(dv: DataView, out: Uint8Array, b: SegmentBinding, c: { n: number; nbs: readonly [number, number, number]; fenceBytes: number; first: number; last: number }): void {
  if (b.segmentHeader.length !== 32) throw new RangeError('a segment header is 32 bytes');
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
  dv.setUint32(80, c.nbs[0], true);
  dv.setUint32(84, c.nbs[1], true);
  dv.setUint32(88, c.nbs[2], true);
  dv.setUint32(92, c.fenceBytes, true);
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
    fenceBytes: dv.getUint32(92, true),
  };
  const n = h.eventCount;
  if (h.frameBlocks !== blocksFor(0, n) || h.idBlocks !== blocksFor(1, n) || h.entityBlocks !== blocksFor(2, n) || h.fenceBytes !== fenceBytesFor(n)) throw new IndexFileDamage('block counts do not match the event count');
  if (!Number.isSafeInteger(h.committedEnd) || h.committedEnd < 32) throw new IndexFileDamage('bad segment length');
  return h;
}

/** Total file length the header implies. */
export function indexFileLength(h: IndexFileHeader): number {
  return INDEX_HEADER_BYTES + (h.frameBlocks + h.idBlocks + h.entityBlocks) * INDEX_BLOCK_BYTES + h.fenceBytes;
}

/** The resident part of an index file: first key of every block of every column. */
export interface IndexFence {
  readonly firstSequence: Float64Array;
  /** 16 bytes per block. */
  readonly firstId: Uint8Array;
  /** 16 bytes per block: entity key (8) then entitySequence f64le. */
  readonly firstEntity: Uint8Array;
}

export function decodeFence(h: IndexFileHeader, bytes: Uint8Array): IndexFence {
  if (bytes.length !== h.fenceBytes) throw new IndexFileDamage('fence is cut short');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (dv.getUint32(bytes.length - 4, true) !== crc32(bytes.subarray(0, bytes.length - 4))) throw new IndexFileDamage('fence CRC mismatch');
  const firstSequence = new Float64Array(h.frameBlocks);
  for (let b = 0; b < h.frameBlocks; b++) firstSequence[b] = dv.getFloat64(b * 8, true);
  const idAt = h.frameBlocks * 8;
  const entityAt = idAt + h.idBlocks * 16;
  return { firstSequence, firstId: bytes.slice(idAt, entityAt), firstEntity: bytes.slice(entityAt, entityAt + h.entityBlocks * 16) };
}

/** Checks a block's CRC and count; returns its record count. */
export function checkBlock(block: Uint8Array, expectedCount: number): number {
  if (block.length !== INDEX_BLOCK_BYTES) throw new IndexFileDamage('block is cut short');
  const dv = new DataView(block.buffer, block.byteOffset, block.length);
  if (dv.getUint32(INDEX_BLOCK_BYTES - 4, true) !== crc32(block.subarray(0, INDEX_BLOCK_BYTES - 4))) throw new IndexFileDamage('block CRC mismatch');
  const count = dv.getUint16(0, true);
  if (count !== expectedCount) throw new IndexFileDamage('block record count is wrong');
  return count;
}
