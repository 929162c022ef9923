// Width-exact MessagePack writing primitives shared by the canonical codec and the frame codec.
// Invariant: every header is written in the smallest form MessagePack allows (FORMAT.md § Conventions), so two codecs built on it can never disagree on a byte.

/** Bytes a uint takes: positive fixint, `cc`, `cd`, `ce` or `cf`. */
export const uintSize = (n: number): number => (n < 0x80 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9);
/** Bytes a bin of `n` bytes takes (header + data): `c4`, `c5` or `c6`. */
export const binSize = (n: number): number => n + (n <= 0xff ? 2 : n <= 0xffff ? 3 : 5);
/** Bytes a str of `n` UTF-8 bytes takes (header + data): fixstr, `d9`, `da` or `db`. */
export const strSize = (n: number): number => n + (n < 32 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5);

/** Largest length a str, bin, array or map header can carry (32-bit). */
export const MAX_MSGPACK_LENGTH = 0xffffffff;

/**
 * An append-only byte buffer with MessagePack header writers. Sized up front by a caller that knows the
 * exact length (the frame codec) it never reallocates; otherwise it doubles as needed.
 */
export class MsgpackWriter {
  buf: Uint8Array;
  view: DataView;
  pos: number;

  /**
   * A writer over a fresh buffer of `size` bytes, or over `buffer` (which must start at its ArrayBuffer's first
   * byte: `view` addresses the whole ArrayBuffer), writing from `start`.
   */
  constructor(size: number | Uint8Array = 256, start = 0) {
    this.buf = typeof size === 'number' ? new Uint8Array(size) : size;
    this.view = new DataView(this.buf.buffer);
    this.pos = start;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, 16);
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  tagU8(tag: number, v: number): void {
    this.ensure(2);
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = v;
  }

  tagU16(tag: number, v: number): void {
    this.ensure(3);
    this.buf[this.pos] = tag;
    this.view.setUint16(this.pos + 1, v);
    this.pos += 3;
  }

  tagU32(tag: number, v: number): void {
    this.ensure(5);
    this.buf[this.pos] = tag;
    this.view.setUint32(this.pos + 1, v);
    this.pos += 5;
  }

  /** `tag` then the low 64 bits of `v`, big-endian (u64 `cf` or i64 `d3`). */
  tagU64(tag: number, v: bigint): void {
    this.ensure(9);
    this.buf[this.pos] = tag;
    this.view.setBigUint64(this.pos + 1, BigInt.asUintN(64, v));
    this.pos += 9;
  }

  /** `ca` and an f32 (the caller checks that `v` is representable). */
  tagF32(v: number): void {
    this.ensure(5);
    this.buf[this.pos] = 0xca;
    this.view.setFloat32(this.pos + 1, v);
    this.pos += 5;
  }

  /** `cb` and an f64. */
  tagF64(v: number): void {
    this.ensure(9);
    this.buf[this.pos] = 0xcb;
    this.view.setFloat64(this.pos + 1, v);
    this.pos += 9;
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n);
    // Keys, ids and hashes are short: a loop costs less than the call into `set` up to 32 bytes.
    if (n <= 32) {
      const buf = this.buf;
      const at = this.pos;
      for (let i = 0; i < n; i++) buf[at + i] = b[i]!;
    } else this.buf.set(b, this.pos);
    this.pos += n;
  }

  /** A non-negative safe integer in its smallest form. */
  uint(v: number): void {
    if (v < 0x80) this.u8(v);
    else if (v <= 0xff) this.tagU8(0xcc, v);
    else if (v <= 0xffff) this.tagU16(0xcd, v);
    else if (v <= 0xffffffff) this.tagU32(0xce, v);
    else {
      // A safe integer above 2^32 (a commit time in ms: every event has one) as two u32 halves: no BigInt per value.
      this.ensure(9);
      this.buf[this.pos] = 0xcf;
      this.view.setUint32(this.pos + 1, Math.floor(v / 0x1_0000_0000));
      this.view.setUint32(this.pos + 5, v >>> 0);
      this.pos += 9;
    }
  }

  /** A str header for `n` UTF-8 bytes (fixstr up to 31, then `d9`/`da`/`db`); `n` ≤ MAX_MSGPACK_LENGTH. */
  strHeader(n: number): void {
    if (n <= 31) this.u8(0xa0 | n);
    else if (n <= 0xff) this.tagU8(0xd9, n);
    else if (n <= 0xffff) this.tagU16(0xda, n);
    else this.tagU32(0xdb, n);
  }

  /** A bin header (`c4`/`c5`/`c6`; bin has no fix form); `n` ≤ MAX_MSGPACK_LENGTH. */
  binHeader(n: number): void {
    if (n <= 0xff) this.tagU8(0xc4, n);
    else if (n <= 0xffff) this.tagU16(0xc5, n);
    else this.tagU32(0xc6, n);
  }

  /** An array header (fixarray up to 15, then `dc`/`dd`); `n` ≤ MAX_MSGPACK_LENGTH. */
  arrayHeader(n: number): void {
    if (n <= 15) this.u8(0x90 | n);
    else if (n <= 0xffff) this.tagU16(0xdc, n);
    else this.tagU32(0xdd, n);
  }

  /** A map header (fixmap up to 15, then `de`/`df`); `n` ≤ MAX_MSGPACK_LENGTH. */
  mapHeader(n: number): void {
    if (n <= 15) this.u8(0x80 | n);
    else if (n <= 0xffff) this.tagU16(0xde, n);
    else this.tagU32(0xdf, n);
  }

  /** A str of already-encoded UTF-8 bytes. */
  str(utf8: Uint8Array): void {
    this.strHeader(utf8.length);
    this.bytes(utf8);
  }

  bin(b: Uint8Array): void {
    this.binHeader(b.length);
    this.bytes(b);
  }
}
