// Event id → entry lookup as an open-addressing hash table of ordinals in one Int32Array: a Map of a
// million fresh 32-character keys cost ~0.6 s to build at open and a large array the GC must scan.
// Each slot's hash is kept beside it, so growing never re-reads an id (a pointer chase and a 32-char hash
// per entry: ~0.6 µs each, a 0.6 s event-loop stall when a million-entry table doubled) and a probe
// compares ids only when the full hashes match.

import type { IndexEntry } from './entry.js';

// A per-process seed, so a set of ids chosen to collide (idempotency keys are caller-chosen) cannot
// be prepared in advance.
const SEED = (Math.random() * 0x1_0000_0000) >>> 0;

/** FNV-1a over the id's UTF-16 code units, seeded. */
function hashId(id: string): number {
  let h = 0x811c9dc5 ^ SEED;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  // Final avalanche (murmur3 fmix32): linear probing wants the low bits well mixed.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class IdTable {
  /** Ordinal + 1 into `entries` per slot; 0 is empty. */
  #slots: Int32Array;
  /** The full hash of the id in each occupied slot. */
  #hashes: Uint32Array;
  #mask: number;
  #count = 0;
  readonly #entries: readonly IndexEntry[];

  /** `entries` is the array ordinals point into; the table only ever reads it. */
  constructor(entries: readonly IndexEntry[], expected = 0) {
    this.#entries = entries;
    let size = 16;
    while (size < expected * 2) size *= 2;
    this.#slots = new Int32Array(size);
    this.#hashes = new Uint32Array(size);
    this.#mask = size - 1;
  }

  get size(): number {
    return this.#count;
  }

  get(id: string): IndexEntry | undefined {
    const slots = this.#slots;
    const hashes = this.#hashes;
    const mask = this.#mask;
    const full = hashId(id);
    for (let h = full & mask; ; h = (h + 1) & mask) {
      const s = slots[h]!;
      if (s === 0) return undefined;
      if (hashes[h] !== full) continue;
      const e = this.#entries[s - 1]!;
      if (e.eventId === id) return e;
    }
  }

  /** Maps `entries[ordinal].eventId` to that ordinal; an id already present is re-pointed (as Map.set). */
  set(ordinal: number): void {
    if ((this.#count + 1) * 2 > this.#slots.length) this.#grow();
    const id = this.#entries[ordinal]!.eventId;
    const slots = this.#slots;
    const hashes = this.#hashes;
    const mask = this.#mask;
    const full = hashId(id);
    for (let h = full & mask; ; h = (h + 1) & mask) {
      const s = slots[h]!;
      if (s === 0) {
        slots[h] = ordinal + 1;
        hashes[h] = full;
        this.#count++;
        return;
      }
      if (hashes[h] === full && this.#entries[s - 1]!.eventId === id) {
        slots[h] = ordinal + 1;
        return;
      }
    }
  }

  #grow(): void {
    const old = this.#slots;
    const oldHashes = this.#hashes;
    const slots = new Int32Array(old.length * 2);
    const hashes = new Uint32Array(slots.length);
    const mask = slots.length - 1;
    for (let i = 0; i < old.length; i++) {
      const s = old[i]!;
      if (s === 0) continue;
      const full = oldHashes[i]!;
      let h = full & mask;
      while (slots[h] !== 0) h = (h + 1) & mask;
      slots[h] = s;
      hashes[h] = full;
    }
    this.#slots = slots;
    this.#hashes = hashes;
    this.#mask = mask;
  }
}
