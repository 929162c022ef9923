// Checks an index entry against its frame: the field-by-field comparison (segment/header-match.ts, re-exported here)
// and a fast in-place check of a canonical body; a derived index is never believed over the frame (INV-DERIVED-NOT-AUTHORITY).

import { canonicalBinToEnd } from '../encoding/canonical-bin.js';
import type { IndexEntry } from './entry.js';

export { frameMismatch } from '../segment/header-match.js';

const utf8 = new TextEncoder();

/** Entries backed by a checkpoint record compare their fixed bytes in place (no view per field). */
interface RecordBacked {
  sameRecordBytes(recordOffset: 0 | 54 | 86, other: Uint8Array, from: number, length: number): boolean;
}

/**
 * A fast path for the checkpoint check at open: whether an event frame body is exactly the canonical
 * encoding of `entry`'s fields (fixed key order, smallest integers; no encryption or extensions), compared
 * in place without decoding. False means only "not shown here": the caller decodes and compares.
 */
export class CanonicalBodyMatcher {
  readonly #strings = new Map<string, Uint8Array>();
  #b: Uint8Array = new Uint8Array(0);
  #p = 0;

  #encoded(s: string): Uint8Array {
    let b = this.#strings.get(s);
    if (b === undefined) {
      b = utf8.encode(s);
      this.#strings.set(s, b);
    }
    return b;
  }

  /** Two (or three) key bytes at the cursor: a fixstr key of length 1 or 2. */
  #key(c0: number, c1 = -1): boolean {
    const b = this.#b;
    const p = this.#p;
    if (c1 === -1) {
      if (b[p] !== 0xa1 || b[p + 1] !== c0) return false;
      this.#p = p + 2;
      return true;
    }
    if (b[p] !== 0xa2 || b[p + 1] !== c0 || b[p + 2] !== c1) return false;
    this.#p = p + 3;
    return true;
  }

  /** The canonical (smallest) msgpack uint at the cursor equals `v`. */
  #uint(v: number): boolean {
    const b = this.#b;
    const p = this.#p;
    const m = b[p]!;
    let got: number;
    if (m < 0x80) {
      got = m;
      this.#p = p + 1;
    } else if (m === 0xcc) {
      got = b[p + 1]!;
      if (got < 0x80) return false;
      this.#p = p + 2;
    } else if (m === 0xcd) {
      got = (b[p + 1]! << 8) | b[p + 2]!;
      if (got <= 0xff) return false;
      this.#p = p + 3;
    } else if (m === 0xce) {
      got = ((b[p + 1]! << 24) | (b[p + 2]! << 16) | (b[p + 3]! << 8) | b[p + 4]!) >>> 0;
      if (got <= 0xffff) return false;
      this.#p = p + 5;
    } else if (m === 0xcf) {
      const hi = ((b[p + 1]! << 24) | (b[p + 2]! << 16) | (b[p + 3]! << 8) | b[p + 4]!) >>> 0;
      const lo = ((b[p + 5]! << 24) | (b[p + 6]! << 16) | (b[p + 7]! << 8) | b[p + 8]!) >>> 0;
      if (hi === 0 || hi > 0x1fffff) return false;
      got = hi * 0x100000000 + lo;
      this.#p = p + 9;
    } else return false;
    return got === v && this.#p <= b.length;
  }

  #bytes(want: Uint8Array, at: number): boolean {
    const b = this.#b;
    if (at + want.length > b.length) return false;
    for (let i = 0; i < want.length; i++) if (b[at + i] !== want[i]) return false;
    return true;
  }

  #fixed(e: IndexEntry, recordOffset: 0 | 54 | 86, at: number, length: number): boolean {
    const rb = (e as Partial<RecordBacked>).sameRecordBytes === undefined ? undefined : (e as unknown as RecordBacked);
    if (rb !== undefined) return rb.sameRecordBytes(recordOffset, this.#b, at, length);
    return this.#bytes(recordOffset === 0 ? e.idBytes : recordOffset === 54 ? e.prevHash : e.contentHash, at);
  }

  #bin32(e: IndexEntry, recordOffset: 54 | 86): boolean {
    const p = this.#p;
    if (this.#b[p] !== 0xc4 || this.#b[p + 1] !== 32 || !this.#fixed(e, recordOffset, p + 2, 32)) return false;
    this.#p = p + 34;
    return true;
  }

  #str(s: string): boolean {
    const b = this.#b;
    const p = this.#p;
    // Short ASCII (the usual entity and scope): compare char codes with the bytes, no encoding.
    if (s.length < 32 && b[p] === (0xa0 | s.length)) {
      let ascii = true;
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        if (b[p + 1 + i] !== c) return false;
      }
      if (ascii) {
        this.#p = p + 1 + s.length;
        return this.#p <= b.length;
      }
    }
    const want = this.#encoded(s);
    const n = want.length;
    let at: number;
    if (n < 32) {
      if (b[p] !== (0xa0 | n)) return false;
      at = p + 1;
    } else if (n <= 0xff) {
      if (b[p] !== 0xd9 || b[p + 1] !== n) return false;
      at = p + 2;
    } else if (n <= 0xffff) {
      if (b[p] !== 0xda || ((b[p + 1]! << 8) | b[p + 2]!) !== n) return false;
      at = p + 3;
    } else return false;
    if (!this.#bytes(want, at)) return false;
    this.#p = at + n;
    return true;
  }

  /** The payload: a canonical bin that ends exactly at the end of the body. */
  #payloadToEnd(): boolean {
    return canonicalBinToEnd(this.#b, this.#p, this.#b.length) >= 0;
  }

  matches(body: Uint8Array, e: IndexEntry): boolean {
    if (e.encryption !== undefined || e.extensions !== undefined) return false;
    const batch = e.batch;
    this.#b = body;
    const count = batch === undefined ? 13 : 14;
    if (body[0] !== (0x80 | count)) return false;
    this.#p = 1;
    // t: 0, then id as bin 16.
    if (!this.#key(0x74) || body[this.#p] !== 0x00) return false;
    this.#p++;
    if (!this.#key(0x69, 0x64) || body[this.#p] !== 0xc4 || body[this.#p + 1] !== 16 || !this.#fixed(e, 0, this.#p + 2, 16)) return false;
    this.#p += 18;
    return (
      this.#key(0x67) && this.#uint(e.globalSequence) &&
      this.#key(0x6e) && this.#uint(e.entitySequence) &&
      this.#key(0x6b) && this.#uint(e.kind) &&
      this.#key(0x65) && this.#str(e.entity) &&
      this.#key(0x73) && this.#str(e.scope) &&
      this.#key(0x74, 0x73) && this.#uint(e.committedAt) &&
      this.#key(0x70, 0x68) && this.#bin32(e, 54) &&
      this.#key(0x63, 0x68) && this.#bin32(e, 86) &&
      this.#key(0x76) && this.#uint(e.payloadVersion) &&
      this.#key(0x66) && this.#uint(e.flags) &&
      (batch === undefined ||
        (this.#key(0x62) && body[this.#p++] === 0x93 && batch.count > 0 && batch.index < batch.count &&
          this.#uint(batch.first) && this.#uint(batch.index) && this.#uint(batch.count))) &&
      this.#key(0x70) && this.#payloadToEnd()
    );
  }
}
