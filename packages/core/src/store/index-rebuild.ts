// Rebuilds one sealed segment's index file during a writable open, from that segment alone, so the open goes on
// serving sealed segments from files past a missing or stale one, one segment's entries at a time (INV-INDEX-REBUILT-INLINE).
// Invariant: a file is written only for a segment whose recovery is clean for a sealed segment under the running
// recovery state (recovery's own rules); anything doubtful writes nothing, and the open's scan decides.

import { join } from 'node:path';
import type { IndexedFrame } from '../event-index/segment-index-format.js';
import { indexFileName, writeIndexFile } from '../event-index/segment-index-write.js';
import type { Fs } from '../fs/fs.js';
import { recoverLog, type RecoveredEvent, type RecoveredLogWithGaps, type RecoveryStart } from '../segment/recovery.js';
import type { WarningSink } from './warnings.js';

/** What a rebuild needs of the open. */
export interface RebuildContext {
  readonly fs: Fs;
  readonly dir: string;
  readonly onWarning: WarningSink;
  /** Whether compaction's trusted record explains the jump from `last` to `next` (the scan's rule). */
  readonly explains: (last: number, next: number) => boolean;
}

/**
 * Recovers sealed segment `c` alone, starting from `start` (the state after the segments before it), and writes its
 * index file when that recovery is what a scan would accept for a sealed segment: a header naming it, every frame
 * committed (nothing discarded, committed end = file size), every sequence jump explained. Returns false, having
 * written nothing, otherwise: damage, a repeated or going-back sequence, a duplicate id within the segment, an
 * unexplained jump, an incomplete batch or group, or an I/O error (the scan of this segment then reports what it
 * finds). A failed write is the warning BATPAK_INDEX_FILE_WRITE_FAILED, never a failure of the open.
 * Memory: the segment's bytes and its events, released when this returns.
 */
export async function rebuildIndexFile(ctx: RebuildContext, c: { readonly id: number; readonly path: string }, start: RecoveryStart): Promise<boolean> {
  let recovered: RecoveredLogWithGaps;
  try {
    // Not the newest segment (`endsWithNewest` false): a torn tail is damage here, as in the scan.
    recovered = await recoverLog(ctx.fs, [c], start, undefined, false);
  } catch {
    return false;
  }
  const seg = recovered.segments[0];
  if (seg === undefined || seg.header === undefined || seg.committedEnd !== seg.fileSize || recovered.discarded.length > 0) return false;
  if (recovered.gaps.some((g) => !ctx.explains(g.last, g.next))) return false;
  const frames = recovered.events.map(indexedFrame);
  try {
    const handle = await ctx.fs.open(c.path);
    try {
      await writeIndexFile(ctx.fs, join(ctx.dir, indexFileName(c.id)), handle, c.id, seg.committedEnd, seg.crc, frames);
    } finally {
      await handle.close();
    }
  } catch (err) {
    ctx.onWarning(`could not write the index file of segment ${c.id}: ${(err as Error).message}`, 'BATPAK_INDEX_FILE_WRITE_FAILED');
    return false;
  }
  return true;
}

/** What the index file keeps of a recovered event (the frame's own fields: nothing copied, nothing kept). */
function indexedFrame(r: RecoveredEvent): IndexedFrame {
  const f = r.frame;
  return {
    idBytes: f.id,
    globalSequence: f.globalSequence,
    entitySequence: f.entitySequence,
    entity: f.entity,
    offset: r.offset,
    length: r.length,
    contentHash: f.contentHash,
    committedAt: f.committedAt,
    flags: f.flags,
    encryption: f.encryption === undefined ? undefined : { scope: f.encryption.scope, generation: f.encryption.generation },
  };
}
