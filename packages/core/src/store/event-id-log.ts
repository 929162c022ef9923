// The event ids a verification met, in order (16 bytes each), and which of them repeat an earlier one: what finds
// an id committed twice. Invariant: `repeats` is exact — hashes only group the ids, the bytes decide.
// Why this shape: while the walk runs an id is only appended (a sequential 16-byte copy); the search happens once, at
// the end, in tight passes over the log. A Set of hex strings cost ~2 µs an id; a Bloom filter probed per id (one
// random cache line of a 2 MB array for a million ids) still cost ~210 ns an id on the walk's thread, where the read
// chunks keep the cache busy (1M x 256 B, chrt: verifyChain 1.24 s with it, 1.02-1.06 s without any duplicate check).

import { randomBytes } from '../crypto/random.js';

/** Ids per pass of the end search: its table (room for twice as many at half load, 4 bytes a slot) is 2 MiB, about a core's L2. */
const IDS_PER_PASS = 128 * 1024;

export class EventIdLog {
  /** The ids, 16 bytes each, in the order added. */
  #ids: Uint8Array;
  #count = 0;
  /** `#ids` as a DataView, and the last array an id was added from as one (the ids of a chunk's frames share it). */
  #idWords: DataView<ArrayBufferLike>;
  #lastBytes: Uint8Array | undefined;
  #lastWords: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  /** Mixed into the hash, so ids chosen to collide in one process do not collide in another. */
  readonly #seed: number;

  /** `expected`: how many ids will be added (sizes the log; more still work, the log grows). */
  constructor(expected = 1024) {
    const r = randomBytes(4);
    this.#seed = (r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!;
    this.#ids = new Uint8Array(16 * Math.max(1024, expected));
    this.#idWords = new DataView(this.#ids.buffer);
  }

  get size(): number {
    return this.#count;
  }

  /** Appends `bytes[at, at + 16)`. */
  add(bytes: Uint8Array, at: number): void {
    const q = this.#count * 16;
    if (q + 16 > this.#ids.length) {
      const more = new Uint8Array(this.#ids.length * 2);
      more.set(this.#ids);
      this.#ids = more;
      this.#idWords = new DataView(more.buffer);
    }
    // Four 32-bit words, not 16 bytes: this runs once per event on the walk's thread.
    if (bytes !== this.#lastBytes) {
      this.#lastBytes = bytes;
      this.#lastWords = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    const from = this.#lastWords;
    const ids = this.#idWords;
    ids.setInt32(q, from.getInt32(at, true), true);
    ids.setInt32(q + 4, from.getInt32(at + 4, true), true);
    ids.setInt32(q + 8, from.getInt32(at + 8, true), true);
    ids.setInt32(q + 12, from.getInt32(at + 12, true), true);
    this.#count++;
  }

  /** The hex id added at position `index`. */
  idAt(index: number): string {
    return Buffer.from(this.#ids.buffer, this.#ids.byteOffset + 16 * index, 16).toString('hex');
  }

  /** The positions (ascending, 0-based) whose id equals one added before it. */
  repeats(): number[] {
    const n = this.#count;
    if (n === 0) return [];
    const hashes = new Int32Array(n);
    for (let i = 0; i < n; i++) hashes[i] = this.#hash(16 * i);
    // Ids with equal ids have equal hashes, so they fall in one pass (by the hash's top bits); within a pass, an
    // open-addressing table of positions, probed in log order, meets an id's earlier copies before the id itself.
    let passes = 1;
    while (passes * IDS_PER_PASS < n) passes *= 2;
    const shift = 32 - Math.log2(passes);
    // The positions grouped by pass, in log order within each (a counting sort by those bits): a pass visits its own
    // ids only, not every id to skip the others (at 1M ids, 8 passes of 1M were most of this search).
    const from = new Int32Array(passes + 1);
    const order = new Int32Array(n);
    if (passes === 1) {
      from[1] = n;
      for (let i = 0; i < n; i++) order[i] = i;
    } else {
      for (let i = 0; i < n; i++) from[(hashes[i]! >>> shift) + 1]!++;
      for (let p = 0; p < passes; p++) from[p + 1]! += from[p]!;
      const next = from.slice(0, passes);
      for (let i = 0; i < n; i++) order[next[hashes[i]! >>> shift]!++] = i;
    }
    let size = 16;
    while (size < 2 * Math.min(n, 2 * IDS_PER_PASS)) size *= 2;
    const mask = size - 1;
    const table = new Int32Array(size);
    const found: number[] = [];
    for (let pass = 0; pass < passes; pass++) {
      if (pass > 0) table.fill(0);
      let held = 0;
      for (let k = from[pass]!; k < from[pass + 1]!; k++) {
        const i = order[k]!;
        const h = hashes[i]!;
        let slot = h & mask;
        let repeat = false;
        for (let t = table[slot]!; t !== 0; t = table[(slot = (slot + 1) & mask)]!) {
          if (hashes[t - 1] === h && this.#same(16 * (t - 1), 16 * i)) {
            repeat = true;
            break;
          }
        }
        if (repeat) {
          found.push(i);
          continue;
        }
        table[slot] = i + 1;
        // A pass that holds more than its share (hashes chosen to crowd one pass) grows its table.
        if (2 * ++held > size) return this.#repeatsSlowly();
      }
    }
    return passes > 1 ? found.sort((a, b) => a - b) : found;
  }

  /** `repeats` without the bounded table (a pass held more ids than it was sized for): a Set of hex ids. */
  #repeatsSlowly(): number[] {
    const seen = new Set<string>();
    const found: number[] = [];
    for (let i = 0; i < this.#count; i++) {
      const k = this.idAt(i);
      if (seen.has(k)) found.push(i);
      else seen.add(k);
    }
    return found;
  }

  #same(a: number, b: number): boolean {
    const ids = this.#idWords;
    for (let k = 0; k < 16; k += 4) if (ids.getInt32(a + k, true) !== ids.getInt32(b + k, true)) return false;
    return true;
  }

  /** The hash of the id at `at` in the log, from its four little-endian words. */
  #hash(at: number): number {
    const ids = this.#idWords;
    let h = this.#seed;
    h = Math.imul(h ^ ids.getInt32(at, true), 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h ^ ids.getInt32(at + 4, true), 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h ^ ids.getInt32(at + 8, true), 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h ^ ids.getInt32(at + 12, true), 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h ^ (h >>> 13), 0x85ebca6b);
    return h ^ (h >>> 16);
  }
}
