// Which sealed segments an open serves from their index files: the longest run, from the oldest, whose files
// check out against their segments, a writable open rebuilding a missing or unusable one inline (FORMAT.md § The
// index in two tiers). Invariant: only what the scan would have accepted is taken from a file; anything doubtful
// ends the run there, and the scan of the rest decides.

import { join } from 'node:path';
import { BatpakError } from '../errors.js';
import type { BlockCache } from '../event-index/block-cache.js';
import type { IndexEntry } from '../event-index/entry.js';
import { checkSealedFile, type SealedFileCheck } from '../event-index/sealed-file-check.js';
import { SegmentIndexFile } from '../event-index/segment-index-file.js';
import { indexFileName, readBinding } from '../event-index/segment-index-write.js';
import { segmentWalk } from '../event-index/segment-walk.js';
import { decodeSegmentHeader, SegmentFlags } from '../segment/format.js';
import type { RecoveryStart, SequenceGap } from '../segment/recovery.js';
import type { SegmentSet } from '../segment/set.js';
import { rebuildIndexFile } from './index-rebuild.js';
import type { ResolvedOptions } from './options.js';

export interface FileServed {
  readonly segmentId: number;
  readonly file: SegmentIndexFile;
  readonly checked: SealedFileCheck;
}

export interface SealedPrefix {
  /** The file-served segments, ascending (each also added to the SegmentSet with its length and CRC). */
  readonly files: FileServed[];
  /** Recovery's state after them: where the scan of the rest starts. */
  readonly start: RecoveryStart;
  /** Sequence jumps before and inside them (each explained by compaction's record: checked here). */
  readonly gaps: SequenceGap[];
  /** The latest commit time of their events (the summaries'). */
  readonly lastCommittedAt: number;
  /** Segments whose file exists and binds to its segment but was refused (a rebuild is due), and why. */
  readonly refused: ReadonlyMap<number, string>;
}

/**
 * Opens the index files of `candidates` (every segment but the newest, ascending) from the oldest, and stops at
 * the first that is missing, stale, damaged or untrusted (sealed-file-check.ts), whose segment header does not
 * name it, or whose sequences the scan would not accept at that place (a repeat, or a jump `explains` does not
 * account for): that segment and everything after it are scanned. A writable open first rebuilds such a
 * segment's file from the segment (index-rebuild.ts: only when its recovery is clean) and takes the new file
 * through the same checks, with the warning BATPAK_INDEX_FILE_REBUILT; so memory holds one segment's entries at
 * a time, never the rest of the store's. A read-only open cannot write: it stops there. Never throws for a file;
 * an I/O error on a segment ends the run too (the scan then reports it). Throws ERR_ABORTED between segments
 * when `opts.signal` is aborted (having closed what it opened).
 */
export async function sealedPrefix(
  opts: Pick<ResolvedOptions, 'fs' | 'dir' | 'readOnly' | 'signal' | 'onWarning'>,
  candidates: readonly { readonly id: number; readonly path: string }[],
  segments: SegmentSet,
  cache: BlockCache,
  explains: (last: number, next: number) => boolean,
): Promise<SealedPrefix> {
  const files: FileServed[] = [];
  const gaps: SequenceGap[] = [];
  const refused = new Map<number, string>();
  let lastSeen = 0;
  let lastInCompacted = false;
  let lastCommittedAt = 0;
  try {
    for (const c of candidates) {
      // Between segments (a rebuild is long): an open given a signal stops here.
      BatpakError.throwIfAborted(opts.signal, 'Store.open');
      const start: RecoveryStart = { lastSeen, lastInCompacted };
      let taken = await takeFile(opts, c, segments, cache, start, explains);
      if (taken.file === undefined && !opts.readOnly) {
        // Rebuilt from the segment with the scan's rules and state, then taken like any file (takeFile adds it again).
        await segments.remove(c.id);
        if (await rebuildIndexFile({ ...opts, explains }, c, start)) {
          const why = taken.why;
          taken = await takeFile(opts, c, segments, cache, start, explains);
          if (taken.file !== undefined) opts.onWarning(`the index file of segment ${c.id} is ${why === 'missing' ? 'missing' : `not usable (${why})`}: rebuilt from the segment`, 'BATPAK_INDEX_FILE_REBUILT');
        }
      }
      if (taken.refused !== undefined) refused.set(c.id, taken.refused);
      if (taken.file === undefined) {
        // Scanned from here on: recovery adds it again with the length the scan finds committed.
        await segments.remove(c.id);
        break;
      }
      files.push(taken.file);
      gaps.push(...taken.gaps);
      const h = taken.file.file.header;
      if (taken.compacted) lastInCompacted = true;
      if (h.eventCount > 0) {
        lastSeen = h.lastSequence;
        lastInCompacted = taken.compacted;
      }
      lastCommittedAt = Math.max(lastCommittedAt, taken.file.file.summary.maxCommittedAt);
    }
  } catch (err) {
    for (const f of files) await f.file.close().catch(() => undefined);
    throw err;
  }
  return { files, start: { lastSeen, lastInCompacted }, gaps, lastCommittedAt, refused };
}

