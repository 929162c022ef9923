// The live set of segment files: committed length per segment and lazily opened read handles.
// The active segment shares the writer's handle, so reads see exactly what was committed.

import { BatpakError, ioError } from '../errors.js';
import { bytesEqual } from '../encoding/hex.js';
import type { Fs, FsFile } from '../fs/fs.js';
import { borrowedFile } from '../fs/borrowed.js';
import { decodeFrameBody, FrameDecodeError, type EventFrame } from './frame.js';
import { frameAt } from './frames.js';
import type { KeptHeaderFields } from './header-fields.js';
import { frameMismatch } from './header-match.js';

interface SegmentSlot {
  readonly id: number;
  readonly path: string;
  /** Bytes of committed data (header + committed frames). */
  size: number;
  /** CRC-32 of the committed bytes, when known (for a sealed segment; the writer keeps the active one's). */
  crc: number | undefined;
  handle: FsFile | undefined;
  /** The writer owns this handle: do not close it here. */
  shared: boolean;
  opening: Promise<FsFile> | undefined;
}

export interface FrameLocation {
  readonly segmentId: number;
  readonly offset: number;
  readonly length: number;
}

/** What a frame read is checked against: the header fields kept for it (an index entry) and where it is. */
export type KeptFrame = KeptHeaderFields & FrameLocation;

/** Frames closer than this are read together (the gap is read and dropped). */
const RUN_GAP_BYTES = 16 * 1024;
/** One read never spans more than this. */
const RUN_MAX_BYTES = 1024 * 1024;

export class SegmentSet {
  readonly #fs: Fs;
  readonly #slots = new Map<number, SegmentSlot>();

  constructor(fs: Fs) {
    this.#fs = fs;
  }

  add(id: number, path: string, size: number, handle?: FsFile, crc?: number): void {
    this.#slots.set(id, { id, path, size, crc, handle, shared: handle !== undefined, opening: undefined });
  }

  crc(id: number): number | undefined {
    return this.#slots.get(id)?.crc;
  }

  setCrc(id: number, crc: number): void {
    const slot = this.#slots.get(id);
    if (slot !== undefined) slot.crc = crc;
  }

  has(id: number): boolean {
    return this.#slots.has(id);
  }

  path(id: number): string {
    const slot = this.#slots.get(id);
    if (slot === undefined) throw BatpakError.notFound(`segment ${id} is not part of the store`);
    return slot.path;
  }

  size(id: number): number {
    return this.#slots.get(id)?.size ?? 0;
  }

  setSize(id: number, size: number): void {
    const slot = this.#slots.get(id);
    if (slot !== undefined) slot.size = size;
  }

