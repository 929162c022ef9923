// Encodes a sealed segment's index file (version 2, FORMAT.md § Segment index files) from its committed
// events. Deterministic: the same events and binding always give the same bytes (a rebuild from the
// segment equals the file written at seal; golden vectors pin them). Yields to the event loop as it goes.

import { crc32 } from 'node:zlib';
import { BloomFilter, bloomSectionBytes, encodeBloom } from './bloom-filter.js';
import {
  blocksFor,
  compareBytes,
  entityBloomSeed,
  entityKey,
  fenceBytesFor,
  HEAD_FENCE_BYTES,
  idBloomSeed,
  INDEX_BLOCK_BYTES,
  INDEX_HEADER_BYTES,
  RECORD_BYTES,
  RECORDS_PER_BLOCK,
  writeHeader,
  type IndexedFrame,
  type SegmentBinding,
} from './segment-index-format.js';
import { RecordEntry } from './entry-records.js';
import { keyedHead, packHeads } from './segment-index-heads.js';
import { encodeLists, encodeSummary, listsBytes, summarize, SUMMARY_BYTES } from './segment-summary.js';

/** Blocks written between two yields to the event loop: encoding never stalls appends for long. */
const BLOCKS_PER_TURN = 64;
/** Ids added to the filter between two yields (about as long as BLOCKS_PER_TURN blocks take). */
const KEYS_PER_TURN = 16_384;
/** Frames read between two yields by the passes over every frame (field reads, entity ranks). */
const FRAMES_PER_TURN = 65_536;
/** Numbers per frame in encodeIndexFile's rows. */
const FIELDS = 4;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Encodes the index file of one segment. `frames`: every committed event of it, in ascending global
 * sequence (as the segment holds them).
 */
export async function encodeIndexFile(binding: SegmentBinding, frames: readonly IndexedFrame[]): Promise<Uint8Array> {
  const n = frames.length;
  // The fields the columns need, read once in frame order: the id and entity columns visit frames in sorted order,
  // and reading each from its frame object there cost a cache miss or more per field (600k frames: ~650 ms). A frame's
  // four numbers sit side by side in one row: an entity's events are ~entities apart, and four arrays cost four misses.
  const ids = new Uint8Array(n * 16);
  const fields = new Float64Array(n * FIELDS);
  for (let i = 0; i < n; i += FRAMES_PER_TURN) {
    if (i > 0) await nextTurn();
    readFrames(frames, i, Math.min(n, i + FRAMES_PER_TURN), ids, fields);
  }
  const byId = await idOrder(ids, n);
  const { order: byEntity, rank, keys, names, last } = await entityOrder(frames);
  await nextTurn();
  const entities = names.length;
  const heads = packHeads(names.map((name, r) => {
    const f = frames[last[r]!]!;
    return keyedHead(keys.subarray(r * 8, r * 8 + 8), name, { entitySequence: f.entitySequence, globalSequence: f.globalSequence, offset: f.offset, length: f.length, contentHash: f.contentHash });
  }));
  await nextTurn();
  const { summary, lists } = summarize(frames);
  await nextTurn();
  const nbs = [blocksFor(0, n), blocksFor(1, n), blocksFor(2, n)] as const;
  const nh = heads.blocks.length;
  const listsAt = INDEX_HEADER_BYTES + (nbs[0] + nbs[1] + nbs[2] + nh) * INDEX_BLOCK_BYTES;
  const fenceAt = listsAt + listsBytes(lists);
  const fenceBytes = fenceBytesFor(n, nh);
  const idBloomAt = fenceAt + fenceBytes;
  const entityBloomAt = idBloomAt + bloomSectionBytes(n);
  const summaryAt = entityBloomAt + bloomSectionBytes(entities);
  const out = new Uint8Array(summaryAt + SUMMARY_BYTES);
  const dv = new DataView(out.buffer);
  const copy = (from: Uint8Array, at: number, to: number, length: number): void => {
    for (let k = 0; k < length; k++) out[to + k] = from[at + k]!;
  };
  const idFence = fenceAt + nbs[0] * 8;
  const entityFence = idFence + nbs[1] * 16;
  const headFence = entityFence + nbs[2] * 16;
  const columns: ColumnOut = { out, dv, n, fields, ids, keys, rank, fenceAt, idFence, entityFence };
  let firstBlock = 0;
  for (const col of [0, 1, 2] as const) {
    const order = col === 0 ? undefined : col === 1 ? byId : byEntity;
    for (let b = 0; b < nbs[col]; b += BLOCKS_PER_TURN) {
      if (b > 0) await nextTurn();
      writeBlocks(columns, col, order, firstBlock, b, Math.min(nbs[col], b + BLOCKS_PER_TURN));
    }
    firstBlock += nbs[col];
  }
  heads.blocks.forEach((block, b) => {
    out.set(block, INDEX_HEADER_BYTES + (nbs[0] + nbs[1] + nbs[2] + b) * INDEX_BLOCK_BYTES);
    const ordinal = heads.firstOrdinal[b]!;
    copy(keys, ordinal * 8, headFence + b * HEAD_FENCE_BYTES, 8);
    dv.setUint32(headFence + b * HEAD_FENCE_BYTES + 8, ordinal, true);
  });
  encodeLists(lists, out, listsAt, crc32);
  dv.setUint32(fenceAt + fenceBytes - 4, crc32(out.subarray(fenceAt, fenceAt + fenceBytes - 4)), true);
  await nextTurn();
  const idBloom = BloomFilter.sizedFor(n, idBloomSeed(binding));
  for (let i = 0; i < n; i++) {
    if (i % KEYS_PER_TURN === KEYS_PER_TURN - 1) await nextTurn();
    idBloom.addRange(ids, i * 16, i * 16 + 16);
  }
  encodeBloom(idBloom, out, idBloomAt, crc32);
  const entityBloom = BloomFilter.sizedFor(entities, entityBloomSeed(binding));
  for (let r = 0; r < entities; r++) entityBloom.add(keys.subarray(r * 8, r * 8 + 8));
  encodeBloom(entityBloom, out, entityBloomAt, crc32);
  encodeSummary(summary, out, summaryAt, crc32);
  writeHeader(out, binding, { n, first: frames[0]?.globalSequence ?? 0, last: frames[n - 1]?.globalSequence ?? 0, headBlocks: nh, entityCount: entities, listsBytes: fenceAt - listsAt });
  return out;
}

