// Recovery on open: scan every segment in id order, keep only committed events (whole batches, sealed
// groups), and say where the newest segment must be cut. Corruption is an error naming file and offset.

import { crc32 } from 'node:zlib';
import { BatpakError, ioError } from '../errors.js';
import { openForReading, readPrefix } from './read.js';
import type { Fs } from '../fs/fs.js';
import { parseSegmentFileName, SEGMENT_HEADER_BYTES, SegmentFlags, type SegmentHeader } from './format.js';
import { EventFlags, type EventFrame, type SealFrame } from './frame.js';
import { CommitRules } from './commit-rules.js';
import { scanSegment, type ScannedFrame } from './scan.js';

export interface RecoveredEvent {
  readonly frame: EventFrame;
  readonly segmentId: number;
  readonly offset: number;
  readonly length: number;
  /** The seal covering this event, for events written in a signed commit group. */
  seal?: RecoveredSeal;
}

export interface RecoveredSeal {
  readonly frame: SealFrame;
  readonly segmentId: number;
  readonly offset: number;
  readonly events: readonly RecoveredEvent[];
}

export interface RecoveredSegment {
  readonly id: number;
  readonly path: string;
  readonly header: SegmentHeader | undefined;
  readonly fileSize: number;
  /** Where committed data ends; a writable open cuts the newest segment here. */
  readonly committedEnd: number;
  /** CRC-32 of bytes [0, committedEnd): what a cold-start checkpoint binds itself to. */
  readonly crc: number;
}

export interface DiscardedRange {
  readonly segmentId: number;
  readonly offset: number;
  readonly reason: 'torn-tail' | 'incomplete-batch' | 'unsealed-group';
}

export interface RecoveredLog {
  readonly segments: RecoveredSegment[];
  readonly events: RecoveredEvent[];
  readonly seals: RecoveredSeal[];
  readonly discarded: DiscardedRange[];
}

/** Segment ids present in `dir`, ascending. Other files are left alone. */
export async function listSegments(fs: Fs, dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    throw ioError(err, `cannot list ${dir}`, { file: dir });
  }
  const ids: number[] = [];
  for (const name of names) {
    const id = parseSegmentFileName(name);
    if (id !== undefined) ids.push(id);
  }
  return ids.sort((a, b) => a - b);
}

function corrupt(file: string, offset: number, reason: string): BatpakError {
  return BatpakError.corruptSegment(file, offset, reason);
}

/** A jump in the global sequence that recovery let through provisionally (inside compacted data). */
export interface SequenceGap {
  /** Last sequence before the gap and first after it: sequences last+1 .. next-1 are absent. */
  readonly last: number;
  readonly next: number;
  readonly file: string;
  readonly offset: number;
}

export interface RecoveredLogWithGaps extends RecoveredLog {
  /** Gaps next to compacted segments; the caller must prove each against compaction's own record. */
  readonly gaps: SequenceGap[];
  /** The state recovery ends in: where a recovery of the segments after these starts. */
  readonly end: RecoveryStart;
}

/** A segment to recover: from its first frame, or from `from` (a frame boundary the cold-start checkpoint vouches for). */
export interface RecoveryItem {
  readonly id: number;
  readonly path: string;
  readonly from?: number;
  /**
   * CRC-32 of the segment's bytes [0, `from`), when the caller has just checked them (the checkpoint load): then only
   * the header and the bytes from `from` on are read, not the whole segment again.
   */
  readonly fromCrc?: number;
}

/**
 * Recovers the given segments (ascending ids). In a segment written by compaction (header flag) every
 * frame is committed by construction — compaction copies only committed events — so batch and seal
 * staging do not apply there, and sequence gaps next to it are returned for the caller to explain.
 */
/** Where recovery starts: after the events a cold-start checkpoint already holds. */
export interface RecoveryStart {
  readonly lastSeen: number;
  readonly lastInCompacted: boolean;
}

