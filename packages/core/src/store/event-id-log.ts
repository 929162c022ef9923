// The event ids a verification met, in order (16 bytes each), and which of them repeat an earlier one: what finds
// an id committed twice. Invariant: `repeats` is exact — a filter only picks the candidates, the ids decide.
// Why not a Set of hex strings: a million ids cost ~100 MB of strings and ~2 µs each to hash and insert (a profile of
// verifyChain at 256 B put a fifth of the main thread there); nor a hash table of the ids: a random read of a 16-32 MB
// table per event still showed at 16 %. Here an id is appended (a sequential write) and tested against a blocked
// filter of 16 bits per id (one cache line of a 2 MB array for a million), and only its rare hits are checked exactly.

import { randomBytes } from '../crypto/random.js';

/** Filter bits per id expected, and bits per block (one 64-byte cache line). */
const BITS_PER_ID = 16;
const BLOCK_BITS = 512;

export class EventIdLog {
  /** The ids, 16 bytes each, in the order added. */
  #ids: Uint8Array;
  /** Each id's hash (as `add` computed it), so `repeats` compares hashes without hashing every id again. */
  #hashes: Int32Array;
  #count = 0;
  /** Blocked Bloom filter: a block picked by the id's hash, three bits set in it. */
  readonly #filter: Int32Array;
  readonly #blockMask: number;
  /** Mixed into the hash, so ids chosen to collide in one process do not collide in another. */
  readonly #seed: number;

  /** `expected`: how many ids will be added (sizes the filter; more still work, with more candidates). */
  constructor(expected = 1024) {
    const r = randomBytes(4);
    this.#seed = ((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) >>> 0;
    let blocks = 16;
    while (blocks * BLOCK_BITS < expected * BITS_PER_ID) blocks *= 2;
    this.#filter = new Int32Array((blocks * BLOCK_BITS) / 32);
    this.#blockMask = blocks - 1;
    this.#ids = new Uint8Array(16 * Math.max(1024, expected));
    this.#hashes = new Int32Array(Math.max(1024, expected));
  }

  get size(): number {
    return this.#count;
  }

  /** Appends `bytes[at, at + 16)`; true when it may repeat an id added before (false: it surely does not). */
  add(bytes: Uint8Array, at: number): boolean {
    // The hash, the three probes and the copy written out in one body: as calls this ran at ~170 ns an id, ~80 so.
    let h = this.#seed;
    h = Math.imul(h ^ (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)), 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h ^ (bytes[at + 4]! | (bytes[at + 5]! << 8) | (bytes[at + 6]! << 16) | (bytes[at + 7]! << 24)), 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h ^ (bytes[at + 8]! | (bytes[at + 9]! << 8) | (bytes[at + 10]! << 16) | (bytes[at + 11]! << 24)), 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h ^ (bytes[at + 12]! | (bytes[at + 13]! << 8) | (bytes[at + 14]! << 16) | (bytes[at + 15]! << 24)), 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h ^ (h >>> 13), 0x85ebca6b);
    h ^= h >>> 16;
    const h2 = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    const base = (h & this.#blockMask) * (BLOCK_BITS / 32);
    const f = this.#filter;
    const b0 = h2 & (BLOCK_BITS - 1);
    const b1 = (h2 >>> 9) & (BLOCK_BITS - 1);
    const b2 = (h2 >>> 18) & (BLOCK_BITS - 1);
    const w0 = base + (b0 >>> 5);
    const w1 = base + (b1 >>> 5);
    const w2 = base + (b2 >>> 5);
    const m0 = 1 << (b0 & 31);
    const m1 = 1 << (b1 & 31);
    const m2 = 1 << (b2 & 31);
    // Read all three before setting any: a bit this id sets itself is no evidence of an earlier one.
    const seen = (f[w0]! & m0) !== 0 && (f[w1]! & m1) !== 0 && (f[w2]! & m2) !== 0;
    f[w0] = f[w0]! | m0;
    f[w1] = f[w1]! | m1;
    f[w2] = f[w2]! | m2;
    const n = this.#count;
    const q = n * 16;
    if (q + 16 > this.#ids.length) {
      const more = new Uint8Array(this.#ids.length * 2);
      more.set(this.#ids);
      this.#ids = more;
      const hashes = new Int32Array(this.#hashes.length * 2);
      hashes.set(this.#hashes);
      this.#hashes = hashes;
    }
    const ids = this.#ids;
    for (let i = 0; i < 16; i++) ids[q + i] = bytes[at + i]!;
    this.#hashes[n] = h;
    this.#count = n + 1;
    return seen;
  }

  /** The hex id added at position `index`. */
  idAt(index: number): string {
    return Buffer.from(this.#ids.buffer, this.#ids.byteOffset + 16 * index, 16).toString('hex');
  }

  /** Of `candidates` (0-based positions `add` returned true for), those whose id equals one added before it. */
  repeats(candidates: readonly number[]): number[] {
    if (candidates.length === 0) return [];
    const key = (i: number) => this.idAt(i);
    // The candidates' hashes in a small open-addressing table (a slot holds position + 1), so the pass over every id
    // reads its kept hash and makes a string only for the few whose hash a candidate shares.
    let size = 16;
    while (size < 4 * candidates.length) size *= 2;
    const mask = size - 1;
    const table = new Int32Array(size);
    const hashes = this.#hashes;
    // The first position of each candidate's id, found in one pass over every id (hashes compared first).
    const first = new Map<string, number>();
    for (const c of candidates) {
      first.set(key(c), c);
      let slot = hashes[c]! & mask;
      while (table[slot] !== 0 && hashes[table[slot]! - 1] !== hashes[c]) slot = (slot + 1) & mask;
      table[slot] = c + 1;
    }
    for (let i = 0; i < this.#count; i++) {
      const h = hashes[i]!;
      let slot = h & mask;
      let shared = false;
      for (let t = table[slot]!; t !== 0; t = table[(slot = (slot + 1) & mask)]!) {
        if (hashes[t - 1] === h) {
          shared = true;
          break;
        }
      }
      if (!shared) continue;
      const k = key(i);
      const at = first.get(k);
      if (at !== undefined && i < at) first.set(k, i);
    }
    return candidates.filter((c) => first.get(key(c))! < c);
  }
}
