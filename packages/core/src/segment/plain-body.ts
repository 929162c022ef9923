// Reads an event frame body in place when it is the canonical encoding of a plain event (the keys in the encoder's
// order, a batch ref or not; no encryption or extensions): where its id, entity, hashes and payload lie, and its
// sequence, flags and batch ref. Invariant: true only when decodeFrameBody accepts the body and yields exactly these fields.

import { canonicalBinToEnd } from '../encoding/canonical-bin.js';

/** The fields of the body last read, as offsets into its bytes (or values). */
export class PlainEventBody {
  idAt = 0;
  globalSequence = 0;
  flags = 0;
  /** The batch ref's fields; `batchCount` 0 when the event has none. */
  batchFirst = 0;
  batchIndex = 0;
  batchCount = 0;
  entitySequence = 0;
  kind = 0;
  entityAt = 0;
  entityLength = 0;
  scopeAt = 0;
  scopeLength = 0;
  committedAt = 0;
  payloadVersion = 0;
  prevAt = 0;
  contentAt = 0;
  payloadAt = 0;
  #b: Uint8Array = new Uint8Array(0);
  #p = 0;

  /**
   * Whether `bytes[from, to)` is a plain event body in canonical form (smallest integers and headers, ASCII entity
   * and scope, the payload ending exactly at `to`). False means only "not shown here": the caller decodes it.
   */
  read(bytes: Uint8Array, from: number, to: number): boolean {
    this.#b = bytes;
    // A map of 13 keys (14 with a batch ref), then t: 0 and id: bin 16.
    const keys = bytes[from];
    if (keys !== 0x8d && keys !== 0x8e) return false;
    const at = from + 1;
    if (bytes[at] !== 0xa1 || bytes[at + 1] !== 0x74 || bytes[at + 2] !== 0x00) return false;
    if (bytes[at + 3] !== 0xa2 || bytes[at + 4] !== 0x69 || bytes[at + 5] !== 0x64 || bytes[at + 6] !== 0xc4 || bytes[at + 7] !== 16) return false;
    this.idAt = at + 8;
    this.#p = at + 24;
    if (!this.#key1(0x67)) return false;
    const g = this.#uint();
    if (g < 0 || !this.#key1(0x6e)) return false;
    const n = this.#uint();
    if (n < 0) return false;
    const kind = this.#key1(0x6b) ? this.#uint() : -1;
    if (kind < 0 || kind > 0xffff || !this.#key1(0x65)) return false;
    this.entityAt = this.#ascii();
    this.entityLength = this.#p - this.entityAt;
    if (this.entityAt < 0 || !this.#key1(0x73)) return false;
    this.scopeAt = this.#ascii();
    this.scopeLength = this.#p - this.scopeAt;
    if (this.scopeAt < 0 || !this.#key2(0x74, 0x73)) return false;
    const ts = this.#uint();
    if (ts < 0) return false;
    if (!this.#key2(0x70, 0x68) || !this.#hash()) return false;
    this.prevAt = this.#p - 32;
    if (!this.#key2(0x63, 0x68) || !this.#hash()) return false;
    this.contentAt = this.#p - 32;
    if (!this.#key1(0x76)) return false;
    const v = this.#uint();
    if (v < 0 || !this.#key1(0x66)) return false;
    const flags = this.#uint();
    if (flags < 0) return false;
    this.batchCount = 0;
    if (keys === 0x8e) {
      // b: [first, index, count], which the decoder takes only with the index below a non-zero count.
      if (!this.#key1(0x62) || bytes[this.#p++] !== 0x93) return false;
      const first = this.#uint();
      const index = first < 0 ? -1 : this.#uint();
      const count = index < 0 ? -1 : this.#uint();
      if (!(count > 0 && index < count)) return false;
      this.batchFirst = first;
      this.batchIndex = index;
      this.batchCount = count;
    }
    if (!this.#key1(0x70)) return false;
    this.globalSequence = g;
    this.entitySequence = n;
    this.kind = kind;
    this.committedAt = ts;
    this.payloadVersion = v;
    this.flags = flags;
    // Every read above lies before the payload, and the payload ends at `to`: nothing was read past the body.
    return this.#payloadToEnd(to);
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

  /** The smallest msgpack encoding of an unsigned integer (at most 2^53 - 1) at the cursor, or -1. */
  #uint(): number {
    const b = this.#b;
    const p = this.#p;
    const m = b[p];
    if (m === undefined) return -1;
    if (m < 0x80) {
      this.#p = p + 1;
      return m;
    }
    let v: number;
    if (m === 0xcc) {
      v = b[p + 1]!;
      if (!(v >= 0x80)) return -1;
      this.#p = p + 2;
    } else if (m === 0xcd) {
      v = (b[p + 1]! << 8) | b[p + 2]!;
      if (!(v > 0xff)) return -1;
      this.#p = p + 3;
    } else if (m === 0xce) {
      v = ((b[p + 1]! << 24) | (b[p + 2]! << 16) | (b[p + 3]! << 8) | b[p + 4]!) >>> 0;
      if (!(v > 0xffff)) return -1;
      this.#p = p + 5;
    } else if (m === 0xcf) {
      const hi = ((b[p + 1]! << 24) | (b[p + 2]! << 16) | (b[p + 3]! << 8) | b[p + 4]!) >>> 0;
      const lo = ((b[p + 5]! << 24) | (b[p + 6]! << 16) | (b[p + 7]! << 8) | b[p + 8]!) >>> 0;
      // Only a value above u32 takes 9 bytes; above 2^53 - 1 the decoder refuses it.
      if (!(hi > 0 && hi < 0x200000)) return -1;
      v = hi * 0x100000000 + lo;
      this.#p = p + 9;
    } else return -1;
    return v;
  }

  /** An all-ASCII str with the smallest header at the cursor: the offset of its bytes, or -1. */
  #ascii(): number {
    const b = this.#b;
    let p = this.#p;
    const m = b[p];
    let n: number;
    if (m !== undefined && m >= 0xa0 && m <= 0xbf) {
      n = m & 0x1f;
      p += 1;
    } else if (m === 0xd9) {
      n = b[p + 1]!;
      if (!(n >= 32)) return -1;
      p += 2;
    } else return -1;
    for (let i = 0; i < n; i++) if (!((b[p + i] as number) < 0x80)) return -1;
    this.#p = p + n;
    return p;
  }

  /** bin 32 at the cursor. */
  #hash(): boolean {
    const p = this.#p;
    if (this.#b[p] !== 0xc4 || this.#b[p + 1] !== 32) return false;
    this.#p = p + 34;
    return true;
  }

  /** The payload: the smallest bin header, its bytes ending exactly at `to`. */
  #payloadToEnd(to: number): boolean {
    const at = canonicalBinToEnd(this.#b, this.#p, to);
    if (at < 0) return false;
    this.payloadAt = at;
    return true;
  }
}