export async function recoverLog(
  fs: Fs,
  list: readonly RecoveryItem[],
  start: RecoveryStart = { lastSeen: 0, lastInCompacted: false },
  signal?: AbortSignal,
  /** False when newer segments follow `list` (recovered separately): none of these may then end in a torn tail. */
  endsWithNewest = true,
): Promise<RecoveredLogWithGaps> {
  const segments: RecoveredSegment[] = [];
  const events: RecoveredEvent[] = [];
  const seals: RecoveredSeal[] = [];
  const discarded: DiscardedRange[] = [];
  const gaps: SequenceGap[] = [];
  const seenIds = new Set<string>();
  // Every event frame on disk — committed or not — consumes its global sequence; sequences are dense,
  // so a jump means frames that were written (and maybe acknowledged) have vanished: refuse, never
  // open with a silent hole (a lying fsync under a segment that rotation then sealed can do this).
  let lastSeen = start.lastSeen;
  let lastInCompacted = start.lastInCompacted;

  for (let si = 0; si < list.length; si++) {
    const { id, path, from, fromCrc } = list[si]!;
    const newest = endsWithNewest && si === list.length - 1;
    // Between segments: an open given a signal stops here (nothing is written while scanning).
    BatpakError.throwIfAborted(signal, 'Store.open');
    // After a checkpoint, only the tail: reading the whole active segment again left up to segmentMaxBytes of
    // garbage resident when open returned.
    const tail = from !== undefined && fromCrc !== undefined && from >= SEGMENT_HEADER_BYTES ? await readTail(fs, path, from) : undefined;
    const bytes = tail?.bytes ?? (await readPrefix(fs, path));
    const scan = scanSegment(bytes, { file: path, allowTornTail: newest, ...(tail !== undefined ? { tailAt: from! } : from === undefined ? {} : { from }) });
    if (scan.header !== undefined && scan.header.segmentId !== id) {
      throw corrupt(path, 0, `header names segment ${scan.header.segmentId}, file name says ${id}`);
    }
    const compacted = scan.header !== undefined && (scan.header.flags & SegmentFlags.COMPACTED) !== 0;
    // A compacted segment may hold no events at all (a retention that dropped everything): the jump
    // after it is compaction's, to be proven against its log (GAUNTLET-BUG-1).
    if (compacted) lastInCompacted = true;
    if (scan.torn) discarded.push({ segmentId: id, offset: scan.validEnd, reason: 'torn-tail' });
    // Frames of a batch or of a signed group become visible only when complete; groups never straddle
    // segments, so anything pending at a segment's end is discarded.
    let pending: RecoveredEvent[] = [];
    // How many pending events carry the sealed flag: a counter, not a scan per frame (a 4096-event
    // batch made that quadratic).
    let pendingSealed = 0;
    let pendingStart = -1;
    let committedEnd = scan.header === undefined ? 0 : scan.validEnd;
    const discardPending = (reason: DiscardedRange['reason']) => {
      if (pending.length > 0) discarded.push({ segmentId: id, offset: pendingStart, reason });
      pending = [];
      pendingSealed = 0;
      pendingStart = -1;
    };
    const commit = (ev: RecoveredEvent) => {
      const f = ev.frame;
      const key = Buffer.from(f.id).toString('hex');
      if (seenIds.has(key)) throw corrupt(path, ev.offset, `duplicate event id ${key}`);
      seenIds.add(key);
      events.push(ev);
    };
    let batchFirst = -1;
    let batchSeen = 0;

    for (const sf of scan.frames) {
      const frame = sf.frame;
      if (frame.type === 0) {
        const g = frame.globalSequence;
        if (g <= lastSeen) throw corrupt(path, sf.offset, `global sequence ${g} repeats or goes back (after ${lastSeen})`);
        if (g !== lastSeen + 1) {
          if (!compacted && !lastInCompacted) throw corrupt(path, sf.offset, `global sequences ${lastSeen + 1}..${g - 1} are missing before this frame`);
          gaps.push({ last: lastSeen, next: g, file: path, offset: sf.offset });
        }
        lastSeen = g;
        lastInCompacted = compacted;
      }
      if (frame.type === 1 && compacted) {
        // Seals are kept verbatim by compaction; verifyChain checks them (with the removed leaves).
        seals.push({ frame, segmentId: id, offset: sf.offset, events: [] });
        continue;
      }
      if (frame.type === 1) {
        const covered = pendingSealed === pending.length ? pending : pending.filter((e) => (e.frame.flags & EventFlags.SEALED) !== 0);
        if (
          covered.length !== frame.count ||
          covered.length !== pending.length ||
          covered.length === 0 ||
          covered[0]!.frame.globalSequence !== frame.firstSequence ||
          covered[covered.length - 1]!.frame.globalSequence !== frame.lastSequence
        ) {
          throw corrupt(path, sf.offset, 'seal does not match the events before it');
        }
        if (batchFirst !== -1) throw corrupt(path, sf.offset, 'seal inside an incomplete batch');
        const seal: RecoveredSeal = { frame, segmentId: id, offset: sf.offset, events: covered };
        for (const ev of covered) {
          ev.seal = seal;
          commit(ev);
        }
        seals.push(seal);
        pending = [];
        pendingSealed = 0;
        pendingStart = -1;
        continue;
      }
      const ev: RecoveredEvent = { frame, segmentId: id, offset: sf.offset, length: sf.length };
      if (compacted) {
        commit(ev);
        continue;
      }
      const sealed = (frame.flags & EventFlags.SEALED) !== 0;
      const b = frame.batch;
      if (b !== undefined) {
        if (b.index === 0) {
          if (batchFirst !== -1) discardPending('incomplete-batch');
          batchFirst = b.first;
          batchSeen = 0;
        } else if (batchFirst !== b.first || batchSeen !== b.index) {
          // An item without its predecessors: the rest of a batch whose start was discarded.
          discardPending('incomplete-batch');
          batchFirst = -1;
          continue;
        }
        batchSeen++;
      } else if (batchFirst !== -1) {
        discardPending('incomplete-batch');
        batchFirst = -1;
      }
      if (!sealed && pendingSealed > 0) {
        // An unsealed event after sealed ones: the earlier group never got its seal.
        discardPending('unsealed-group');
      }
      if (pending.length === 0) pendingStart = sf.offset;
      pending.push(ev);
      if (sealed) pendingSealed++;
      if (b !== undefined && batchSeen === b.count) batchFirst = -1;
      if (!sealed && batchFirst === -1) {
        for (const p of pending) commit(p);
        pending = [];
        pendingSealed = 0;
        pendingStart = -1;
      }
    }
    if (pending.length > 0) {
      committedEnd = pendingStart;
      discardPending(batchFirst !== -1 ? 'incomplete-batch' : 'unsealed-group');
    }
    let crc: number;
    if (tail === undefined) crc = crc32(bytes.subarray(0, committedEnd));
    else {
      // The checkpoint vouched for the header and [0, from): the scan can end no earlier than `from`.
      if (scan.header === undefined || committedEnd < from!) throw corrupt(path, 0, 'the segment no longer starts as the checkpoint recorded');
      crc = crc32(bytes.subarray(SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES + committedEnd - from!), fromCrc);
    }
    const fileSize = tail?.size ?? bytes.length;
    // Only zeros to cut (a crashed durable store's preallocation): nothing read as data goes, and a flipped bit would
    // not have read as zero, so they are not read again.
    const onlyZeros = !scan.torn && committedEnd === scan.validEnd;
    if (newest && scan.header !== undefined && committedEnd < fileSize && !onlyZeros) {
      // The open will cut [committedEnd, end): only if a second read shows the same bytes. A flipped bit or a short
      // read while recovering can make a whole frame look torn (a payload's trailing zeros before preallocated ones
      // are indistinguishable by content); cutting on it would destroy acknowledged events.
      await confirmTail(fs, path, bytes, tail === undefined ? 0 : SEGMENT_HEADER_BYTES - from!, committedEnd, fileSize);
    }
    segments.push({ id, path, header: scan.header, fileSize, committedEnd, crc });
  }
  return { segments, events, seals, discarded, gaps, end: { lastSeen, lastInCompacted } };
}

