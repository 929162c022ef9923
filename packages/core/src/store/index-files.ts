// Keeps an index file (FORMAT.md § Segment index files) beside every sealed segment of a writable store:
// written in the background when a segment seals, checked and rebuilt after open (the segments the open scanned:
// it rebuilt the others inline, index-rebuild.ts) and after a compaction.
// Invariant: never on the commit path, never fails the store (a failure is a warning), and a file built
// from an index a compaction replaced meanwhile is discarded, not kept.

import { join } from 'node:path';
import type { EventIndex } from '../event-index/event-index.js';
import { BlockCache } from '../event-index/block-cache.js';
import { SegmentIndexFile } from '../event-index/segment-index-file.js';
import { indexFileName, readBinding, writeIndexFile } from '../event-index/segment-index-write.js';
import type { Fs } from '../fs/fs.js';
import type { UntrustedIndexFile } from '../event-index/sealed-tier.js';
import type { TieredIndex } from '../event-index/tiered-index.js';
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
  /** The two-tier index: each file written (or found usable) is sealed into it, so its segment's entries leave memory. */
  readonly tier?: TieredIndex | undefined;
  /** The block cache the tier's files read through. */
  readonly cache?: BlockCache | undefined;
  /** Segments whose files bind to their segment but that the open refused (sealed-prefix.ts), and why: rebuilt at the first reconcile. */
  readonly refused?: ReadonlyMap<number, string> | undefined;
}

const INDEX_NAME = /^(\d+)\.bpi$/;

/**
 * Taken before a compaction: the function it returns names the segments whose bytes changed since (new ones, and
 * ids the compaction rewrote), whose old index files are expected to be stale (IndexFileKeeper.reconcile).
 */
export function rewrittenSince(segments: SegmentSet): () => Set<number> {
  const sizes = new Map(segments.ids().map((id) => [id, segments.size(id)]));
  return () => new Set(segments.ids().filter((id) => sizes.get(id) !== segments.size(id)));
}

/**
 * Sealed segments whose file may be pending before new appends wait (INV-INDEX-BACKLOG-BOUNDED). The keeper runs on
 * the appends' own thread: a writer at full speed can seal segments faster than their files are written, and each
 * segment waiting for its file keeps its entries in memory.
 */
export const MAX_INDEX_BACKLOG = 2;

/** What the keeper holds new appends with while it is behind (the store's Admission). */
export interface AppendHold {
  hold(): void;
  unhold(): void;
}

export class IndexFileKeeper {
  readonly #p: IndexFileParts;
  /** Jobs queued or running; above MAX_INDEX_BACKLOG new appends are held until it is back at it. */
  #backlog = 0;
  #holding = false;
  #hold: AppendHold | undefined;
  /** Jobs run one at a time, in order: a rebuild never races a newer write of the same file. */
  #queue: Promise<void> = Promise.resolve();
  /** Queued segments, and whether each must be written even if its file checks out (a new seal, a file caught lying). */
  readonly #queued = new Map<number, boolean>();
  #refused: ReadonlyMap<number, string>;
  /** Segments rebuilt after the tier caught their file (until the next reconcile). */
  readonly #rebuiltUntrusted = new Set<number>();
  /** Bumped by every compaction: a job that sees it change discards what it built. */
  #generation = 0;

  /** Runs a job so that it never interleaves with a compaction (the store's maintenance lock, shared). */
  #guard: <T>(job: () => Promise<T>) => Promise<T> = (job) => job();

  constructor(parts: IndexFileParts) {
    this.#p = parts;
    this.#refused = parts.refused ?? new Map();
  }

  /** Set once by the Store that owns the maintenance lock (compaction holds it exclusively). */
  setGuard(guard: <T>(job: () => Promise<T>) => Promise<T>): void {
    this.#guard = guard;
  }

  /**
   * Set once by the Store: while more than MAX_INDEX_BACKLOG jobs are pending, new appends wait for admission
   * (appends already admitted go on, so their groups — and a compaction waiting for them — never wait on the keeper).
   */
  setAppendHold(hold: AppendHold): void {
    this.#hold = hold;
  }

  #pace(): void {
    const behind = this.#backlog > MAX_INDEX_BACKLOG;
    if (behind === this.#holding || this.#hold === undefined) return;
    this.#holding = behind;
    if (behind) this.#hold.hold();
    else this.#hold.unhold();
  }

  /** A segment just sealed: write its index file (its entries are all published: groups commit in order). */
  sealed(segmentId: number): void {
    this.#enqueue(segmentId, true);
  }

  /** The tier caught segment `segmentId`'s file lying or damaged (it answers from the segment meanwhile): rebuilt, then served again. */
  untrusted(u: UntrustedIndexFile): void {
    // Once per segment until the next reconcile: a file rebuilt from the segment that fails again is not rebuilt in a loop.
    const again = this.#rebuiltUntrusted.has(u.segmentId);
    this.#p.onWarning(`the index file of segment ${u.segmentId} is not usable (${u.reason}): ${again ? 'answered from the segment' : 'rebuilt from the segment'}`, 'BATPAK_INDEX_FILE_REBUILT');
    if (again) return;
    this.#rebuiltUntrusted.add(u.segmentId);
    this.#enqueue(u.segmentId, true);
  }

