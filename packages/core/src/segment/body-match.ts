// Whether an event frame body is exactly the canonical encoding of the header fields a reader kept for it, read in
// place (no decode, no allocation), and where its prev hash, content hash and payload lie. Invariant: a match implies
// decodeFrameBody accepts the body and frameMismatch finds no difference; anything else is "not shown here".

import type { KeptHeaderFields } from './header-fields.js';

/** Entries backed by a checkpoint record compare their id (0), prevHash (54) and contentHash (86) in place. */
interface RecordBacked {
  sameRecordBytes(recordOffset: 0 | 54 | 86, other: Uint8Array, from: number, length: number): boolean;
}

function sameBytes(want: Uint8Array, b: Uint8Array, at: number): boolean {
  for (let i = 0; i < want.length; i++) if (b[at + i] !== want[i]) return false;
  return true;
}

export class CommittedBodyMatch {
  /** Offsets (in the bytes last matched) of the prev hash, the content hash and the payload. */
  prevAt = 0;
  contentAt = 0;
  payloadAt = 0;
  #b: Uint8Array = new Uint8Array(0);
  #p = 0;
  #to = 0;

  /**
   * Whether `bytes[from, to)` is the canonical event body of `e` (fixed key order, smallest integers and
   * lengths, ASCII entity and scope, no encryption or extensions), with the payload running to `to`.
   */
  matches(bytes: Uint8Array, from: number, to: number, e: KeptHeaderFields): boolean {
    if (e.encryption !== undefined || e.extensions !== undefined) return false;
    const batch = e.batch;
    this.#b = bytes;
    this.#to = to;
    if (bytes[from] !== (batch === undefined ? 0x8d : 0x8e)) return false;
    // t: 0, then id: bin 16.
    if (bytes[from + 1] !== 0xa1 || bytes[from + 2] !== 0x74 || bytes[from + 3] !== 0x00) return false;
    if (bytes[from + 4] !== 0xa2 || bytes[from + 5] !== 0x69 || bytes[from + 6] !== 0x64 || bytes[from + 7] !== 0xc4 || bytes[from + 8] !== 16) return false;
    if (from + 25 > to || !this.#fixed(e, 0, from + 9, 16)) return false;
    this.#p = from + 25;
    if (!(this.#key1(0x67) && this.#uint(e.globalSequence))) return false;
    if (!(this.#key1(0x6e) && this.#uint(e.entitySequence))) return false;
    if (!(e.kind <= 0xffff && this.#key1(0x6b) && this.#uint(e.kind))) return false;
    if (!(this.#key1(0x65) && this.#ascii(e.entity))) return false;
    if (!(this.#key1(0x73) && this.#ascii(e.scope))) return false;
    if (!(this.#key2(0x74, 0x73) && this.#uint(e.committedAt))) return false;
    if (!(this.#key2(0x70, 0x68) && this.#hash(e, 54))) return false;
    this.prevAt = this.#p - 32;
    if (!(this.#key2(0x63, 0x68) && this.#hash(e, 86))) return false;
    this.contentAt = this.#p - 32;
    if (!(this.#key1(0x76) && this.#uint(e.payloadVersion))) return false;
    if (!(this.#key1(0x66) && this.#uint(e.flags))) return false;
    if (batch !== undefined) {
      // The decoder refuses a batch ref whose index is not below a non-zero count.
      if (!(batch.count > 0 && batch.index < batch.count && this.#key1(0x62) && bytes[this.#p++] === 0x93)) return false;
      if (!(this.#uint(batch.first) && this.#uint(batch.index) && this.#uint(batch.count))) return false;
    }
    return this.#key1(0x70) && this.#payloadToEnd();
  }

  #key1(c: number): boolean {
    const b = this.#b;
    const p = this.#p;
    if (b[p] !== 0xa1 || b[p + 1] !== c) return false;
    this.#p = p + 2;
    return true;
  }

  #key2(c0: number, c1: number): boolean {
    const b = this.#b;
    const p = this.#p;
    if (b[p] !== 0xa2 || b[p + 1] !== c0 || b[p + 2] !== c1) return false;
    this.#p = p + 3;
    return true;
  }

  /** The smallest msgpack encoding of `v` at the cursor (what the canonical encoder writes). */
  #uint(v: number): boolean {
    const b = this.#b;
    const p = this.#p;
    let n: number;
    if (v < 0x80) {
      if (b[p] !== v) return false;
      n = 1;
    } else if (v <= 0xff) {
      if (b[p] !== 0xcc || b[p + 1] !== v) return false;
      n = 2;
    } else if (v <= 0xffff) {
      if (b[p] !== 0xcd || b[p + 1] !== v >>> 8 || b[p + 2] !== (v & 0xff)) return false;
      n = 3;
    } else if (v <= 0xffffffff) {
      if (b[p] !== 0xce || b[p + 1] !== v >>> 24 || b[p + 2] !== ((v >>> 16) & 0xff) || b[p + 3] !== ((v >>> 8) & 0xff) || b[p + 4] !== (v & 0xff)) return false;
      n = 5;
    } else {
      if (!Number.isSafeInteger(v) || b[p] !== 0xcf) return false;
      const hi = Math.floor(v / 0x100000000);
      const lo = v >>> 0;
      for (let i = 0; i < 4; i++) if (b[p + 1 + i] !== ((hi >>> (24 - 8 * i)) & 0xff) || b[p + 5 + i] !== ((lo >>> (24 - 8 * i)) & 0xff)) return false;
      n = 9;
    }
    this.#p = p + n;
    return this.#p <= this.#to;
  }

  /** An all-ASCII `s` as the smallest str at the cursor (anything else is left to the decoder). */
  #ascii(s: string): boolean {
    const b = this.#b;
    let p = this.#p;
    const n = s.length;
    if (n < 32) {
      if (b[p] !== (0xa0 | n)) return false;
      p += 1;
    } else if (n <= 0xff) {
      if (b[p] !== 0xd9 || b[p + 1] !== n) return false;
      p += 2;
    } else return false;
    if (p + n > this.#to) return false;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80 || b[p + i] !== c) return false;
    }
    this.#p = p + n;
    return true;
  }

  #fixed(e: KeptHeaderFields, recordOffset: 0 | 54 | 86, at: number, length: number): boolean {
    const rb = (e as Partial<RecordBacked>).sameRecordBytes === undefined ? undefined : (e as unknown as RecordBacked);
    if (rb !== undefined) return rb.sameRecordBytes(recordOffset, this.#b, at, length);
    const want = recordOffset === 0 ? e.idBytes : recordOffset === 54 ? e.prevHash : e.contentHash;
    return want.length === length && sameBytes(want, this.#b, at);
  }

  /** bin 32 at the cursor, equal to the entry's prev hash (54) or content hash (86). */
  #hash(e: KeptHeaderFields, recordOffset: 54 | 86): boolean {
    const p = this.#p;
    if (this.#b[p] !== 0xc4 || this.#b[p + 1] !== 32 || p + 34 > this.#to || !this.#fixed(e, recordOffset, p + 2, 32)) return false;
    this.#p = p + 34;
    return true;
  }

  /** The payload: the smallest bin header, its bytes ending exactly at the end of the body. */
  #payloadToEnd(): boolean {
    const b = this.#b;
    const p = this.#p;
    const m = b[p];
    let n: number;
    let at: number;
    if (m === 0xc4) {
      n = b[p + 1]!;
      at = p + 2;
    } else if (m === 0xc5) {
      n = (b[p + 1]! << 8) | b[p + 2]!;
      if (n <= 0xff) return false;
      at = p + 3;
    } else if (m === 0xc6) {
      n = ((b[p + 1]! << 24) | (b[p + 2]! << 16) | (b[p + 3]! << 8) | b[p + 4]!) >>> 0;
      if (n <= 0xffff) return false;
      at = p + 5;
    } else return false;
    if (at + n !== this.#to) return false;
    this.payloadAt = at;
    return true;
  }
}
