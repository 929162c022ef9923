// The segment writer: appends whole commit groups to the active segment (one gathered write, durable before it
// resolves under sync 'always': O_DSYNC, or a write then an fsync) and rotates between groups (store/append-pipeline.ts step 5).
// Invariant: a later group never lands behind a partial one — a failed group is cut back off the file,
// and if that cut (or an fsync) fails, the writer refuses every later write until the store is reopened.

import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import { BatpakError, ioError } from '../errors.js';
import type { AppendHint, Fs, FsFile } from '../fs/fs.js';
import { encodeSegmentHeader, FORMAT_VERSION } from './format.js';

/** Errnos a write fails with before anything reaches the disk: the file is as before the write once it is cut back. */
const OUT_OF_SPACE: ReadonlySet<unknown> = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

export interface ActiveSegment {
  readonly id: number;
  readonly path: string;
  readonly file: FsFile;
  size: number;
  /** CRC-32 of the segment's bytes [0, size), kept as groups land (for the cold-start checkpoint). */
  crc: number;
  /**
   * How far the file may reach with zeros written past `size` (FsFile.preallocate); `size` or less when it holds
   * nothing past its data. Cut back to `size` before the segment is sealed or the store closes.
   */
  zeroedTo?: number;
}

/**
 * How far ahead of the data a durable segment is zero-filled, a step at a time. A durable append into written zeros
 * skips the journal commit a growing file needs (~0.45 → ~0.25 ms per 21 KB O_DSYNC write on this ext4 VM); the zeros
 * themselves go out unsynced, once per step, and are cut off at the seal.
 */
export const PREALLOCATE_STEP_BYTES = 4 << 20;

/** Where writeGroup reports how long its write and its fsync took (milliseconds), for the commit statistics. */
export interface WriteTiming {
  writeMs: number;
  fsyncMs: number;
}

export interface SegmentWriterOptions {
  readonly fs: Fs;
  readonly segmentPath: (id: number) => string;
  readonly segmentMaxBytes: number;
  readonly sync: boolean;
  /** Called after a rotation made a new segment durable and active. */
  readonly onRotate: (segment: ActiveSegment, previous: ActiveSegment) => void;
}

/**
 * Creates a segment file durably: header written, file fsynced, directory fsynced. `syncAppends` (sync 'always')
 * asks the Fs to make every later append durable by itself (FsOpenOptions.syncAppends).
 */
export async function createSegment(fs: Fs, path: string, id: number, nowMs: number, syncAppends = false): Promise<ActiveSegment> {
  let file: FsFile | undefined;
  try {
    file = await fs.open(path, { create: true, exclusive: true });
    const header = encodeSegmentHeader({ version: FORMAT_VERSION, flags: 0, segmentId: id, createdAtMs: nowMs });
    await file.append([header]);
    await file.fsync();
    await fs.syncDir(dirname(path));
    if (syncAppends) {
      // The groups' handle: every append through it is durable by itself. Only commit groups go through it, so a
      // failed durable append is always a failed group (the writer's stop rule), never a failed segment creation.
      const durable = await fs.open(path, { write: true, syncAppends: true, preallocate: true });
      await file.close();
      file = durable;
    }
    return { id, path, file, size: header.length, crc: crc32(header) };
  } catch (err) {
    if (file !== undefined) await file.close().catch(() => undefined);
    await fs.remove(path, { force: true }).catch(() => undefined);
    throw ioError(err, `cannot create segment ${path}`, { file: path });
  }
}

export class SegmentWriter {
  readonly #opts: SegmentWriterOptions;
  #active: ActiveSegment;
  #failure: BatpakError | undefined;
  #wrote = false;

  constructor(active: ActiveSegment, opts: SegmentWriterOptions) {
    this.#active = active;
    this.#opts = opts;
  }

  get active(): ActiveSegment {
    return this.#active;
  }

  /** Whether a group was written since this writer was made (this process appended to the store). */
  get hasWritten(): boolean {
    return this.#wrote;
  }

  /** Set once a failure left the file in an unknown state; every later write is refused. */
  get failure(): BatpakError | undefined {
    return this.#failure;
  }

