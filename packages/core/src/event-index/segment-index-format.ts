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

/** Blocks written between two yields to the event loop: encoding never stalls appends for long. */
const BLOCKS_PER_TURN = 64;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Encodes the index file of one segment. `frames`: every committed event of it, in ascending global
 * sequence (as the segment holds them). Yields to the event loop every few blocks.
 */
export async function encodeIndexFile(binding: SegmentBinding, frames: readonly IndexedFrame[]): Promise<Uint8Array> {
  const n = frames.length;
  const ids = new Uint8Array(n * 16);
  for (let i = 0; i < n; i++) ids.set(frames[i]!.idBytes, i * 16);
  const byId = idOrder(ids, n);
  await nextTurn();
  const { order: byEntity, rank, keys } = entityOrder(frames);
  await nextTurn();
  const nbs = [blocksFor(0, n), blocksFor(1, n), blocksFor(2, n)] as const;
  const fenceBytes = fenceBytesFor(n);
  const fenceAt = INDEX_HEADER_BYTES + (nbs[0] + nbs[1] + nbs[2]) * INDEX_BLOCK_BYTES;
  const out = new Uint8Array(fenceAt + fenceBytes);
  const dv = new DataView(out.buffer);
  const copy = (from: Uint8Array, at: number, to: number, length: number): void => {
    for (let k = 0; k < length; k++) out[to + k] = from[at + k]!;
  };
  const column = async (col: 0 | 1 | 2, order: Uint32Array | undefined, put: (at: number, ordinal: number) => void, fence: (b: number, ordinal: number) => void): Promise<void> => {
    const per = RECORDS_PER_BLOCK[col];
    const first = col === 0 ? 0 : col === 1 ? nbs[0] : nbs[0] + nbs[1];
    for (let b = 0; b < nbs[col]; b++) {
      if (b % BLOCKS_PER_TURN === BLOCKS_PER_TURN - 1) await nextTurn();
      const start = INDEX_HEADER_BYTES + (first + b) * INDEX_BLOCK_BYTES;
      const count = Math.min(per, n - b * per);
      dv.setUint16(start, count, true);
      for (let r = 0; r < count; r++) {
        const ordinal = order === undefined ? b * per + r : order[b * per + r]!;
        if (r === 0) fence(b, ordinal);
        put(start + 4 + r * RECORD_BYTES[col], ordinal);
      }
      dv.setUint32(start + INDEX_BLOCK_BYTES - 4, crc32(out.subarray(start, start + INDEX_BLOCK_BYTES - 4)), true);
    }
  };
  const idFence = fenceAt + nbs[0] * 8;
  const entityFence = idFence + nbs[1] * 16;
  await column(
    0,
    undefined,
    (at, o) => {
      const f = frames[o]!;
      dv.setFloat64(at, f.globalSequence, true);
      dv.setFloat64(at + 8, f.offset, true);
      dv.setUint32(at + 16, f.length, true);
    },
    (b, o) => dv.setFloat64(fenceAt + b * 8, frames[o]!.globalSequence, true),
  );
  await column(
    1,
    byId,
    (at, o) => {
      copy(ids, o * 16, at, 16);
      dv.setUint32(at + 16, o, true);
    },
    (b, o) => copy(ids, o * 16, idFence + b * 16, 16),
  );
  await column(
    2,
    byEntity,
    (at, o) => {
      const f = frames[o]!;
      copy(keys, rank[o]! * 8, at, 8);
      dv.setFloat64(at + 8, f.entitySequence, true);
      dv.setFloat64(at + 16, f.globalSequence, true);
      dv.setFloat64(at + 24, f.offset, true);
      dv.setUint32(at + 32, f.length, true);
    },
    (b, o) => {
      copy(keys, rank[o]! * 8, entityFence + b * 16, 8);
      dv.setFloat64(entityFence + b * 16 + 8, frames[o]!.entitySequence, true);
    },
  );
  dv.setUint32(fenceAt + fenceBytes - 4, crc32(out.subarray(fenceAt, fenceAt + fenceBytes - 4)), true);
  writeHeader(dv, out, binding, { n, nbs, fenceBytes, first: frames[0]?.globalSequence ?? 0, last: frames[n - 1]?.globalSequence ?? 0 });
  return out;
}

/** Ordinals in ascending id order (bytes compared unsigned): an LSD radix sort over `ids` (16 bytes each), one stable pass per byte. */
function idOrder(ids: Uint8Array, n: number): Uint32Array {
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let next = new Uint32Array(n);
  const count = new Uint32Array(257);
  for (let byte = 15; byte >= 0; byte--) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[ids[i * 16 + byte]! + 1]!++;
    for (let v = 0; v < 256; v++) count[v + 1]! += count[v]!;
    for (let i = 0; i < n; i++) {
      const o = order[i]!;
      next[count[ids[o * 16 + byte]!]!++] = o;
    }
    [order, next] = [next, order];
  }
  return order;
}

/**
 * Ordinals in (entity key, entity sequence) order, each frame's entity rank, and the keys by rank (8 bytes
 * each). Frames come in global-sequence order, in which each entity's sequences ascend, so a stable
 * bucketing by rank (distinct entities sorted once, by key then name) is the whole sort.
 */
function entityOrder(frames: readonly IndexedFrame[]): { order: Uint32Array; rank: Uint32Array; keys: Uint8Array } {
  const rankOf = new Map<string, number>();
  for (const f of frames) rankOf.set(f.entity, 0);
  const named = [...rankOf.keys()].map((name) => ({ name, key: entityKey(name) }));
  named.sort((a, b) => compareBytes(a.key, b.key) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const keys = new Uint8Array(named.length * 8);
  named.forEach((e, r) => {
    rankOf.set(e.name, r);
    keys.set(e.key, r * 8);
  });
  const start = new Uint32Array(named.length + 1);
  const rank = new Uint32Array(frames.length);
  for (let i = 0; i < frames.length; i++) start[(rank[i] = rankOf.get(frames[i]!.entity)!) + 1]!++;
  for (let r = 0; r < named.length; r++) start[r + 1]! += start[r]!;
  const order = new Uint32Array(frames.length);
  for (let i = 0; i < frames.length; i++) order[start[rank[i]!]!++] = i;
  return { order, rank, keys };
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
