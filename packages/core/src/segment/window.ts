// A forward-moving read window over one file's prefix: whole-log walks (verifyChain, the checkpoint
// check) read a few MiB at a time instead of a 64 MiB segment at once. Short reads are refused.

import { BatpakError, ioError } from '../errors.js';
import type { Fs, FsFile } from '../fs/fs.js';
import { openForReading } from './read.js';

/**
 * Why chunks: one large external allocation per segment makes V8 run a full mark-compact over the
 * whole index (hundreds of MB at a million events); a few MiB at a time is reclaimed by scavenges.
 */
export const WINDOW_BYTES = 4 * 1024 * 1024;

export class ReadWindow {
  /** The bytes in view and the file offset of `bytes[0]`. */
  bytes: Uint8Array = new Uint8Array(0);
  at = 0;

  private constructor(
    private readonly file: FsFile,
    readonly path: string,
    /** Exclusive end of the readable prefix: min(requested length, file size). */
    readonly end: number,
    private readonly chunk: number,
  ) {}

  /** Opens `path` for reading `[0, length)` (or to its end); the caller must `close()` it. */
  static async open(fs: Pick<Fs, 'open'>, path: string, length?: number, chunk = WINDOW_BYTES): Promise<ReadWindow> {
    const file = await openForReading(fs, path);
    try {
      const size = await file.size();
      return new ReadWindow(file, path, length === undefined ? size : Math.min(length, size), chunk);
    } catch (err) {
      await file.close().catch(() => undefined);
      throw ioError(err, `cannot read ${path}`, { file: path });
    }
  }

  /**
   * Makes `[pos, pos + length)` readable at `bytes[pos - at]`. False when that range passes `end`;
   * a short read from the file is an error, never mistaken for the end.
   */
  async ensure(pos: number, length: number): Promise<boolean> {
    if (pos + length > this.end) return false;
    if (pos >= this.at && pos + length <= this.at + this.bytes.length) return true;
    const want = Math.min(Math.max(this.chunk, length), this.end - pos);
    this.bytes = await this.read(pos, want);
    this.at = pos;
    return true;
  }

  /** Reads `[pos, pos + length)` of the file without moving the window (for read-ahead); a short read is an error. */
  async read(pos: number, length: number): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      bytes = await this.file.readAt(pos, length);
    } catch (err) {
      throw ioError(err, `cannot read ${this.path}`, { file: this.path });
    }
    if (bytes.length !== length) {
      throw new BatpakError('ERR_IO', `short read of ${this.path}: ${bytes.length} of ${length} bytes at offset ${pos}`, { details: { file: this.path, offset: pos } });
    }
    return bytes;
  }

  /** The bytes `[pos, pos + length)`; call `ensure` first. */
  view(pos: number, length: number): Uint8Array {
    return this.bytes.subarray(pos - this.at, pos - this.at + length);
  }

  /** File offset of the first occurrence of `needle` at or after `from` (wholly before `end`), or -1. */
  async indexOf(needle: Uint8Array, from: number): Promise<number> {
    let p = from;
    while (p + needle.length <= this.end) {
      await this.ensure(p, Math.min(Math.max(this.chunk, needle.length), this.end - p));
      const b = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
      const local = b.indexOf(needle, p - this.at);
      if (local !== -1) return this.at + local;
      const seen = this.at + this.bytes.length;
      if (seen >= this.end) return -1;
      // Overlap by one needle less a byte so a match across the chunk edge is found.
      p = Math.max(p + 1, seen - needle.length + 1);
    }
    return -1;
  }

  /**
   * Fills `target` from file offset `pos` (which must lie within `end`) without moving the window, into the
   * caller's buffer when the file can (FsFile.readInto); a short read is an error.
   */
  async readInto(pos: number, target: Uint8Array): Promise<void> {
    const file = this.file;
    if (file.readInto === undefined) {
      target.set(await this.read(pos, target.length));
      return;
    }
    let got: number;
    try {
      got = await file.readInto(pos, target);
    } catch (err) {
      throw ioError(err, `cannot read ${this.path}`, { file: this.path });
    }
    if (got !== target.length) {
      throw new BatpakError('ERR_IO', `short read of ${this.path}: ${got} of ${target.length} bytes at offset ${pos}`, { details: { file: this.path, offset: pos } });
    }
  }

  async close(): Promise<void> {
    await this.file.close().catch(() => undefined);
  }
}
