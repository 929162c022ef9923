// Whether an event frame body is exactly the canonical encoding of the header fields a reader kept for it (encrypted
// and with extensions too), read in place (no decode), and where its prev hash, content hash and payload lie.
// Invariant: a match implies decodeFrameBody accepts the body and frameMismatch finds no difference; anything else is "not shown here".

import { canonicalBinToEnd } from '../encoding/canonical-bin.js';
import type { EncryptionRef, KeptHeaderFields } from './header-fields.js';

/** Entries backed by a checkpoint record compare their id (0), prevHash (54) and contentHash (86) in place. */
interface RecordBacked {
  sameRecordBytes(recordOffset: 0 | 54 | 86, other: Uint8Array, from: number, length: number): boolean;
}

function sameBytes(want: Uint8Array, b: Uint8Array, at: number): boolean {
  for (let i = 0; i < want.length; i++) if (b[at + i] !== want[i]) return false;
  return true;
}

/** Whether `s` is all ASCII and equal to `b[at, at + s.length)`. */
function sameAscii(s: string, b: Uint8Array, at: number): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || b[at + i] !== c) return false;
  }
  return true;
}

/** Whether the bytes at `a` sort strictly before those at `c` (byte-wise, a prefix first). */
function ascending(b: Uint8Array, a: number, aLength: number, c: number, cLength: number): boolean {
  const n = Math.min(aLength, cLength);
  for (let i = 0; i < n; i++) if (b[a + i] !== b[c + i]) return b[a + i]! < b[c + i]!;
  return aLength < cLength;
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
   * lengths, ASCII entity, scope and extension keys), with the payload running to `to`.
   */
  matches(bytes: Uint8Array, from: number, to: number, e: KeptHeaderFields): boolean {
    const batch = e.batch;
    const encryption = e.encryption;
    const extensions = e.extensions;
    this.#b = bytes;
    this.#to = to;
    // 13 keys, one more for each optional field; 16 (all three) takes a map16 header.
    const keys = 13 + (batch === undefined ? 0 : 1) + (encryption === undefined ? 0 : 1) + (extensions === undefined ? 0 : 1);
    let at = from + 1;
    if (keys <= 15) {
      if (bytes[from] !== (0x80 | keys)) return false;
    } else {
      if (bytes[from] !== 0xde || bytes[from + 1] !== 0 || bytes[from + 2] !== keys) return false;
      at = from + 3;
    }
    // t: 0, then id: bin 16.
    if (bytes[at] !== 0xa1 || bytes[at + 1] !== 0x74 || bytes[at + 2] !== 0x00) return false;
    if (bytes[at + 3] !== 0xa2 || bytes[at + 4] !== 0x69 || bytes[at + 5] !== 0x64 || bytes[at + 6] !== 0xc4 || bytes[at + 7] !== 16) return false;
    if (at + 24 > to || !this.#fixed(e, 0, at + 8, 16)) return false;
    this.#p = at + 24;
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
    if (encryption !== undefined && !(this.#key1(0x78) && this.#encryption(encryption))) return false;
    if (extensions !== undefined && !(this.#key1(0x72) && this.#extensions(extensions))) return false;
    return this.#key1(0x70) && this.#payloadToEnd();
  }

  /** `x`'s map: `ks` (the scope bytes), `nc` (a 24-byte nonce), `kg` only when the generation is not 0. */
  #encryption(x: EncryptionRef): boolean {
    const b = this.#b;
    const gen = x.generation;
    if (b[this.#p++] !== (gen === 0 ? 0x82 : 0x83)) return false;
    if (!(this.#key2(0x6b, 0x73) && this.#bin(x.scope))) return false;
    // The decoder refuses a nonce of any other length.
    if (!(x.nonce.length === 24 && this.#key2(0x6e, 0x63) && this.#bin(x.nonce))) return false;
    return gen === 0 || (this.#key2(0x6b, 0x67) && this.#uint(gen));
  }

  /**
   * `r`'s map: exactly the entry's extensions, keys ASCII and in ascending byte order (as the encoder sorts them),
   * each value equal. Ascending keys are distinct, so as many keys as the entry has, each found, is the same map.
   */
  #extensions(r: ReadonlyMap<string, Uint8Array>): boolean {
    const b = this.#b;
    const n = r.size;
    if (n === 0 || n > 15 || b[this.#p++] !== (0x80 | n)) return false;
    let prevAt = -1;
    let prevLength = 0;
    for (let i = 0; i < n; i++) {
      const k = b[this.#p]!;
      if (k < 0xa0 || k > 0xbf) return false;
      const at = this.#p + 1;
      const length = k & 0x1f;
      if (at + length > this.#to || (prevAt !== -1 && !ascending(b, prevAt, prevLength, at, length))) return false;
      let value: Uint8Array | undefined;
      for (const [key, v] of r) {
        if (key.length === length && sameAscii(key, b, at)) {
          value = v;
          break;
        }
      }
      this.#p = at + length;
      if (value === undefined || !this.#bin(value)) return false;
      prevAt = at;
      prevLength = length;
    }
    return true;
  }

  /** The smallest bin header for `want` at the cursor, then its bytes. */
  #bin(want: Uint8Array): boolean {
    const b = this.#b;
    let p = this.#p;
    const n = want.length;
    if (n <= 0xff) {
      if (b[p] !== 0xc4 || b[p + 1] !== n) return false;
      p += 2;
    } else if (n <= 0xffff) {
      if (b[p] !== 0xc5 || b[p + 1] !== n >>> 8 || b[p + 2] !== (n & 0xff)) return false;
      p += 3;
    } else return false;
    if (p + n > this.#to || !sameBytes(want, b, p)) return false;
    this.#p = p + n;
    return true;
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
    const at = canonicalBinToEnd(this.#b, this.#p, this.#to);
    if (at < 0) return false;
    this.payloadAt = at;
    return true;
  }
}