  /** Segment ids, ascending. */
  ids(): number[] {
    return [...this.#slots.keys()].sort((a, b) => a - b);
  }

  get count(): number {
    return this.#slots.size;
  }

  totalBytes(): number {
    let n = 0;
    for (const s of this.#slots.values()) n += s.size;
    return n;
  }

  async handle(id: number): Promise<FsFile> {
    const slot = this.#slots.get(id);
    if (slot === undefined) throw BatpakError.notFound(`segment ${id} is not part of the store`);
    if (slot.handle !== undefined) return slot.handle;
    if (slot.opening === undefined) {
      slot.opening = this.#fs.open(slot.path).then(
        (h) => {
          slot.handle = h;
          slot.opening = undefined;
          return h;
        },
        (err: unknown) => {
          slot.opening = undefined;
          throw ioError(err, `cannot open segment ${slot.path}`, { file: slot.path });
        },
      );
    }
    return slot.opening;
  }

  /** Opens every segment's read handle now: a reader then keeps reading the very files it indexed. */
  async openAll(): Promise<void> {
    for (const id of this.ids()) await this.handle(id);
  }

  /**
   * An `open` that returns this set's handle for a segment path (its close() leaves the handle open) and
   * opens anything else through Fs. A compaction in another process renames over a segment name or
   * removes it; the handle still reads the file that was indexed (INV-READER-CONSISTENT).
   */
  borrowingOpen(): Pick<Fs, 'open'> {
    return {
      open: async (path, options) => {
        const slot = options === undefined ? [...this.#slots.values()].find((s) => s.path === path) : undefined;
        if (slot === undefined) return this.#fs.open(path, options);
        return borrowedFile(await this.handle(slot.id));
      },
    };
  }

  /** The writer moved on from this segment: its handle becomes an ordinary read handle. */
  release(id: number): void {
    const slot = this.#slots.get(id);
    if (slot !== undefined) slot.shared = false;
  }

  /** Drops a segment from the set, closing its read handle (not a writer-shared one). */
  async remove(id: number): Promise<void> {
    const slot = this.#slots.get(id);
    if (slot === undefined) return;
    this.#slots.delete(id);
    if (slot.handle !== undefined && !slot.shared) await slot.handle.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    for (const slot of this.#slots.values()) {
      if (slot.handle !== undefined && !slot.shared) await slot.handle.close().catch(() => undefined);
      slot.handle = undefined;
    }
  }

  /** Reads and checks one frame (magic, length, CRC, decode, every header field), or fails with a typed error. */
  async readEventFrame(entry: KeptFrame, idBytes: Uint8Array): Promise<EventFrame> {
    // Snapshot the location: compaction may move the entry while this read awaits.
    const loc = { segmentId: entry.segmentId, offset: entry.offset, length: entry.length };
    return this.checkEventFrame(await this.#read(loc.segmentId, loc.offset, loc.length), entry, idBytes, loc);
  }

  /**
   * Reads several frames of one segment with one read per run of nearby frames (a scan in commit order
   * reads consecutive frames). Returns each frame's bytes, unchecked, by position in `locations`
   * (ascending offsets, all in `segmentId`); `checkEventFrame` checks each before use.
   */
  async readFrameRuns(segmentId: number, locations: readonly { readonly offset: number; readonly length: number }[]): Promise<Uint8Array[]> {
    const runs: { first: number; count: number; start: number; end: number }[] = [];
    let i = 0;
    while (i < locations.length) {
      const first = locations[i]!;
      let end = first.offset + first.length;
      let j = i + 1;
      for (; j < locations.length; j++) {
        const next = locations[j]!;
        // Nearby and forward only: a run never reads far past what it needs.
        if (next.offset < end || next.offset - end > RUN_GAP_BYTES || next.offset + next.length - first.offset > RUN_MAX_BYTES) break;
        end = next.offset + next.length;
      }
      runs.push({ first: i, count: j - i, start: first.offset, end });
      i = j;
    }
    // The runs are independent reads: in flight together, the thread pool serves them in parallel.
    const read = await Promise.all(runs.map((r) => this.#read(segmentId, r.start, r.end - r.start)));
    const out: Uint8Array[] = new Array(locations.length);
    runs.forEach((r, n) => {
      const bytes = read[n]!;
      for (let k = r.first; k < r.first + r.count; k++) {
        const l = locations[k]!;
        out[k] = bytes.subarray(l.offset - r.start, l.offset - r.start + l.length);
      }
    });
    return out;
  }

  async #read(segmentId: number, offset: number, length: number): Promise<Uint8Array> {
    const path = this.path(segmentId);
    const file = await this.handle(segmentId);
    let bytes: Uint8Array;
    try {
      bytes = await file.readAt(offset, length);
    } catch (err) {
      throw ioError(err, `cannot read ${path} at ${offset}`, { file: path, offset });
    }
    if (bytes.length !== length) {
      throw new BatpakError('ERR_IO', `short read of ${path} at ${offset}: ${bytes.length} of ${length} bytes`, {
        details: { file: path, offset },
      });
    }
    return bytes;
  }

  /**
   * Checks one frame's bytes against the index entry that led to it (magic, length, CRC, decode, id and
   * every header field): the index is derived, so a read never answers from a field its frame lacks.
   */
  checkEventFrame(bytes: Uint8Array, entry: KeptFrame, idBytes: Uint8Array, loc: FrameLocation = entry): EventFrame {
    const path = this.path(loc.segmentId);
    const bad = (reason: string) =>
      BatpakError.corruptSegment(path, loc.offset, reason);
    // The bytes must be exactly one whole frame of the indexed length.
    const step = bytes.length === loc.length && bytes.length > 0 ? frameAt(bytes, 0, 'none') : undefined;
    if (step === undefined || step.kind === 'damage' || step.length !== loc.length) throw bad('frame header does not match the index');
    if (step.crcOk !== true) throw bad('frame CRC mismatch');
    let frame;
    try {
      frame = decodeFrameBody(step.body!);
    } catch (err) {
      if (err instanceof FrameDecodeError) throw bad(`frame body does not decode: ${err.message}`);
      throw err;
    }
    if (frame.type !== 0 || !bytesEqual(frame.id, idBytes)) throw bad('frame is not the indexed event');
    const field = frameMismatch(entry, frame);
    if (field !== undefined) throw bad(`the index's ${field} differs from the frame`);
    return frame;
  }
}
