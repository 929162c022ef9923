// The heads column of a segment index file (FORMAT.md § Segment index files, Heads): per entity of the
// segment, its last event's location, sequences and content hash, and its full name, so an open rebuilds
// every entity head exactly without reading events. Variable-length records packed in CRC-checked blocks.

import { crc32 } from 'node:zlib';
import { blake3ShortInto, SHORT_MAX } from '../crypto/blake3-short.js';
import { entityKey, INDEX_BLOCK_BYTES, IndexFileDamage } from './segment-index-format.js';

/** An entity's last event in one segment, as the heads column keeps it. */
export interface EntityHead {
  readonly entity: string;
  readonly entitySequence: number;
  readonly globalSequence: number;
  readonly offset: number;
  readonly length: number;
  /** The last event's content hash: what the next event of the entity links to (check it against the frame). */
  readonly contentHash: Uint8Array;
}

/** Fixed part of a head record: key[8], f64 entitySequence, f64 globalSequence, f64 offset, u32 length, contentHash[32], u16 name length. */
export const HEAD_FIXED_BYTES = 70;
/** Payload of a block: after u16 count and 2 reserved bytes, before the u32 CRC-32. */
const BLOCK_PAYLOAD = INDEX_BLOCK_BYTES - 8;
/**
 * Longest entity name a record takes: one record fills a block at most. This library's coordinates are at
 * most 1,024 UTF-8 bytes; a longer name (a foreign log) makes the file unwritable, never wrong.
 */
export const MAX_HEAD_NAME_BYTES = BLOCK_PAYLOAD - HEAD_FIXED_BYTES;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** One head and its key, ready to pack. */
export interface KeyedHead {
  readonly key: Uint8Array;
  readonly name: Uint8Array;
  readonly head: Omit<EntityHead, 'entity'>;
}

/** Packs heads (in key, then name order) into blocks; returns the blocks and each block's first ordinal. */
export function packHeads(heads: readonly KeyedHead[]): { blocks: Uint8Array[]; firstOrdinal: number[] } {
  const blocks: Uint8Array[] = [];
  const firstOrdinal: number[] = [];
  let block: Uint8Array | undefined;
  let dv: DataView | undefined;
  let used = 0;
  let count = 0;
  const finish = () => {
    if (block === undefined) return;
    dv!.setUint16(0, count, true);
    dv!.setUint32(INDEX_BLOCK_BYTES - 4, crc32(block.subarray(0, INDEX_BLOCK_BYTES - 4)), true);
    blocks.push(block);
  };
  heads.forEach((h, ordinal) => {
    if (h.name.length > MAX_HEAD_NAME_BYTES) throw new RangeError(`an entity name is longer than ${MAX_HEAD_NAME_BYTES} bytes`);
    const size = HEAD_FIXED_BYTES + h.name.length;
    if (block === undefined || used + size > BLOCK_PAYLOAD) {
      finish();
      block = new Uint8Array(INDEX_BLOCK_BYTES);
      dv = new DataView(block.buffer);
      used = 0;
      count = 0;
      firstOrdinal.push(ordinal);
    }
    const at = 4 + used;
    block.set(h.key, at);
    dv!.setFloat64(at + 8, h.head.entitySequence, true);
    dv!.setFloat64(at + 16, h.head.globalSequence, true);
    dv!.setFloat64(at + 24, h.head.offset, true);
    dv!.setUint32(at + 32, h.head.length, true);
    block.set(h.head.contentHash, at + 36);
    dv!.setUint16(at + 68, h.name.length, true);
    block.set(h.name, at + HEAD_FIXED_BYTES);
    used += size;
    count++;
  });
  finish();
  return { blocks, firstOrdinal };
}

/** The keyed head of entity `name` (UTF-8 encoded once here). */
export const keyedHead = (key: Uint8Array, name: string, head: Omit<EntityHead, 'entity'>): KeyedHead => ({ key, name: utf8.encode(name), head });

/** A decoded record with its key. */
export interface HeadRecord extends EntityHead {
  readonly key: Uint8Array;
}

/**
 * Decodes a heads block holding `expected` records whose first key is `firstKey` (from the fence). Throws
 * IndexFileDamage on a CRC, count, bound, order or UTF-8 error: a damaged block is never an answer.
 * `wanted`: only the records of entities it accepts are returned (every record is still checked); the others
 * cost no allocation but their name (an open asks every file for the heads of the entities it has not seen).
 * `checkKeys`: each returned record's key must be entityKey of its name (what heads() relies on).
 */
