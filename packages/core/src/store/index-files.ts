// Keeps an index file (FORMAT.md § Segment index files) beside every sealed segment of a writable store:
// written in the background when a segment seals, checked and rebuilt at open and after a compaction.
// Invariant: never on the commit path, never fails the store (a failure is a warning), and a file built
// from an index a compaction replaced meanwhile is discarded, not kept.

import { join } from 'node:path';
import type { EventIndex } from '../event-index/event-index.js';
import { BlockCache } from '../event-index/block-cache.js';
import { SegmentIndexFile } from '../event-index/segment-index-file.js';
import { indexFileName, readBinding, writeIndexFile } from '../event-index/segment-index-write.js';
import type { Fs } from '../fs/fs.js';
import { parseSegmentFileName } from '../segment/format.js';
import type { SegmentSet } from '../segment/set.js';
import type { WarningSink } from './warnings.js';

export interface IndexFileParts {
  readonly fs: Fs;
  readonly dir: string;
  readonly index: EventIndex;
  readonly segments: SegmentSet;
  /** The segment appends go to now: it has no index file until it seals. */
  readonly activeSegmentId: () => number;
  readonly onWarning: WarningSink;
}

const INDEX_NAME = /^(\d+)\.bpi$/;

export class IndexFileKeeper {
  readonly #p: IndexFileParts;
  /** Jobs run one at a time, in order: a rebuild never races a newer write of the same file. */
  #queue: Promise<void> = Promise.resolve();
  readonly #queued = new Set<number>();
  /** Bumped by every compaction: a job that sees it change discards what it built. */
  #generation = 0;

  /** Runs a job so that it never interleaves with a compaction (the store's maintenance lock, shared). */
  #guard: <T>(job: () => Promise<T>) => Promise<T> = (job) => job();

  constructor(parts: IndexFileParts) {
    this.#p = parts;
  }

  /** Set once by the Store that owns the maintenance lock (compaction holds it exclusively). */
  setGuard(guard: <T>(job: () => Promise<T>) => Promise<T>): void {
    this.#guard = guard;
  }

  /** A segment just sealed: write its index file (its entries are all published: groups commit in order). */
  sealed(segmentId: number): void {
    this.#enqueue(segmentId);
  }

  /**
   * Checks every sealed segment's index file now (two positioned reads of the segment and two of the file
   * each) and queues a rebuild, with a warning, of each missing, stale or damaged one; removes index files of
   * segments no longer in the store. At open, and after every compaction (it swaps segments and may reuse
   * an id, so a file may now describe a segment that is gone). Never throws.
   */
  async reconcile(): Promise<void> {
    this.#generation++;
    const failing: number[] = [];
    await this.#guard(async () => {
      for (const id of this.#p.segments.ids()) {
        if (id === this.#p.activeSegmentId()) continue;
        const why = await this.#check(id);
        if (why === undefined) continue;
        this.#p.onWarning(`the index file of segment ${id} is ${why === 'missing' ? 'missing' : `not usable (${why})`}: rebuilt from the segment`, 'BATPAK_INDEX_FILE_REBUILT');
        failing.push(id);
      }
      await this.#removeOrphans();
    });
    for (const id of failing) this.#enqueue(id);
  }

  /** Resolves when every queued job has finished (close waits for it before closing segments). */
  settle(): Promise<void> {
    return this.#queue;
  }

  /** Why segment `id`'s index file cannot be used, or undefined when it can. */
  async #check(id: number): Promise<string | undefined> {
    const { fs, dir, segments } = this.#p;
    try {
      const binding = await readBinding(await segments.handle(id), id, segments.size(id));
      const existing = await SegmentIndexFile.open(fs, join(dir, indexFileName(id)), binding, new BlockCache(0));
      await existing.file?.close();
      return existing.stale;
    } catch (err) {
      return `cannot check it: ${(err as Error).message}`;
    }
  }

  #enqueue(segmentId: number): void {
    if (this.#queued.has(segmentId)) return;
    this.#queued.add(segmentId);
    this.#queue = this.#queue.then(async () => {
      this.#queued.delete(segmentId);
      const generation = this.#generation;
      try {
        await this.#guard(() => this.#write(segmentId));
      } catch (err) {
        // A compaction that swapped the segment away meanwhile explains the failure; its reconcile follows.
        if (generation === this.#generation) this.#p.onWarning(`could not write the index file of segment ${segmentId}: ${(err as Error).message}`, 'BATPAK_INDEX_FILE_WRITE_FAILED');
      }
    });
  }

  async #write(segmentId: number): Promise<void> {
    const { fs, dir, segments } = this.#p;
    if (!segments.has(segmentId) || segmentId === this.#p.activeSegmentId()) return;
    const generation = this.#generation;
    const crc = segments.crc(segmentId);
    if (crc === undefined) return;
    const path = join(dir, indexFileName(segmentId));
    const committedEnd = segments.size(segmentId);
    const handle = await segments.handle(segmentId);
    if (generation !== this.#generation) return;
    const entries = await this.#p.index.segmentEntries(segmentId);
    if (generation !== this.#generation) return;
    await writeIndexFile(fs, path, handle, segmentId, committedEnd, crc, entries);
    // A compaction swapped segments while this file was built: it may describe the old one. The
    // reconcile that compaction runs checks (and rebuilds) it.
    if (generation !== this.#generation) await fs.remove(path, { force: true });
  }

  async #removeOrphans(): Promise<void> {
    const { fs, dir, segments } = this.#p;
    try {
      let removed = false;
      for (const name of await fs.readdir(dir)) {
        const m = INDEX_NAME.exec(name);
        if (m === null) continue;
        const id = parseSegmentFileName(`${m[1]}.bps`);
        if (id !== undefined && segments.has(id)) continue;
        await fs.remove(join(dir, name), { force: true });
        removed = true;
      }
      if (removed) await fs.syncDir(dir);
    } catch (err) {
      this.#p.onWarning(`could not remove stale index files: ${(err as Error).message}`, 'BATPAK_INDEX_FILE_WRITE_FAILED');
    }
  }
}