/**
 * Reads [`at`, `end`) of the segment again and compares it with what the scan saw (`bytes`, where file offset `o`
 * is at `o + shift`). Different bytes refuse the open with ERR_IO: the cut is never made on a read that did not repeat.
 */
async function confirmTail(fs: Fs, path: string, bytes: Uint8Array, shift: number, at: number, end: number): Promise<void> {
  const file = await openForReading(fs, path);
  let again: Uint8Array;
  try {
    again = await file.readAt(at, end - at);
  } catch (err) {
    throw ioError(err, `cannot read ${path} again before cutting its tail`, { file: path });
  } finally {
    await file.close().catch(() => undefined);
  }
  const seen = bytes.subarray(at + shift, end + shift);
  if (again.length !== seen.length || Buffer.compare(again, seen) !== 0) {
    throw new BatpakError('ERR_IO', `${path} read differently twice from offset ${at}: recovery will not cut its tail on an unstable read`, {
      details: { file: path, offset: at },
    });
  }
}

/** The segment's header, then its bytes from `from` on, in one buffer (what scanSegment's `tailAt` takes), and its size. */
async function readTail(fs: Fs, path: string, from: number): Promise<{ bytes: Uint8Array; size: number }> {
  const file = await openForReading(fs, path);
  try {
    const size = await file.size();
    if (size < from) throw corrupt(path, size, `the segment is shorter (${size} bytes) than the checkpoint recorded (${from})`);
    const bytes = new Uint8Array(SEGMENT_HEADER_BYTES + size - from);
    for (const [at, to, n] of [
      [0, 0, SEGMENT_HEADER_BYTES],
      [from, SEGMENT_HEADER_BYTES, size - from],
    ] as const) {
      if (n === 0) continue;
      const got = await file.readAt(at, n);
      if (got.length !== n) throw new BatpakError('ERR_IO', `short read of ${path}: ${got.length} of ${n} bytes at offset ${at}`, { details: { file: path, offset: at } });
      bytes.set(got, to);
    }
    return { bytes, size };
  } catch (err) {
    throw ioError(err, `cannot read ${path}`, { file: path });
  } finally {
    await file.close().catch(() => undefined);
  }
}

/**
 * Offsets of the event frames recovery commits in one segment, judged from the frames alone (whole
 * batches, sealed signed groups; everything in a compacted segment). Compaction drops an event it does
 * not find in the index only when this says the frames never committed it.
 */
export function committedEventOffsets(frames: readonly ScannedFrame[], compacted: boolean): Set<number> {
  const out = new Set<number>();
  const rules = new CommitRules(compacted);
  for (const sf of frames) for (const c of rules.push(sf)) out.add(c.offset);
  return out;
}
