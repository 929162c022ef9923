// Event id → entry lookup as an open-addressing hash table of ordinals in one Int32Array: a Map of a
// million fresh 32-character keys cost ~0.6 s to build at open and a large array the GC must scan.

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
  #mask: number;
  #count = 0;
  readonly #entries: readonly IndexEntry[];

  /** `entries` is the array ordinals point into; the table only ever reads it. */
  constructor(entries: readonly IndexEntry[], expected = 0) {
    this.#entries = entries;
    let size = 16;
    while (size < expected * 2) size *= 2;
    this.#slots = new Int32Array(size);
    this.#mask = size - 1;
  }

  get size(): number {
    return this.#count;
  }

  get(id: string): IndexEntry | undefined {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let h = hashId(id) & mask; ; h = (h + 1) & mask) {
      const s = slots[h]!;
      if (s === 0) return undefined;
      const e = this.#entries[s - 1]!;
      if (e.eventId === id) return e;
    }
  }

  /** Maps `entries[ordinal].eventId` to that ordinal; an id already present is re-pointed (as Map.set). */
  set(ordinal: number): void {
    if ((this.#count + 1) * 2 > this.#slots.length) this.#grow();
    const id = this.#entries[ordinal]!.eventId;
    const slots = this.#slots;
    const mask = this.#mask;
    for (let h = hashId(id) & mask; ; h = (h + 1) & mask) {
      const s = slots[h]!;
      if (s === 0) {
        slots[h] = ordinal + 1;
        this.#count++;
        return;
      }
      if (this.#entries[s - 1]!.eventId === id) {
        slots[h] = ordinal + 1;
        return;
      }
    }
  }

  #grow(): void {
    const old = this.#slots;
    const slots = new Int32Array(old.length * 2);
    const mask = slots.length - 1;
    for (const s of old) {
      if (s === 0) continue;
      let h = hashId(this.#entries[s - 1]!.eventId) & mask;
      while (slots[h] !== 0) h = (h + 1) & mask;
      slots[h] = s;
    }
    this.#slots = slots;
    this.#mask = mask;
  }
}