/** Reads frames [from, to)'s ids and numbers into `ids` and `fields` (rows of FIELDS), in frame order. */
function readFrames(frames: readonly IndexedFrame[], from: number, to: number, ids: Uint8Array, fields: Float64Array): void {
  for (let i = from; i < to; i++) {
    const f = frames[i]!;
    // An entry over a record (a seal's frames) copies its id from the record: `idBytes` makes a view per call.
    if (f instanceof RecordEntry) f.copyId(ids, i * 16);
    else ids.set(f.idBytes, i * 16);
    const q = i * FIELDS;
    fields[q] = f.globalSequence;
    fields[q + 1] = f.entitySequence;
    fields[q + 2] = f.offset;
    fields[q + 3] = f.length;
  }
}

/** What the column blocks are written from and into. */
interface ColumnOut {
  readonly out: Uint8Array;
  readonly dv: DataView;
  readonly n: number;
  readonly fields: Float64Array;
  readonly ids: Uint8Array;
  readonly keys: Uint8Array;
  readonly rank: Uint32Array;
  readonly fenceAt: number;
  readonly idFence: number;
  readonly entityFence: number;
}

/**
 * Writes blocks [b0, b1) of column `col` (whose first block is the file's block `firstBlock`), records in `order`
 * (frame order when undefined), with their fence entries. A plain function per slice, each column's layout inline:
 * one loop calling a put closure per record (three closures at one call site) cost about twice as much.
 */
