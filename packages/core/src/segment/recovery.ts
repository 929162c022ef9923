// Recovery on open: scan every segment in id order, keep only committed events (whole batches, sealed
// groups), and say where the newest segment must be cut. Corruption is an error naming file and offset.

import { BatpakError, ioError } from '../errors.js';
import { readPrefix } from './read.js';
import type { Fs } from '../fs/fs.js';
import { parseSegmentFileName, type SegmentHeader } from './format.js';
import { EventFlags, type EventFrame, type SealFrame } from './frame.js';
import { scanSegment } from './scan.js';

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
  return new BatpakError('ERR_CORRUPT_SEGMENT', `corrupt segment ${file} at offset ${offset}: ${reason}`, {
    details: { file, offset, reason },
  });
}

export interface RecoverOptions {
  /** Says whether a jump from `last` to `next` is explained (e.g. by compaction's own record). */
  readonly allowGap?: (last: number, next: number) => boolean;
}

export async function recoverLog(fs: Fs, dir: string, segmentPath: (id: number) => string, options: RecoverOptions = {}): Promise<RecoveredLog> {
  const ids = await listSegments(fs, dir);
  const segments: RecoveredSegment[] = [];
  const events: RecoveredEvent[] = [];
  const seals: RecoveredSeal[] = [];
  const discarded: DiscardedRange[] = [];
  const seenIds = new Set<string>();
  // Every event frame on disk — committed or not — consumes its global sequence; sequences are dense,
  // so a jump means frames that were written (and maybe acknowledged) have vanished: refuse, never
  // open with a silent hole (a lying fsync under a segment that rotation then sealed can do this).
  let lastSeen = 0;

  for (let si = 0; si < ids.length; si++) {
    const id = ids[si]!;
    const path = segmentPath(id);
    const newest = si === ids.length - 1;
    const bytes = await readPrefix(fs, path);
    const scan = scanSegment(bytes, { file: path, allowTornTail: newest });
    if (scan.header !== undefined && scan.header.segmentId !== id) {
      throw corrupt(path, 0, `header names segment ${scan.header.segmentId}, file name says ${id}`);
    }
    if (scan.torn) discarded.push({ segmentId: id, offset: scan.validEnd, reason: 'torn-tail' });

    // Frames of a batch or of a signed group become visible only when complete; groups never straddle
    // segments, so anything pending at a segment's end is discarded.
    let pending: RecoveredEvent[] = [];
    let pendingStart = -1;
    let committedEnd = scan.header === undefined ? 0 : scan.validEnd;
    const discardPending = (reason: DiscardedRange['reason']) => {
      if (pending.length > 0) discarded.push({ segmentId: id, offset: pendingStart, reason });
      pending = [];
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
        if (g !== lastSeen + 1 && !(options.allowGap?.(lastSeen, g) ?? false)) {
          throw corrupt(
            path,
            sf.offset,
            g <= lastSeen
              ? `global sequence ${g} repeats or goes back (after ${lastSeen})`
              : `global sequences ${lastSeen + 1}..${g - 1} are missing before this frame`,
          );
        }
        lastSeen = g;
      }
      if (frame.type === 1) {
        const covered = pending.filter((e) => (e.frame.flags & EventFlags.SEALED) !== 0);
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
        pendingStart = -1;
        continue;
      }
      const ev: RecoveredEvent = { frame, segmentId: id, offset: sf.offset, length: sf.length };
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
      if (!sealed && pending.some((e) => (e.frame.flags & EventFlags.SEALED) !== 0)) {
        // An unsealed event after sealed ones: the earlier group never got its seal.
        discardPending('unsealed-group');
      }
      if (pending.length === 0) pendingStart = sf.offset;
      pending.push(ev);
      if (b !== undefined && batchSeen === b.count) batchFirst = -1;
      if (!sealed && batchFirst === -1) {
        for (const p of pending) commit(p);
        pending = [];
        pendingStart = -1;
      }
    }
    if (pending.length > 0) {
      committedEnd = pendingStart;
      discardPending(batchFirst !== -1 ? 'incomplete-batch' : 'unsealed-group');
    }
    segments.push({ id, path, header: scan.header, fileSize: bytes.length, committedEnd });
  }
  return { segments, events, seals, discarded };
}
