// A set of 16-byte event ids held in flat typed arrays (open addressing over an id arena): what a verification
// remembers per event to find an id committed twice. Invariant: `add` is true exactly when the id was not in the set.
// Why not a Set of hex strings: a million ids cost ~100 MB of strings and ~2 µs each to hash and insert (a profile
// of verifyChain at 256 B put a fifth of the main thread there); here 16 bytes of id and 16-32 of table per id.

import { randomBytes } from '../crypto/random.js';

const EMPTY = 0;

export class EventIdSet {
  /** The ids, 16 bytes each, in insertion order. */
  #ids: Uint8Array;
  #count = 0;
  /**
   * Pairs (hash, 1 + index into #ids), 0 index for an empty slot; slots a power of two, kept at most half full. The
   * hash sits beside the index so a probe that misses reads one cache line, not the id arena.
   */
  #table: Uint32Array;
  /** Mixed into the hash, so ids chosen to collide in one process do not collide in another. */
  readonly #seed: number;

  /** `expected`: how many ids will be added (the table is sized once for them; more still fit). */
  constructor(expected = 1024) {
    const r = randomBytes(4);
    this.#seed = ((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) >>> 0;
    let slots = 2048;
    while (slots < 2 * expected) slots *= 2;
    this.#table = new Uint32Array(2 * slots);
    this.#ids = new Uint8Array(16 * Math.max(1024, expected));
  }

  get size(): number {
    return this.#count;
  }

  /** Adds `bytes[at, at + 16)`; false when that id was already in the set. */
  add(bytes: Uint8Array, at: number): boolean {
    const h = this.#hash(bytes, at);
    let table = this.#table;
    let mask = table.length / 2 - 1;
    let slot = h & mask;
    const ids = this.#ids;
    for (let k = table[2 * slot + 1]!; k !== EMPTY; k = table[2 * slot + 1]!) {
      if (table[2 * slot] === h) {
        const p = (k - 1) * 16;
        let same = true;
        for (let i = 0; i < 16; i++) {
          if (ids[p + i] !== bytes[at + i]) {
            same = false;
            break;
          }
        }
        if (same) return false;
      }
      slot = (slot + 1) & mask;
    }
    if ((this.#count + 1) * 4 > table.length) {
      this.#grow();
      table = this.#table;
      mask = table.length / 2 - 1;
      slot = h & mask;
      while (table[2 * slot + 1] !== EMPTY) slot = (slot + 1) & mask;
    }
    if ((this.#count + 1) * 16 > this.#ids.length) {
      const more = new Uint8Array(this.#ids.length * 2);
      more.set(this.#ids);
      this.#ids = more;
    }
    const to = this.#ids;
    const q = this.#count * 16;
    for (let i = 0; i < 16; i++) to[q + i] = bytes[at + i]!;
    this.#count++;
    table[2 * slot] = h;
    table[2 * slot + 1] = this.#count;
    return true;
  }

  #hash(b: Uint8Array, at: number): number {
    let h = this.#seed;
    for (let i = 0; i < 16; i += 4) {
      const w = (b[at + i]! | (b[at + i + 1]! << 8) | (b[at + i + 2]! << 16) | (b[at + i + 3]! << 24)) >>> 0;
      h = Math.imul(h ^ w, 0x9e3779b1);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ (h >>> 13), 0x85ebca6b);
    return (h ^ (h >>> 16)) >>> 0;
  }

  #grow(): void {
    const old = this.#table;
    const table = new Uint32Array(old.length * 2);
    const mask = table.length / 2 - 1;
    for (let s = 0; s < old.length; s += 2) {
      const k = old[s + 1]!;
      if (k === EMPTY) continue;
      const h = old[s]!;
      let slot = h & mask;
      while (table[2 * slot + 1] !== EMPTY) slot = (slot + 1) & mask;
      table[2 * slot] = h;
      table[2 * slot + 1] = k;
    }
    this.#table = table;
  }
}