function writeBlocks(c: ColumnOut, col: 0 | 1 | 2, order: Uint32Array | undefined, firstBlock: number, b0: number, b1: number): void {
  const { out, dv, n, fields, ids, keys, rank } = c;
  const per = RECORDS_PER_BLOCK[col];
  const size = RECORD_BYTES[col];
  for (let b = b0; b < b1; b++) {
    const start = INDEX_HEADER_BYTES + (firstBlock + b) * INDEX_BLOCK_BYTES;
    const count = Math.min(per, n - b * per);
    dv.setUint16(start, count, true);
    if (col === 0) {
      dv.setFloat64(c.fenceAt + b * 8, fields[b * per * FIELDS]!, true);
      for (let r = 0, at = start + 4; r < count; r++, at += size) {
        const q = (b * per + r) * FIELDS;
        dv.setFloat64(at, fields[q]!, true);
        dv.setFloat64(at + 8, fields[q + 2]!, true);
        dv.setUint32(at + 16, fields[q + 3]!, true);
      }
    } else if (col === 1) {
      for (let k = 0, from = order![b * per]! * 16; k < 16; k++) out[c.idFence + b * 16 + k] = ids[from + k]!;
      for (let r = 0, at = start + 4; r < count; r++, at += size) {
        const o = order![b * per + r]!;
        for (let k = 0, from = o * 16; k < 16; k++) out[at + k] = ids[from + k]!;
        const q = o * FIELDS;
        dv.setFloat64(at + 16, fields[q]!, true);
        dv.setFloat64(at + 24, fields[q + 2]!, true);
        dv.setUint32(at + 32, fields[q + 3]!, true);
      }
    } else {
      const first = order![b * per]!;
      for (let k = 0, from = rank[first]! * 8; k < 8; k++) out[c.entityFence + b * 16 + k] = keys[from + k]!;
      dv.setFloat64(c.entityFence + b * 16 + 8, fields[first * FIELDS + 1]!, true);
      for (let r = 0, at = start + 4; r < count; r++, at += size) {
        const o = order![b * per + r]!;
        for (let k = 0, from = rank[o]! * 8; k < 8; k++) out[at + k] = keys[from + k]!;
        const q = o * FIELDS;
        dv.setFloat64(at + 8, fields[q + 1]!, true);
        dv.setFloat64(at + 16, fields[q]!, true);
        dv.setFloat64(at + 24, fields[q + 2]!, true);
        dv.setUint32(at + 32, fields[q + 3]!, true);
      }
    }
    dv.setUint32(start + INDEX_BLOCK_BYTES - 4, crc32(out.subarray(start, start + INDEX_BLOCK_BYTES - 4)), true);
  }
}

/**
 * Ordinals in ascending id order (bytes compared unsigned; equal ids in ordinal order). Ids the store draws itself
 * are UUIDv7s: their first 6 bytes are the millisecond of the append, which never decreases along a segment, so only
 * the ids of one millisecond (~10^2 at full rate) need ordering among themselves (idOrderByClock). Any other set
 * (ids named by idempotency keys, a clock stepped back) takes the radix sort.
 */
export async function idOrder(ids: Uint8Array, n: number): Promise<Uint32Array> {
  return idOrderByClock(ids, n) ?? (await idOrderRadix(ids, n));
}

/** A run of ids sharing a millisecond is sorted by key = next 4 bytes × 2^20 + its place in the run (exact in a double). */
const RUN_PLACES = 2 ** 20;
/** Runs up to this long are insertion-sorted (keys are distinct: the place breaks ties). */
const INSERTION_RUN = 256;

/** The 48-bit big-endian clock of id `i` (its first 6 bytes). */
const clockOf = (ids: Uint8Array, i: number): number => ((ids[i * 16]! << 8) | ids[i * 16 + 1]!) * 2 ** 32 + (((ids[i * 16 + 2]! << 24) | (ids[i * 16 + 3]! << 16) | (ids[i * 16 + 4]! << 8) | ids[i * 16 + 5]!) >>> 0);

/**
 * idOrder's fast path: undefined unless the ids' first 6 bytes never decrease along the ordinals. Measured on a
 * segment's 1.6 · 10^5 ids, CPU on the appends' thread: 13–16 ms against the radix sort's 18–22 ms warm, 64 against
 * 120 ms on the first (cold) seal of a process.
 */
export function idOrderByClock(ids: Uint8Array, n: number): Uint32Array | undefined {
  for (let i = 1; i < n; i++) if (clockOf(ids, i) < clockOf(ids, i - 1)) return undefined;
  const order = new Uint32Array(n);
  const keys = new Float64Array(n);
  let start = 0;
  let clock = n > 0 ? clockOf(ids, 0) : 0;
  for (let i = 1; i <= n; i++) {
    const next = i < n ? clockOf(ids, i) : -1;
    if (next === clock) continue;
    clock = next;
    if (i - start > RUN_PLACES) return undefined;
    for (let k = start; k < i; k++) {
      const p = k * 16 + 6;
      keys[k] = (((ids[p]! << 24) | (ids[p + 1]! << 16) | (ids[p + 2]! << 8) | ids[p + 3]!) >>> 0) * RUN_PLACES + (k - start);
    }
    if (i - start > INSERTION_RUN) keys.subarray(start, i).sort();
    else {
      // A millisecond's run is short at any append rate: insertion sort beats a typed-array sort call per run.
      for (let k = start + 1; k < i; k++) {
        const key = keys[k]!;
        let j = k - 1;
        while (j >= start && keys[j]! > key) {
          keys[j + 1] = keys[j]!;
          j--;
        }
        keys[j + 1] = key;
      }
    }
    for (let k = start; k < i; k++) order[k] = start + (keys[k]! % RUN_PLACES);
    // Ids whose 10 bytes after the clock agree on the first 4 (rare): ordered by all 16, then by ordinal.
    for (let k = start + 1; k < i; ) {
      if (Math.floor(keys[k]! / RUN_PLACES) !== Math.floor(keys[k - 1]! / RUN_PLACES)) {
        k++;
        continue;
      }
      let end = k + 1;
      while (end < i && Math.floor(keys[end]! / RUN_PLACES) === Math.floor(keys[k - 1]! / RUN_PLACES)) end++;
      const tied = Array.from(order.subarray(k - 1, end)).sort((a, b) => compareIds(ids, a, b) || a - b);
      order.set(tied, k - 1);
      k = end + 1;
    }
    start = i;
  }
  return order;
}

