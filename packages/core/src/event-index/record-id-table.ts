// Event id → record ordinal, as an open-addressing table of ordinals in one Int32Array over the ids' 16 bytes
// in EntryRecords: no string and no object per entry. Invariant: a lookup by hex text finds exactly the ids
// whose lowercase hex (IndexEntry.eventId) equals that text; anything else finds nothing.

import type { EntryRecords } from './entry-records.js';

// A per-process seed, so a set of ids chosen to collide (idempotency keys are caller-chosen) cannot be
// prepared in advance.
const SEED = (Math.random() * 0x1_0000_0000) >>> 0;

function mix(h: number, w: number): number {
  return Math.imul((h ^ w) >>> 0, 0x01000193);
}

/** A seeded hash of 16 id bytes at `b[p..p+16)`, murmur3-finalized (linear probing wants the low bits mixed). */
function hashBytes(b: Uint8Array, p: number): number {
  let h = 0x811c9dc5 ^ SEED;
  for (let k = 0; k < 16; k += 4) h = mix(h, b[p + k]! | (b[p + k + 1]! << 8) | (b[p + k + 2]! << 16) | (b[p + k + 3]! << 24));
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The value of a lowercase hex digit, or -1 (an uppercase digit is no match: ids are keyed by their lowercase hex). */
function digit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Parses `id` into `out` (16 bytes); false unless it is 32 lowercase hex digits. */
export function parseEventId(id: string, out: Uint8Array): boolean {
  if (id.length !== 32) return false;
  for (let k = 0; k < 16; k++) {
    const hi = digit(id.charCodeAt(2 * k));
    const lo = digit(id.charCodeAt(2 * k + 1));
    if (hi < 0 || lo < 0) return false;
    out[k] = (hi << 4) | lo;
  }
  return true;
}

export class RecordIdTable {
  /** Ordinal + 1 per slot; 0 is empty. */
  #slots: Int32Array;
  /**
   * Each occupied slot's full 32-bit hash: a probe compares it before reading the record (a cache miss into the
   * records per occupied slot otherwise), and growing rehashes without reading any record.
   */
  #hashes: Int32Array;
  #mask: number;
  #count = 0;
  readonly #records: EntryRecords;
  readonly #key = new Uint8Array(16);

  /** `records` is what ordinals point into; the table only ever reads it. */
  constructor(records: EntryRecords, expected = 0) {
    this.#records = records;
    let size = 16;
    while (size < expected * 2) size *= 2;
    this.#slots = new Int32Array(size);
    this.#hashes = new Int32Array(size);
    this.#mask = size - 1;
  }

  get size(): number {
    return this.#count;
  }

  /** Bytes held, for accounting. */
  get bytes(): number {
    return this.#slots.byteLength + this.#hashes.byteLength;
  }

  /** The ordinal of the record whose id has hex `id`, or -1. */
  find(id: string): number {
    const key = this.#key;
    return parseEventId(id, key) ? this.findBytes(key) : -1;
  }

  /** The ordinal of the record whose id is the 16 bytes `id`, or -1. */
  findBytes(id: Uint8Array): number {
    const slots = this.#slots;
    const hashes = this.#hashes;
    const mask = this.#mask;
    const r = this.#records;
    const hash = hashBytes(id, 0) | 0;
    for (let h = hash & mask; ; h = (h + 1) & mask) {
      const s = slots[h]!;
      if (s === 0) return -1;
      if (hashes[h] === hash && r.idEquals(s - 1, id)) return s - 1;
    }
  }

  /** Maps record `ordinal`'s id to it; an id already present is re-pointed (as Map.set) and false is returned. */
  set(ordinal: number): boolean {
    if ((this.#count + 1) * 2 > this.#slots.length) this.#grow();
    const r = this.#records;
    const chunk = r.chunk(ordinal);
    const at = r.at(ordinal);
    const slots = this.#slots;
    const hashes = this.#hashes;
    const mask = this.#mask;
    const hash = hashBytes(chunk, at) | 0;
    for (let h = hash & mask; ; h = (h + 1) & mask) {
      const s = slots[h]!;
      if (s === 0) {
        slots[h] = ordinal + 1;
        hashes[h] = hash;
        this.#count++;
        return true;
      }
      if (hashes[h] === hash && r.idEquals(s - 1, chunk, at)) {
        slots[h] = ordinal + 1;
        return false;
      }
    }
  }

  #grow(): void {
    const old = this.#slots;
    const oldHashes = this.#hashes;
    const slots = new Int32Array(old.length * 2);
    const hashes = new Int32Array(old.length * 2);
    const mask = slots.length - 1;
    for (let i = 0; i < old.length; i++) {
      const s = old[i]!;
      if (s === 0) continue;
      const hash = oldHashes[i]!;
      let h = hash & mask;
      while (slots[h] !== 0) h = (h + 1) & mask;
      slots[h] = s;
      hashes[h] = hash;
    }
    this.#slots = slots;
    this.#hashes = hashes;
    this.#mask = mask;
  }
}
