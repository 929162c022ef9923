// Read-ahead for whole-log walks: chunks of whole frames with sound headers, read through a ReadWindow (so through
// Fs) and handed to a FrameDigester while the caller works on earlier chunks. Damage is never read past: a chunk
// ends before any frame whose header is not sound, and the caller walks that position itself.

import type { ChunkDigest, FrameDigester } from './digest-pool.js';
import { FRAME_HEADER_BYTES, FRAME_MAGIC, MAX_FRAME_BODY_BYTES } from './format.js';
import { WINDOW_BYTES, type ReadWindow } from './window.js';

/** `frames` whole frames starting at file offset `at` and ending at `end`, with their digests to come. */
export interface FrameChunk {
  readonly at: number;
  readonly end: number;
  readonly frames: number;
  /** The chunk's bytes (from `at`) and digests; a rejection is the read's or the digester's failure. */
  readonly digest: Promise<ChunkDigest>;
}

const quiet = () => undefined;

export class ChunkReadAhead {
  /** Chunks read (or being read) ahead, in file order; the first starts at `#headAt`. */
  #queue: Promise<FrameChunk | undefined>[] = [];
  #headAt = -1;
  /**
   * Chunk buffers the caller is done with. Why reuse: a fresh multi-MiB buffer per read is external memory,
   * and enough of it makes V8 run full mark-compacts over the whole index again and again.
   */
  readonly #free: Uint8Array[] = [];

  constructor(
    private readonly w: ReadWindow,
    private readonly digester: FrameDigester,
    /** How many chunks to keep in flight beyond the one being taken. */
    private readonly depth: number,
    private readonly chunkBytes = WINDOW_BYTES,
  ) {}

  /** The chunk that starts at `pos`, or undefined when no frame with a sound header starts there (damage, or the end). */
  async take(pos: number): Promise<FrameChunk | undefined> {
    if (this.#queue.length === 0 || this.#headAt !== pos) {
      this.#queue = [this.#guard(this.#read(pos))];
      this.#headAt = pos;
    }
    this.#fill();
    const chunk = await this.#queue.shift()!;
    if (chunk === undefined) this.#queue = [];
    else this.#headAt = chunk.end;
    this.#fill();
    return chunk;
  }

  /** Hands a chunk's bytes (ChunkDigest.bytes) back for reuse once nothing reads them any more. */
  release(bytes: Uint8Array): void {
    if (bytes.buffer.byteLength === this.chunkBytes && this.#free.length <= this.depth + 1) this.#free.push(new Uint8Array(bytes.buffer));
  }

  #fill(): void {
    while (this.#queue.length > 0 && this.#queue.length <= this.depth) {
      const last = this.#queue[this.#queue.length - 1]!;
      this.#queue.push(this.#guard(last.then((c) => (c === undefined ? undefined : this.#read(c.end)))));
    }
  }

  /** A chunk dropped from the queue (the walk went elsewhere) must not surface as an unhandled rejection. */
  #guard(p: Promise<FrameChunk | undefined>): Promise<FrameChunk | undefined> {
    p.then((c) => c?.digest.catch(quiet), quiet);
    return p;
  }

  async #read(at: number): Promise<FrameChunk | undefined> {
    const end = this.w.end;
    if (at + FRAME_HEADER_BYTES > end) return undefined;
    const buffer = this.#free.pop() ?? new Uint8Array(this.chunkBytes);
    let bytes = buffer.subarray(0, Math.min(this.chunkBytes, end - at));
    await this.w.readInto(at, bytes);
    let frames = 0;
    let p = 0;
    while (p + FRAME_HEADER_BYTES <= bytes.length) {
      const magic = ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!) >>> 0;
      const length = ((bytes[p + 4]! << 24) | (bytes[p + 5]! << 16) | (bytes[p + 6]! << 8) | bytes[p + 7]!) >>> 0;
      if (magic !== FRAME_MAGIC || length === 0 || length > MAX_FRAME_BODY_BYTES || at + p + FRAME_HEADER_BYTES + length > end) break;
      if (p + FRAME_HEADER_BYTES + length > bytes.length) {
        // A frame larger than a chunk is read whole, as a chunk of its own.
        if (frames === 0) {
          bytes = await this.w.read(at, FRAME_HEADER_BYTES + length);
          frames = 1;
          p = bytes.length;
        }
        break;
      }
      frames++;
      p += FRAME_HEADER_BYTES + length;
    }
    if (frames === 0) return undefined;
    return { at, end: at + p, frames, digest: this.digester.digest(bytes, frames) };
  }
}