interface Taken {
  readonly file: FileServed | undefined;
  readonly compacted: boolean;
  readonly gaps: SequenceGap[];
  /** The file binds to its segment but failed the sealed tier's checks: why (the keeper rebuilds it). */
  readonly refused?: string;
  /** Why the file was not taken (for the warning of a rebuild). */
  readonly why?: string;
}

async function takeFile(
  opts: Pick<ResolvedOptions, 'fs' | 'dir'>,
  c: { readonly id: number; readonly path: string },
  segments: SegmentSet,
  cache: BlockCache,
  start: RecoveryStart,
  explains: (last: number, next: number) => boolean,
): Promise<Taken> {
  const none: Taken = { file: undefined, compacted: false, gaps: [] };
  const no = (why: string): Taken => ({ ...none, why });
  let file: SegmentIndexFile | undefined;
  try {
    // The length of the file this open reads (a read-only open's pinned handle), not of whatever has the name now.
    segments.add(c.id, c.path, 0);
    const handle = await segments.handle(c.id);
    const size = await handle.size();
    segments.setSize(c.id, size);
    const binding = await readBinding(handle, c.id, size);
    // What recovery checks first: a segment header that decodes and names this segment.
    const header = decodeSegmentHeader(binding.segmentHeader);
    if (!header.ok || header.header.segmentId !== c.id) return no('its segment header does not name the segment');
    const compacted = (header.header.flags & SegmentFlags.COMPACTED) !== 0;
    const opened = await SegmentIndexFile.open(opts.fs, join(opts.dir, indexFileName(c.id)), binding, cache);
    if (opened.file === undefined) return no(opened.stale);
    file = opened.file;
    segments.setCrc(c.id, file.header.segmentCrc);
    const walk = async (id: number) => {
      const out: IndexEntry[] = [];
      for await (const e of segmentWalk(segments, id)) out.push(e);
      return out;
    };
    const checked = await checkSealedFile(segments, c.id, file, compacted, walk);
    if (checked.untrusted !== undefined) {
      await file.close();
      return { ...none, refused: checked.untrusted, why: checked.untrusted };
    }
    const h = file.header;
    const gaps: SequenceGap[] = [];
    if (h.eventCount > 0) {
      // The sequence rules recovery applies to each event frame, over the file's first event and its jumps
      // (its first and last events were checked against their frames; a segment compaction did not write is dense).
      if (h.firstSequence <= start.lastSeen) return close(file, no(`its first global sequence ${h.firstSequence} does not follow ${start.lastSeen}`));
      if (h.firstSequence !== start.lastSeen + 1) {
        if (!compacted && !start.lastInCompacted) return close(file, no(`its first global sequence ${h.firstSequence} does not follow ${start.lastSeen}`));
        gaps.push({ last: start.lastSeen, next: h.firstSequence, file: c.path, offset: (await file.bySequence(h.firstSequence))!.offset });
      }
      if (file.summary.jumpCount > 0) {
        for (const j of (await file.lists()).jumps) {
          const at = await file.bySequence(j.next);
          if (at === undefined) return close(file, { ...none, refused: `its jump to global sequence ${j.next} names no event`, why: `its jump to global sequence ${j.next} names no event` });
          gaps.push({ last: j.last, next: j.next, file: c.path, offset: at.offset });
        }
      }
      // A jump compaction's record does not explain: the scan decides (and refuses the open if the frames show it).
      if (gaps.some((g) => !explains(g.last, g.next))) return close(file, no('a jump in its sequences is not explained by compaction.log'));
    }
    return { file: { segmentId: c.id, file, checked }, compacted, gaps };
  } catch (err) {
    if (file !== undefined) await file.close().catch(() => undefined);
    return no(`cannot check it: ${(err as Error).message}`);
  }
}

async function close(file: SegmentIndexFile, taken: Taken): Promise<Taken> {
  await file.close().catch(() => undefined);
  return taken;
}
