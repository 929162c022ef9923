// Writes the cold-start checkpoint at close: the resident tier's index (the segments after the ones served from
// index files) with the header, committed length and CRC of each segment it covers, so the next open scans only what was written after it.
// Invariant: the checkpoint is derived, never an authority — a failure to write it costs a slower next
// open (a warning), never data; an unchanged store leaves the file untouched.

import { join } from 'node:path';
import type { RemovedSet } from '../compaction/log.js';
import { CHECKPOINT_FILE, CHECKPOINT_READ_BYTES, encodeCheckpointRecords, type CheckpointSegment } from '../event-index/checkpoint.js';
import type { TieredIndex } from '../event-index/tiered-index.js';
import type { Fs } from '../fs/fs.js';
import { decodeSegmentHeader, SEGMENT_HEADER_BYTES, SegmentFlags } from '../segment/format.js';
import type { SegmentSet } from '../segment/set.js';
import type { ActiveSegment } from '../segment/writer.js';
import type { ResolvedOptions } from './options.js';

export interface CheckpointSource {
  readonly opts: ResolvedOptions;
  readonly index: TieredIndex;
  readonly segments: SegmentSet;
  readonly removed: RemovedSet;
  /** The writer's active segment: its size and CRC are the live ones. */
  readonly active: ActiveSegment;
  readonly lastCommittedAt: number;
  /** Entries in compaction.log now. */
  readonly compactions: number;
}

/** Writes the checkpoint (everything is synced: close only); warns instead of failing. */
export async function writeCheckpoint(s: CheckpointSource): Promise<void> {
  const { opts, index, active } = s;
  if (opts.checkpoint === 'off' || index.size === 0) return;
  try {
    const segments: CheckpointSegment[] = [];
    let lastInCompacted = false;
    const lastSegment = index.last()!.segmentId;
    // The resident tier only: the segments after the newest one served from its index file (an open serves
    // those from their files and reads the checkpoint for what follows them), so the image stays as small as
    // the memory it stands for.
    const sealed = index.sealedSegmentIds();
    const top = sealed[sealed.length - 1] ?? 0;
    for (const id of s.segments.ids()) {
      if (id <= top) continue;
      const header = await (await s.segments.handle(id)).readAt(0, SEGMENT_HEADER_BYTES);
      if (header.length !== SEGMENT_HEADER_BYTES) return;
      if (id === lastSegment) {
        const decoded = decodeSegmentHeader(header);
        // A header that no longer decodes: no checkpoint, the next open scans.
        if (!decoded.ok) return;
        lastInCompacted = (decoded.header.flags & SegmentFlags.COMPACTED) !== 0;
      }
      const crc = id === active.id ? active.crc : s.segments.crc(id);
      if (crc === undefined) return;
      segments.push({ id, committedEnd: id === active.id ? active.size : s.segments.size(id), header, crc });
    }
    // Straight from the resident tier's records (an object per entry made the close of a full segment a heap spike).
    const image = encodeCheckpointRecords(
      {
        segments,
        lastSeen: Math.max(index.lastGlobalSequence(), s.removed.maxSequence()),
        lastInCompacted,
        lastCommittedAt: s.lastCommittedAt,
        compactions: s.compactions,
      },
      index.activeRecordsAfter(top),
    );
    const path = join(opts.dir, CHECKPOINT_FILE);
    // A store opened and closed without changes leaves its directory untouched (a refused import,
    // a read-mostly job): same image, no write.
    if ((await opts.fs.stat(path)) !== null && (await sameAsFile(opts.fs, path, image).catch(() => false))) return;
    await opts.fs.writeFileAtomic(path, image);
  } catch (err) {
    opts.onWarning(`could not write the cold-start checkpoint: ${(err as Error).message}`, 'BATPAK_CHECKPOINT_WRITE_FAILED');
  }
}

/**
 * Whether the file at `path` holds exactly `image`, compared a bounded piece at a time (reading the old image whole
 * held a second copy of tens of MB at every close), each piece natively (a byte loop cost tens of ms).
 */
async function sameAsFile(fs: Fs, path: string, image: Uint8Array): Promise<boolean> {
  const file = await fs.open(path);
  try {
    if ((await file.size()) !== image.length) return false;
    for (let p = 0; p < image.length; p += CHECKPOINT_READ_BYTES) {
      const n = Math.min(CHECKPOINT_READ_BYTES, image.length - p);
      const got = await file.readAt(p, n);
      if (got.length !== n || !Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(image.buffer, image.byteOffset + p, n))) return false;
    }
    return true;
  } finally {
    await file.close().catch(() => undefined);
  }
}
