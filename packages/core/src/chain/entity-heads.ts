// verifyChain's chain heads keyed by the entity's UTF-8 bytes, so a frame read in place follows its link without a
// string: one open-addressing table over a byte arena. Invariant: two keys name one chain exactly when the strings are equal.
// Why not a Map of strings: a fresh string per event (made from the frame's bytes, then hashed for the lookup) was
// most of what the sealed-segment path allocated, a million events in a row.

import { randomBytes } from '../crypto/random.js';
import { isWellFormedString } from '../encoding/utf16.js';

/**
 * The byte that starts the key of a string with a lone surrogate (which has no UTF-8 encoding): its UTF-16 code units
 * follow. 0xff never occurs in UTF-8, so such a key equals no other string's.
 */
const UTF16_KEY = 0xff;

export class EntityHeads {
  /** Open addressing: chain number + 1 per slot, 0 for none; a power of two, at most half full. */
  #table = new Int32Array(1024);
  /** Per chain: where its key lies in `#keys`, its length, its hash; its head is `#heads[32 * chain, +32)`. */
  #keyAt = new Int32Array(256);
  #keyLength = new Int32Array(256);
  #hashes = new Int32Array(256);
  #heads = new Uint8Array(32 * 256);
  /**
   * The heads and the last array a hash was read from, as DataViews: a head is compared and copied as eight 32-bit words,
   * not 32 bytes (measured: the byte loops were ~0.2 µs of each event's ~1.2 µs on verifyChain's thread).
   */
  #headWords: DataView<ArrayBufferLike> = new DataView(this.#heads.buffer);
  #lastBytes: Uint8Array | undefined;
  #lastWords: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  #lastKeyBytes: Uint8Array | undefined;
  #lastKeyWords: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  #keys = new Uint8Array(4096);
  #keyWords: DataView<ArrayBufferLike> = new DataView(this.#keys.buffer);
  #keysEnd = 0;
  #chains = 0;
  /** Mixed into the hash, so entity names chosen to collide in one process do not collide in another. */
  readonly #seed: number;
  /** A string key's bytes (encoded here, then looked up as bytes). */
  #scratch = new Uint8Array(256);

  constructor() {
    const r = randomBytes(4);
    this.#seed = (r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!;
  }

  /** How many chains were met. */
  get size(): number {
    return this.#chains;
  }

  /**
   * Whether `prev[prevAt, +32)` is the head of the chain of the entity whose UTF-8 bytes are `key[keyAt, +keyLength)`
   * (the zero hash for its first event), then makes `content[contentAt, +32)` its head, linked or not (a later event
   * links to what is on disk).
   */
  followAt(key: Uint8Array, keyAt: number, keyLength: number, prev: Uint8Array, prevAt: number, content: Uint8Array, contentAt: number): boolean {
    const chain = this.#chainOf(key, keyAt, keyLength);
    const heads = this.#headWords;
    const at = 32 * chain;
    let linked = true;
    const p = this.#words(prev);
    for (let i = 0; i < 32; i += 4) {
      if (p.getInt32(prevAt + i, true) !== heads.getInt32(at + i, true)) {
        linked = false;
        break;
      }
    }
    const c = this.#words(content);
    for (let i = 0; i < 32; i += 4) heads.setInt32(at + i, c.getInt32(contentAt + i, true), true);
    return linked;
  }

  /** `#words` for the array a key is read from (kept apart: a string's key is read from `#scratch`, its hashes from a chunk). */
  #keyView(b: Uint8Array): DataView {
    if (b !== this.#lastKeyBytes) {
      this.#lastKeyBytes = b;
      this.#lastKeyWords = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    return this.#lastKeyWords;
  }

  /** `b` as a DataView (the last one made is kept: the frames of a chunk, and a frame's prev and content, share one array). */
  #words(b: Uint8Array): DataView {
    if (b !== this.#lastBytes) {
      this.#lastBytes = b;
      this.#lastWords = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    return this.#lastWords;
  }