  #refuseIfFailed(): void {
    if (this.#failure !== undefined) {
      throw new BatpakError('ERR_WRITER_FAILED', `the writer stopped after an earlier failure; reopen the store: ${this.#failure.message}`, {
        cause: this.#failure,
      });
    }
  }

  /**
   * Writes one group; resolves with the segment and offset of its first byte once the group is on
   * disk (and durable under sync). On failure the group is cut off the file again, so a later group
   * never lands behind a partial one; if that cut fails too, the writer refuses all further writes.
   */
  async writeGroup(frames: readonly Uint8Array[], nowMs: number, timing?: WriteTiming, hint?: () => AppendHint | undefined): Promise<{ segmentId: number; offset: number }> {
    this.#refuseIfFailed();
    // Awaited only when a rotation is due: otherwise the append below is issued before this call returns, and the
    // caller can do the group's other work (its index entries, its receipts) while the write is in flight.
    if (this.#active.size >= this.#opts.segmentMaxBytes) await this.#rotate(nowMs);
    const seg = this.#active;
    const start = seg.size;
    let bytes = 0;
    for (const f of frames) bytes += f.length;
    let t = performance.now();
    if (seg.file.preallocate !== undefined && start + bytes > (seg.zeroedTo ?? 0)) await this.#preallocate(seg, start + bytes);
    try {
      // Asked only now: a rotation above may have let more appends queue up behind this group.
      await seg.file.append(frames, hint?.());
      seg.size = start + bytes;
      this.#wrote = true;
      for (const f of frames) seg.crc = crc32(f, seg.crc);
    } catch (err) {
      await this.#cutBack(seg, start, err);
      const failed = ioError(err, `cannot append to ${seg.path}`, { file: seg.path, offset: start });
      // A durable append that failed may have failed while writing back, as a failed fsync does: the same rule holds
      // (nothing on this file is trusted until recovery runs again). Running out of space is refused before any
      // byte is written back, so it stays a plain failed write that was cut back.
      if (seg.file.appendsDurable === true && !OUT_OF_SPACE.has((err as { code?: unknown }).code)) this.#failure ??= failed;
      throw failed;
    }
    if (timing !== undefined) {
      timing.writeMs = performance.now() - t;
      t = performance.now();
    }
    // A file whose appends are durable (O_DSYNC) needs no fsync: the append above returned after its data and the
    // size were on disk, and a failure there was cut back like any failed write.
    if (this.#opts.sync && seg.file.appendsDurable !== true) {
      try {
        await seg.file.fsync();
        if (timing !== undefined) timing.fsyncMs = performance.now() - t;
      } catch (err) {
        // After a failed fsync the kernel may have dropped the dirty pages and a retry can lie:
        // nothing on this file can be trusted until recovery runs again.
        this.#failure = ioError(err, `fsync of ${seg.path} failed`, { file: seg.path });
        throw this.#failure;
      }
    }
    return { segmentId: seg.id, offset: start };
  }

  /**
   * Zero-fills the segment a step past `need` (at most to the size limit, where it rotates). The zeros only make later
   * appends cheaper: a failure here leaves the file longer by some zeros, which the seal cuts off, and stops the filling.
   */
  async #preallocate(seg: ActiveSegment, need: number): Promise<void> {
    const to = Math.max(need, Math.min(Math.max(seg.zeroedTo ?? 0, seg.size) + PREALLOCATE_STEP_BYTES, this.#opts.segmentMaxBytes));
    try {
      await seg.file.preallocate!(to);
      seg.zeroedTo = to;
    } catch {
      seg.zeroedTo = Number.MAX_SAFE_INTEGER;
    }
  }

  /** Cuts the zeros past the active segment's data off the file (durable after the next fsync); a failure stops the writer. */
  async #cutZeros(seg: ActiveSegment): Promise<void> {
    if ((seg.zeroedTo ?? 0) <= seg.size) return;
    try {
      await seg.file.truncate(seg.size);
      seg.zeroedTo = seg.size;
    } catch (err) {
      this.#failure = ioError(err, `cannot cut the preallocated zeros off ${seg.path}`, { file: seg.path, offset: seg.size });
      throw this.#failure;
    }
  }

  async #cutBack(seg: ActiveSegment, start: number, cause: unknown): Promise<void> {
    try {
      await seg.file.truncate(start);
      await seg.file.fsync();
      seg.size = start;
      seg.zeroedTo = start;
    } catch (err) {
      this.#failure = ioError(err, `cannot cut a failed write back off ${seg.path} (after: ${String(cause)})`, {
        file: seg.path,
        offset: start,
      });
    }
  }

  async #rotate(nowMs: number): Promise<void> {
    const seg = this.#active;
    // A sealed segment ends at its last frame: the zeros go, durably, before the next segment exists.
    const zeros = (seg.zeroedTo ?? 0) > seg.size;
    await this.#cutZeros(seg);
    if (!this.#opts.sync || zeros) {
      try {
        await seg.file.fsync();
      } catch (err) {
        this.#failure = ioError(err, `fsync of ${seg.path} failed`, { file: seg.path });
        throw this.#failure;
      }
    }
    const id = seg.id + 1;
    const next = await createSegment(this.#opts.fs, this.#opts.segmentPath(id), id, nowMs, this.#opts.sync);
    this.#active = next;
    this.#opts.onRotate(next, seg);
  }

  /**
   * Seals the active segment now instead of at the next group that finds it full: a new segment becomes active and
   * `onRotate` runs, as for a rotation at the size limit (close uses it; nothing may be writing meanwhile).
   */
  async sealActive(nowMs: number): Promise<void> {
    this.#refuseIfFailed();
    await this.#rotate(nowMs);
  }

  /** fsync of the active segment (for sync 'none' stores and close, which `trim` first). */
  async sync(trim = false): Promise<void> {
    this.#refuseIfFailed();
    if (trim) await this.#cutZeros(this.#active);
    try {
      await this.#active.file.fsync();
    } catch (err) {
      this.#failure = ioError(err, `fsync of ${this.#active.path} failed`, { file: this.#active.path });
      throw this.#failure;
    }
  }
}
