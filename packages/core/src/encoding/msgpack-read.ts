// Bounds-checked MessagePack reading primitives shared by the canonical codec and the frame codec.
// Invariant: no read passes the end of the input; every failure is an error of the calling codec's own type (its factory), never a RangeError.

/** What went wrong, for the codec's error factory to word in its own terms. */
export type MsgpackReadProblem =
  | { readonly kind: 'truncated'; readonly what: string; readonly need: number; readonly left: number; readonly at: number }
  | { readonly kind: 'utf8'; readonly at: number }
  /** The type byte at `at` is not one of the `expected` family ('an unsigned integer', 'bin', 'str', 'map', 'array'). */
  | { readonly kind: 'type'; readonly expected: string; readonly at: number }
  /** A u64 above 2^53 - 1, where a JS number is wanted. */
  | { readonly kind: 'unsafe-integer'; readonly at: number };

export interface MsgpackReaderOptions {
  /** Builds the error a failed read throws (the frame codec's FrameDecodeError, the canonical codec's BatpakError). */
  readonly error: (problem: MsgpackReadProblem) => Error;
  /** Keep a leading U+FEFF in decoded strings (the canonical codec round-trips it); default: the decoder drops it. */
  readonly keepBOM?: boolean;
}

const decoderKeepingBOM = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A cursor over one input: fixed-width big-endian reads, length-checked slices and UTF-8 strings. */
export class MsgpackReader {
  pos: number;
  readonly dv: DataView;
  readonly #error: (problem: MsgpackReadProblem) => Error;
  readonly #decoder: typeof decoder;

  constructor(
    readonly bytes: Uint8Array,
    start: number,
    options: MsgpackReaderOptions,
  ) {
    this.pos = start;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#error = options.error;
    this.#decoder = options.keepBOM === true ? decoderKeepingBOM : decoder;
  }

  /** Throws unless `n` more bytes are there. */
  need(n: number, what = 'input'): void {
    const left = this.bytes.length - this.pos;
    if (n > left) throw this.#error({ kind: 'truncated', what, need: n, left, at: this.pos });
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.dv.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(what = 'input'): bigint {
    this.need(8, what);
    const v = this.dv.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  /** The next `n` bytes as a view into the input (no copy). */
  subarray(n: number, what: string): Uint8Array {
    this.need(n, what);
    this.pos += n;
    return this.bytes.subarray(this.pos - n, this.pos);
  }

  /** The next `n` bytes as a copy. */
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The next `n` bytes decoded as strict UTF-8 (short ASCII, the usual key or entity, without the decoder). */
  utf8(n: number, what = 'string'): string {
    this.need(n, what);
    const start = this.pos;
    const end = start + n;
    const b = this.bytes;
    this.pos = end;
    if (n <= 64) {
      let v = '';
      let i = start;
      for (; i < end; i++) {
        const c = b[i]!;
        if (c >= 0x80) break;
        v += String.fromCharCode(c);
      }
      if (i === end) return v;
    }
    try {
      return this.#decoder.decode(b.subarray(start, end));
    } catch {
      throw this.#error({ kind: 'utf8', at: start });
    }
  }

  /**
   * The length in a str/bin/array/map header whose type byte `tag` was just read, or -1 when `tag` is not
   * of the family. `fix`/`fixMask` describe the fix form (mask 0: none); `tag8` may be -1 (no 8-bit form).
   */
  length(tag: number, fix: number, fixMask: number, tag8: number, tag16: number, tag32: number): number {
    if (fixMask !== 0 && (tag & ~fixMask) === fix) return tag & fixMask;
    if (tag === tag8) return this.u8();
    if (tag === tag16) return this.u16();
    if (tag === tag32) return this.u32();
    return -1;
  }

  /** An unsigned integer in any width (positive fixint, `cc`..`cf`) that fits a safe JS number. */
  uint(): number {
    const at = this.pos;
    const b = this.u8();
    if (b < 0x80) return b;
    switch (b) {
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf: {
        const v = this.u64();
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.#error({ kind: 'unsafe-integer', at });
        return Number(v);
      }
      default:
        throw this.#error({ kind: 'type', expected: 'an unsigned integer', at });
    }
  }

  #len(fix: number, fixMask: number, tag8: number, tag16: number, tag32: number, expected: string): number {
    const at = this.pos;
    const n = this.length(this.u8(), fix, fixMask, tag8, tag16, tag32);
    if (n === -1) throw this.#error({ kind: 'type', expected, at });
    return n;
  }

  /** A bin in any width, as a view into the input. */
  bin(): Uint8Array {
    return this.subarray(this.#len(-1, 0, 0xc4, 0xc5, 0xc6, 'bin'), 'bin');
  }

  /** A str in any width, decoded as strict UTF-8. */
  str(): string {
    return this.utf8(this.#len(0xa0, 0x1f, 0xd9, 0xda, 0xdb, 'str'));
  }

  /** A map header in any width: its entry count. */
  mapLen(): number {
    return this.#len(0x80, 0x0f, -1, 0xde, 0xdf, 'map');
  }

  /** An array header in any width: its item count. */
  arrayLen(): number {
    return this.#len(0x90, 0x0f, -1, 0xdc, 0xdd, 'array');
  }
}
