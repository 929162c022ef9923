// verifyChain: re-reads every committed frame from disk, recomputes blake3 over the stored payload and
// checks each event's prevHash against its entity's immediately preceding event (INV-CHAIN-RECOMPUTE);
// a tombstone flag compaction's record does not explain is damage (INV-TOMBSTONE-RECORDED).
// It streams: disk frames and the committed snapshot are both in global-sequence order, walked in step.

import { blake3 } from '../crypto/blake3.js';
import { BatpakError } from '../errors.js';
import { bytesEqual, toHex } from '../encoding/hex.js';
import type { Fs } from '../fs/fs.js';
import type { IndexEntry } from '../event-index/entry.js';
import { frameMismatch } from '../event-index/frame-match.js';
import type { SealChecker } from '../receipt/seal-check.js';
import { SEGMENT_HEADER_BYTES } from '../segment/format.js';
import { decodeFrameBody, EventFlags, type EventFrame } from '../segment/frame.js';
import { walkWindowFrames } from '../segment/frames.js';
import { ReadWindow } from '../segment/window.js';
import type { ChainVerificationReport, CorruptFrameReport, DirectoryDamageReport } from '../types.js';
import { ChainHeads, chainReport } from './links.js';

// Where the zero hash always lived: callers importing it from here keep working.
export { ZERO_HASH } from './links.js';

export interface SegmentSnapshot {
  readonly id: number;
  readonly path: string;
  /** Committed length at the time of the snapshot; later appends are not part of the check. */
  readonly committedEnd: number;
}

export interface VerifyChainInput {
  /** Only `open` is used: the store passes its held segment handles, so a reader sees the files it indexed. */
  readonly fs: Pick<Fs, 'open'>;
  readonly segments: readonly SegmentSnapshot[];
  /** The committed events at snapshot time, ascending global sequence. */
  readonly committed: readonly IndexEntry[];
  /** Hex content hashes of events compaction removed (from its own trusted record). */
  readonly removedHashes: ReadonlySet<string>;
  /** Checks the seals (and unsigned events in a store that signs) as the log streams by. */
  readonly seals?: SealChecker | undefined;
  /** Sees each committed event's frame as it streams by (the head of an attestation is folded here). */
  readonly observe?: ((frame: EventFrame) => void) | undefined;
  /** What the directory showed at open (missing segments, a contradicting checkpoint): reported as is. */
  readonly directoryDamage?: readonly DirectoryDamageReport[] | undefined;
  /** Whether compaction's trusted record tombstoned this event (hex id); default: nothing was. */
  readonly tombstone?: ((eventId: string) => 'recorded' | 'unknown' | 'unexplained') | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

const PROGRESS_EVERY = 4096;

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new BatpakError('ERR_ABORTED', 'verifyChain was aborted', { cause: signal.reason });
}

export async function verifyChain(input: VerifyChainInput): Promise<ChainVerificationReport> {
  const { signal, onProgress, committed } = input;
  const total = committed.length;
  const contentHashMismatches: string[] = [];
  const corruptFrames: CorruptFrameReport[] = [];
  const missingEvents: string[] = [];
  const danglingLinks: string[] = [];
  const gaps: string[] = [];
  /** Each entity's chain head so far (32 bytes per entity). */
  const heads = new ChainHeads();
  let next = 0;
  let checked = 0;
  let sinceProgress = 0;
  let headersUnverified = 0;

  for (const seg of input.segments) {
    throwIfAborted(signal);
    const w = await ReadWindow.open(input.fs, seg.path, seg.committedEnd);
    try {
      for await (const step of walkWindowFrames(w, { from: SEGMENT_HEADER_BYTES, resync: 'magic' })) {
        const pos = step.offset;
        if (step.kind === 'damage') {
          // The walk resynchronises on the next frame magic.
          corruptFrames.push({ file: seg.path, offset: pos, reason: 'damaged frame header' });
          continue;
        }
        const body = step.body!;
        const crcOk = step.crcOk === true;
        let frame;
        try {
          frame = decodeFrameBody(body);
        } catch (err) {
          corruptFrames.push({ file: seg.path, offset: pos, reason: crcOk ? `undecodable frame: ${(err as Error).message}` : 'frame CRC mismatch' });
          continue;
        }
        if (frame.type === 1) {
          if (!crcOk) corruptFrames.push({ file: seg.path, offset: pos, reason: 'seal frame CRC mismatch' });
          else input.seals?.seal(frame);
          continue;
        }
        const g = frame.globalSequence;
        // Committed events the disk skipped past are missing.
        while (next < total && committed[next]!.globalSequence < g) missingEvents.push(committed[next++]!.eventId);
        const expected = committed[next];
        if (expected === undefined || expected.globalSequence !== g || !bytesEqual(expected.idBytes, frame.id)) {
          // Not a committed event: a frame an interrupted batch or unsealed group left behind, or a
          // frame that now holds another event than the one committed at this sequence.
          if (!crcOk) corruptFrames.push({ file: seg.path, offset: pos, reason: 'frame CRC mismatch' });
          else if (expected !== undefined && expected.globalSequence === g) {
            corruptFrames.push({ file: seg.path, offset: pos, reason: `frame holds event ${toHex(frame.id)}, not the committed ${expected.eventId}` });
          }
          continue;
        }
        next++;
        checked++;
        const eventId = expected.eventId;
        if (!crcOk) corruptFrames.push({ file: seg.path, offset: pos, reason: 'frame CRC mismatch', eventId });
        // The index is derived: a field it holds that the frame does not is damage, never believed.
        const field = frameMismatch(expected, frame);
        if (field !== undefined) corruptFrames.push({ file: seg.path, offset: pos, reason: `the index's ${field} differs from the frame`, eventId });
        if ((frame.flags & EventFlags.TOMBSTONE) === 0) {
          if (!bytesEqual(blake3(frame.payload), frame.contentHash)) contentHashMismatches.push(eventId);
        } else {
          // The flag excuses the payload from its hash only when compaction's own record says so.
          const t = input.tombstone?.(eventId) ?? 'unexplained';
          if (t === 'unexplained') contentHashMismatches.push(eventId);
          else if (t === 'unknown') headersUnverified++;
        }
        // The link: a native chain is the entity's events; a broken link to an event compaction removed is a gap.
        if (!heads.follow(frame.entity, frame.prevHash, frame.contentHash)) {
          if (input.removedHashes.has(toHex(frame.prevHash))) gaps.push(eventId);
          else danglingLinks.push(eventId);
        }
        input.seals?.event(frame, eventId);
        input.observe?.(frame);
        if (++sinceProgress >= PROGRESS_EVERY) {
          sinceProgress = 0;
          onProgress?.(checked, total);
          throwIfAborted(signal);
          // Yield so a long verification does not starve the event loop.
          await new Promise<void>((r) => setImmediate(r));
        }
      }
    } finally {
      await w.close();
    }
  }
  while (next < total) missingEvents.push(committed[next++]!.eventId);

  const seals = input.seals?.finish();
  const signatureFailures = seals?.failures ?? [];
  onProgress?.(checked, total);
  return chainReport({
    eventsChecked: checked,
    contentHashMismatches,
    danglingLinks,
    gaps,
    corruptFrames,
    missingEvents,
    signatureFailures,
    signaturesChecked: seals?.signaturesChecked ?? 0,
    keyIds: seals?.keyIds ?? [],
    headersUnverified: headersUnverified + (seals?.headersUnverified ?? 0),
    directoryDamage: [...(input.directoryDamage ?? [])],
  });
}