/** Ids `a` and `b` compared as unsigned bytes. */
function compareIds(ids: Uint8Array, a: number, b: number): number {
  for (let k = 0; k < 16; k++) {
    const d = ids[a * 16 + k]! - ids[b * 16 + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Ordinals in ascending id order (bytes compared unsigned): an LSD radix sort over `ids` (16 bytes each), one stable
 * pass per 16-bit digit, yielding to the event loop after each. A digit every id shares (a segment's ids mostly share
 * their UUIDv7 clock's top bytes) leaves the order as it is and is skipped. 600k ids: ~60 ms of CPU in up to 8 turns
 * instead of 100–250 ms in one (8-bit digits, no yield) that stalled every append waiting behind a seal.
 */
export async function idOrderRadix(ids: Uint8Array, n: number): Promise<Uint32Array> {
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (n < 2) return order;
  let next = new Uint32Array(n);
  const count = new Uint32Array(65_537);
  for (let b = 14; b >= 0; b -= 2) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[((ids[i * 16 + b]! << 8) | ids[i * 16 + b + 1]!) + 1]!++;
    if (count[((ids[b]! << 8) | ids[b + 1]!) + 1] === n) continue;
    for (let v = 0; v < 65_536; v++) count[v + 1]! += count[v]!;
    for (let i = 0; i < n; i++) {
      const o = order[i]!;
      const at = o * 16 + b;
      next[count[(ids[at]! << 8) | ids[at + 1]!]!++] = o;
    }
    [order, next] = [next, order];
    await nextTurn();
  }
  return order;
}

/**
 * Ordinals in (entity key, entity sequence) order, each frame's entity rank, the keys and names by rank
 * (8 bytes each), and each rank's last frame. Frames come in global-sequence order, in which each entity's
 * sequences ascend, so a stable bucketing by rank (distinct entities sorted once, by key then name) is the
 * whole sort, and the last frame of a rank in that order is the entity's head.
 */
async function entityOrder(frames: readonly IndexedFrame[]): Promise<{ order: Uint32Array; rank: Uint32Array; keys: Uint8Array; names: string[]; last: Uint32Array }> {
  // Each frame's entity numbered in order of first appearance (one map lookup per frame), then renumbered by rank.
  const firstSeen = new Map<string, number>();
  const rank = new Uint32Array(frames.length);
  for (let i = 0; i < frames.length; i++) {
    const name = frames[i]!.entity;
    let k = firstSeen.get(name);
    if (k === undefined) firstSeen.set(name, (k = firstSeen.size));
    rank[i] = k;
    if (i % FRAMES_PER_TURN === FRAMES_PER_TURN - 1) await nextTurn();
  }
  const named = [...firstSeen.entries()].map(([name, seen]) => ({ name, seen, key: entityKey(name) }));
  named.sort((a, b) => compareBytes(a.key, b.key) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const keys = new Uint8Array(named.length * 8);
  const rankOfSeen = new Uint32Array(named.length);
  named.forEach((e, r) => {
    rankOfSeen[e.seen] = r;
    keys.set(e.key, r * 8);
  });
  const start = new Uint32Array(named.length + 1);
  const last = new Uint32Array(named.length);
  for (let i = 0; i < frames.length; i++) {
    const r = (rank[i] = rankOfSeen[rank[i]!]!);
    start[r + 1]!++;
    last[r] = i;
  }
  for (let r = 0; r < named.length; r++) start[r + 1]! += start[r]!;
  const order = new Uint32Array(frames.length);
  for (let i = 0; i < frames.length; i++) order[start[rank[i]!]!++] = i;
  return { order, rank, keys, names: named.map((e) => e.name), last };
}