  /**
   * Checks every sealed segment's index file now (two positioned reads of the segment and two of the file
   * each) and queues a rebuild, with a warning, of each missing, stale or damaged one; removes index files of
   * segments no longer in the store. At open, and after every compaction (it swaps segments and may reuse
   * an id, so a file may now describe a segment that is gone). Never throws. `rewritten`: segments a compaction
   * just wrote, whose old file is expected to be stale — rebuilt without a warning (the warning is for damage).
   */
  async reconcile(rewritten: ReadonlySet<number> = new Set()): Promise<void> {
    this.#generation++;
    this.#rebuiltUntrusted.clear();
    const failing: number[] = [];
    const unsealed: number[] = [];
    const refused = this.#refused;
    this.#refused = new Map();
    await this.#guard(async () => {
      for (const id of this.#p.segments.ids()) {
        if (id === this.#p.activeSegmentId()) continue;
        // A segment the tier serves had its file checked when it was put to use (and the tier reports a lie it meets).
        if (this.#p.tier?.isSealed(id) === true) continue;
        const why = refused.get(id) ?? (await this.#check(id));
        if (why === undefined) {
          // A usable file the tier does not serve yet (the open stopped at an earlier segment): sealed in.
          if (this.#p.tier !== undefined && !this.#p.tier.isSealed(id)) unsealed.push(id);
          continue;
        }
        // A segment a compaction just rewrote has no file for its new bytes yet: rebuilt, and nothing to warn about.
        if (!rewritten.has(id)) this.#p.onWarning(`the index file of segment ${id} is ${why === 'missing' ? 'missing' : `not usable (${why})`}: rebuilt from the segment`, 'BATPAK_INDEX_FILE_REBUILT');
        failing.push(id);
      }
      await this.#removeOrphans();
    });
    // In segment order: the tier takes sealed segments in ascending id.
    const force = new Set(failing);
    for (const id of [...failing, ...unsealed].sort((a, b) => a - b)) this.#enqueue(id, force.has(id));
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

  #enqueue(segmentId: number, write: boolean): void {
    const queued = this.#queued.get(segmentId);
    if (queued !== undefined) {
      if (write) this.#queued.set(segmentId, true);
      return;
    }
    this.#queued.set(segmentId, write);
    this.#backlog++;
    this.#pace();
    this.#queue = this.#queue.then(async () => {
      const mustWrite = this.#queued.get(segmentId) === true;
      this.#queued.delete(segmentId);
      const generation = this.#generation;
      try {
        await this.#guard(async () => {
          if (mustWrite || !(await this.#install(segmentId, false))) await this.#write(segmentId);
        });
      } catch (err) {
        // A compaction that swapped the segment away meanwhile explains the failure; its reconcile follows.
        if (generation === this.#generation) this.#p.onWarning(`could not write the index file of segment ${segmentId}: ${(err as Error).message}`, 'BATPAK_INDEX_FILE_WRITE_FAILED');
      } finally {
        this.#backlog--;
        this.#pace();
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
    const entries = await this.#p.index.segmentEntries(segmentId, { views: true });
    if (generation !== this.#generation) return;
    await writeIndexFile(fs, path, handle, segmentId, committedEnd, crc, entries);
    // A compaction swapped segments while this file was built: it may describe the old one. The
    // reconcile that compaction runs checks (and rebuilds) it.
    if (generation !== this.#generation) await fs.remove(path, { force: true });
    else if (!(await this.#install(segmentId, true))) this.#p.onWarning(`the index file just written for segment ${segmentId} does not check out: its entries stay in memory`, 'BATPAK_INDEX_FILE_WRITE_FAILED');
  }

  /**
   * Serves segment `segmentId` from its index file: sealed into the tier (its entries leave memory), or, when the
   * tier already serves it and `replace` (a file rebuilt after one was caught lying), installed in its place.
   * False when the file does not open against the segment (missing, stale, damaged). True without a tier.
   */
  async #install(segmentId: number, replace: boolean): Promise<boolean> {
    const { fs, dir, segments, tier, cache } = this.#p;
    if (tier === undefined) return true;
    if (!segments.has(segmentId) || segmentId === this.#p.activeSegmentId()) return true;
    if (tier.isSealed(segmentId) && !replace) return true;
    const binding = await readBinding(await segments.handle(segmentId), segmentId, segments.size(segmentId));
    const opened = await SegmentIndexFile.open(fs, join(dir, indexFileName(segmentId)), binding, cache ?? new BlockCache());
    if (opened.file === undefined) return false;
    if (tier.isSealed(segmentId)) await tier.replaceFile(segmentId, opened.file);
    // Refused (a compaction meanwhile, or a file that disagrees with the entries held): they stay resident.
    else if (!(await tier.seal(segmentId, opened.file))) await opened.file.close();
    return true;
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