  /** `followAt` for an entity given as a string. */
  follow(entity: string, prev: Uint8Array, prevAt: number, content: Uint8Array, contentAt: number): boolean {
    const n = this.#encode(entity);
    return this.followAt(this.#scratch, 0, n, prev, prevAt, content, contentAt);
  }

  /** Writes the key of `s` to `#scratch`: its UTF-8 bytes (ASCII without an encoder); returns its length. */
  #encode(s: string): number {
    let out = this.#scratch;
    if (out.length < 3 * s.length + 1) out = this.#scratch = new Uint8Array(3 * s.length + 1);
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[i] = c;
    }
    if (i === s.length) return i;
    if (isWellFormedString(s)) return i + Buffer.from(out.buffer, out.byteOffset, out.length).write(s.slice(i), i, 'utf8');
    out[0] = UTF16_KEY;
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      out[1 + 2 * k] = c & 0xff;
      out[2 + 2 * k] = c >>> 8;
    }
    return 1 + 2 * s.length;
  }

  #hash(b: Uint8Array, at: number, length: number): number {
    let h = this.#seed ^ length;
    let i = 0;
    // Each 4 bytes as one little-endian word (the same value as assembling them byte by byte, in one read).
    const words = this.#keyView(b);
    for (; i + 4 <= length; i += 4) {
      const w = words.getInt32(at + i, true);
      h = Math.imul(h ^ w, 0x9e3779b1);
      h ^= h >>> 15;
    }
    for (; i < length; i++) h = Math.imul(h ^ b[at + i]!, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  /** The chain number of a key, a new one (head: the zero hash) the first time. */
  #chainOf(b: Uint8Array, at: number, length: number): number {
    const h = this.#hash(b, at, length);
    const table = this.#table;
    const mask = table.length - 1;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const e = table[slot]!;
      if (e === 0) return this.#add(slot, h, b, at, length);
      const c = e - 1;
      if (this.#hashes[c] !== h || this.#keyLength[c] !== length) continue;
      if (this.#sameKey(this.#keyAt[c]!, b, at, length)) return c;
    }
  }

  /** Whether the key at `#keys[k, +length)` is `b[at, +length)`: word by word, then the last bytes one by one. */
  #sameKey(k: number, b: Uint8Array, at: number, length: number): boolean {
    const keys = this.#keyWords;
    const words = this.#keyView(b);
    let i = 0;
    for (; i + 4 <= length; i += 4) if (keys.getInt32(k + i, true) !== words.getInt32(at + i, true)) return false;
    const bytes = this.#keys;
    for (; i < length; i++) if (bytes[k + i] !== b[at + i]) return false;
    return true;
  }

  #add(slot: number, h: number, b: Uint8Array, at: number, length: number): number {
    const c = this.#chains++;
    if (c === this.#keyAt.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T, n: number): T => {
        const more = new (a.constructor as new (n: number) => T)(n);
        more.set(a);
        return more;
      };
      this.#keyAt = grow(this.#keyAt, 2 * c);
      this.#keyLength = grow(this.#keyLength, 2 * c);
      this.#hashes = grow(this.#hashes, 2 * c);
      this.#heads = grow(this.#heads, 64 * c);
      this.#headWords = new DataView(this.#heads.buffer);
    }
    if (this.#keysEnd + length > this.#keys.length) {
      const more = new Uint8Array(Math.max(2 * this.#keys.length, this.#keysEnd + length));
      more.set(this.#keys.subarray(0, this.#keysEnd));
      this.#keys = more;
      this.#keyWords = new DataView(more.buffer);
    }
    this.#keys.set(b.subarray(at, at + length), this.#keysEnd);
    this.#keyAt[c] = this.#keysEnd;
    this.#keyLength[c] = length;
    this.#hashes[c] = h;
    this.#keysEnd += length;
    // A new chain's head is the zero hash (the table grows zeroed).
    this.#table[slot] = c + 1;
    if (2 * this.#chains > this.#table.length) this.#rehash();
    return c;
  }

  /** Twice the slots, every chain placed again by its kept hash. */
  #rehash(): void {
    const table = new Int32Array(2 * this.#table.length);
    const mask = table.length - 1;
    for (let c = 0; c < this.#chains; c++) {
      let slot = this.#hashes[c]! & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = c + 1;
    }
    this.#table = table;
  }
}