export function decodeHeadsBlock(block: Uint8Array, expected: number, firstKey: Uint8Array, wanted?: (entity: string) => boolean, checkKeys = false): HeadRecord[] {
  const out: HeadRecord[] = [];
  visitHeadsBlock(block, expected, firstKey, wanted, checkKeys, (entity, dv, at) => {
    out.push({
      key: block.subarray(at, at + 8),
      entity,
      entitySequence: dv.getFloat64(at + 8, true),
      globalSequence: dv.getFloat64(at + 16, true),
      offset: dv.getFloat64(at + 24, true),
      length: dv.getUint32(at + 32, true),
      contentHash: block.slice(at + 36, at + 68),
    });
  });
  return out;
}

/** Where a head record's fields lie, from its start: what visitHeadsBlock's callers read. */
export const HEAD_AT = { entitySequence: 8, globalSequence: 16, offset: 24, length: 32, contentHash: 36 } as const;

/**
 * decodeHeadsBlock's checks, calling `visit` with each wanted record's name and position (its fields at HEAD_AT,
 * little-endian) instead of making an object of it.
 */
export function visitHeadsBlock(block: Uint8Array, expected: number, firstKey: Uint8Array, wanted: ((entity: string) => boolean) | undefined, checkKeys: boolean, visit: (entity: string, dv: DataView, at: number) => void): void {
  if (block.length !== INDEX_BLOCK_BYTES) throw new IndexFileDamage('heads block is cut short');
  const dv = new DataView(block.buffer, block.byteOffset, block.length);
  if (dv.getUint32(INDEX_BLOCK_BYTES - 4, true) !== crc32(block.subarray(0, INDEX_BLOCK_BYTES - 4))) throw new IndexFileDamage('block CRC mismatch');
  if (dv.getUint16(0, true) !== expected || expected === 0) throw new IndexFileDamage('block record count is wrong');
  // Names are read without a view per record (an open decodes every head of every file): ASCII as latin1.
  const text = Buffer.from(block.buffer, block.byteOffset, block.length);
  let at = 4;
  let previousKey = -1;
  for (let r = 0; r < expected; r++) {
    if (at + HEAD_FIXED_BYTES > INDEX_BLOCK_BYTES - 4) throw new IndexFileDamage('heads record runs past its block');
    const nameLength = dv.getUint16(at + 68, true);
    const nameAt = at + HEAD_FIXED_BYTES;
    if (nameLength > MAX_HEAD_NAME_BYTES || nameAt + nameLength > INDEX_BLOCK_BYTES - 4) throw new IndexFileDamage('heads record runs past its block');
    let ascii = true;
    for (let i = nameAt; i < nameAt + nameLength; i++) {
      if (block[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    let entity: string;
    if (ascii) entity = text.toString('latin1', nameAt, nameAt + nameLength);
    else {
      try {
        entity = strictUtf8.decode(block.subarray(nameAt, nameAt + nameLength));
      } catch {
        throw new IndexFileDamage('an entity name is not UTF-8');
      }
    }
    const inOrder = r === 0 ? sameKey(block, at, firstKey) : keyAtMost(block, previousKey, at);
    if (!inOrder) throw new IndexFileDamage('heads are out of order');
    previousKey = at;
    if (wanted === undefined || wanted(entity)) {
      // A record under another entity's key would put that head where nobody finds it (and out of order).
      if (checkKeys && !keyNames(block, dv, at, nameAt, nameLength, entity)) throw new IndexFileDamage(`the head of ${JSON.stringify(entity)} is under another key`);
      visit(entity, dv, at);
    }
    at += HEAD_FIXED_BYTES + nameLength;
  }
}

const keyHash = new Uint8Array(32);

/** Whether the key at `at` is entityKey of the name at `nameAt` (hashed where it lies when it is short). */
function keyNames(block: Uint8Array, dv: DataView, at: number, nameAt: number, nameLength: number, entity: string): boolean {
  if (nameLength > SHORT_MAX) return sameKey(block, at, entityKey(entity));
  blake3ShortInto(dv, nameAt, nameLength, keyHash, 0);
  return sameKey(block, at, keyHash);
}

/** Whether the 8-byte key at `at` in `block` equals `key`. */
function sameKey(block: Uint8Array, at: number, key: Uint8Array): boolean {
  for (let i = 0; i < 8; i++) if (block[at + i] !== key[i]) return false;
  return true;
}

/** Whether the 8-byte key at `a` is at most the one at `b` (unsigned, byte by byte). */
function keyAtMost(block: Uint8Array, a: number, b: number): boolean {
  for (let i = 0; i < 8; i++) if (block[a + i] !== block[b + i]) return block[a + i]! < block[b + i]!;
  return true;
}
