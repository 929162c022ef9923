// Closing a store: waiters (and appends waiting for room) are rejected and consumers closed, in-flight appends and index-file
// writes finish, the active segment is fsynced and the cold-start checkpoint written, then the index and every file are closed
// and the writer lock (or the read pins) released.
// Invariant: files are closed and the lock released even when the final sync fails; that failure is
// reported (a BatpakError) after the release, never instead of it.

import type { RemovedSet } from '../compaction/log.js';
import { ioError } from '../errors.js';
import type { TieredIndex } from '../event-index/tiered-index.js';
import type { FsLock } from '../fs/fs.js';
import type { SegmentSet } from '../segment/set.js';
import type { SegmentWriter } from '../segment/writer.js';
import { writeCheckpoint } from './checkpoint-write.js';
import type { StoreModules } from './compose.js';
import { closeConsumers } from './consumer.js';
import type { ResolvedOptions } from './options.js';

export interface ClosingStore {
  readonly opts: ResolvedOptions;
  readonly index: TieredIndex;
  readonly segments: SegmentSet;
  readonly removed: RemovedSet;
  readonly writer: SegmentWriter | undefined;
  readonly lock: FsLock | undefined;
  readonly modules: StoreModules;
  /** Entries in compaction.log when the checkpoint is written (a compaction may finish meanwhile). */
  readonly compactions: () => number;
}

/**
 * Close seals an active segment of at least this fraction of segmentMaxBytes. Sealing bounds what the next open holds
 * in memory (the active segment's entries, ~170 bytes each) to this fraction of a segment; a store closed often gets
 * at most 1/fraction times as many segments as one that is never closed (a compaction merge joins them again).
 */
export const SEAL_AT_CLOSE_FRACTION = 1 / 8;
/** …and of at least this many bytes: below it the entries an open would hold are too few to be worth a segment. */
export const SEAL_AT_CLOSE_MIN_BYTES = 1024 * 1024;

/** Whether close seals an active segment of `size` bytes (header included) under `segmentMaxBytes`. */
export function sealsAtClose(size: number, segmentMaxBytes: number): boolean {
  return size >= SEAL_AT_CLOSE_MIN_BYTES && size >= segmentMaxBytes * SEAL_AT_CLOSE_FRACTION;
}

export async function closeStore(s: ClosingStore): Promise<void> {
  s.modules.waiters.rejectAll();
  s.modules.admission.rejectAll();
  let failure: unknown;
  try {
    // A projection snapshot being written finishes before the lock is released.
    await s.modules.projector.settle();
    await closeConsumers(s.modules.delivery.open);
    await s.modules.pipeline?.idle();
    // An active segment holding at least SEAL_AT_CLOSE_FRACTION of its limit is sealed here, so its index file is
    // written now and the next open serves it from that file instead of holding its entries in memory. Only by a
    // process that appended: opening and closing without a change leaves the directory as it was.
    if (s.writer !== undefined && s.writer.failure === undefined && s.writer.hasWritten && sealsAtClose(s.writer.active.size, s.opts.segmentMaxBytes)) {
      await s.writer.sealActive(s.opts.now()).catch((err: unknown) => {
        // A segment that could not be created (a full disk) leaves the active one as it was: closed as before.
        if (s.writer!.failure !== undefined) throw err;
      });
    }
    // Index files being written finish first: a segment sealed into the index leaves the checkpoint.
    await s.modules.indexFiles?.settle();
    if (s.writer !== undefined && s.writer.failure === undefined) {
      // Trimmed: a closed store's active segment ends at its last frame, not in preallocated zeros.
      await s.writer.sync(true);
      await writeCheckpoint({
        opts: s.opts,
        index: s.index,
        segments: s.segments,
        removed: s.removed,
        active: s.writer.active,
        lastCommittedAt: s.modules.pipeline!.lastCommittedAt,
        compactions: s.compactions(),
      });
    }
  } catch (err) {
    failure = err;
  }
  // Index-file writes still running finish before the segments close and the lock goes.
  await s.modules.indexFiles?.settle();
  await s.index.close().catch(() => undefined);
  if (s.writer !== undefined) await s.writer.active.file.close().catch(() => undefined);
  await s.segments.closeAll();
  await s.lock?.release().catch(() => undefined);
  if (failure !== undefined) throw ioError(failure, 'close could not sync the store');
}
