// verifyChain: re-reads every committed frame from disk, recomputes blake3 over the stored payload and
// checks each event's prevHash against its entity's immediately preceding event (INV-CHAIN-RECOMPUTE).

import { crc32 } from 'node:zlib';
import { blake3 } from '../crypto/blake3.js';
import { BatpakError } from '../errors.js';
import { bytesEqual, toHex } from '../encoding/hex.js';
import type { Fs } from '../fs/fs.js';
import type { IndexEntry } from '../index/entry.js';
import { FRAME_HEADER_BYTES, FRAME_MAGIC, MAX_FRAME_BODY_BYTES, SEGMENT_HEADER_BYTES } from '../segment/format.js';
import { decodeFrameBody, EventFlags, readFrameHeader, type EventFrame, type SealFrame } from '../segment/frame.js';
import { readPrefix } from '../segment/read.js';
import type { ChainVerificationReport, CorruptFrameReport } from '../types.js';

export const ZERO_HASH = new Uint8Array(32);

export interface SegmentSnapshot {
  readonly id: number;
  readonly path: string;
  /** Committed length at the time of the snapshot; later appends are not part of the check. */
  readonly committedEnd: number;
}

/**
 * What verification keeps of an event found on disk: copies of the few fields the link and seal checks
 * need — never the frame itself, which would keep every segment's bytes in memory until the end.
 */
export interface DiskEvent {
  readonly eventId: string;
  readonly globalSequence: number;
  readonly entity: string;
  readonly kind: number;
  readonly flags: number;
  readonly prevHash: Uint8Array;
  readonly contentHash: Uint8Array;
  /** Merkle leaf of the event's receipt cover, computed only when seals are checked. */
  readonly leaf: Uint8Array | undefined;
}

/** A seal frame as found on disk, with the committed events before it that it claims to cover. */
export interface DiskSeal {
  readonly frame: SealFrame;
  readonly file: string;
  readonly offset: number;
}

export interface VerifyChainInput {
  readonly fs: Fs;
  readonly segments: readonly SegmentSnapshot[];
  /** The committed events at snapshot time, ascending global sequence. */
  readonly committed: readonly IndexEntry[];
  /** Hex content hashes of events compaction removed (from its own durable record). */
  readonly removedHashes: ReadonlySet<string>;
  /** Signed stores: checks the seals; returns ids of events whose signature fails. */
  readonly checkSignatures?: (events: readonly DiskEvent[], seals: readonly DiskSeal[]) => string[];
  /** Computes an event's cover leaf (only called when checkSignatures is given). */
  readonly leafOf?: (frame: EventFrame) => Uint8Array;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

const MAGIC = new Uint8Array([0x42, 0x50, 0x4b, 0x46]);
const PROGRESS_EVERY = 4096;

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new BatpakError('ERR_ABORTED', 'verifyChain was aborted', { cause: signal.reason });
}

export async function verifyChain(input: VerifyChainInput): Promise<ChainVerificationReport> {
  const { signal, onProgress } = input;
  const expected = new Map<string, IndexEntry>();
  for (const e of input.committed) expected.set(e.eventId, e);
  const total = expected.size;

  const contentHashMismatches: string[] = [];
  const corruptFrames: CorruptFrameReport[] = [];
  const found: DiskEvent[] = [];
  const seals: DiskSeal[] = [];
  const foundIds = new Set<string>();
  let sinceProgress = 0;

  for (const seg of input.segments) {
    throwIfAborted(signal);
    const buf = await readPrefix(input.fs, seg.path, seg.committedEnd);
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    const end = buf.length;
    let pos = SEGMENT_HEADER_BYTES;
    while (pos < end) {
      const h = pos + FRAME_HEADER_BYTES <= end ? readFrameHeader(buf, pos) : undefined;
      if (h === undefined || h.magic !== FRAME_MAGIC || h.length === 0 || h.length > MAX_FRAME_BODY_BYTES || pos + FRAME_HEADER_BYTES + h.length > end) {
        corruptFrames.push({ file: seg.path, offset: pos, reason: 'damaged frame header' });
        // The per-frame magic lets the walk resynchronise on the next frame.
        const next = b.indexOf(MAGIC, pos + 1);
        if (next === -1) break;
        pos = next;
        continue;
      }
      const frameEnd = pos + FRAME_HEADER_BYTES + h.length;
      const body = buf.subarray(pos + FRAME_HEADER_BYTES, frameEnd);
      const crcOk = crc32(body) === h.crc;
      let frame;
      try {
        frame = decodeFrameBody(body);
      } catch (err) {
        corruptFrames.push({ file: seg.path, offset: pos, reason: crcOk ? `undecodable frame: ${(err as Error).message}` : 'frame CRC mismatch' });
        pos = frameEnd;
        continue;
      }
      if (frame.type === 1) {
        if (!crcOk) corruptFrames.push({ file: seg.path, offset: pos, reason: 'seal frame CRC mismatch' });
        else seals.push({ frame, file: seg.path, offset: pos });
        pos = frameEnd;
        continue;
      }
      const eventId = toHex(frame.id);
      if (!expected.has(eventId) || foundIds.has(eventId)) {
        // Not a committed event (an incomplete batch or unsealed group left by a crash), or a copy.
        if (!crcOk) corruptFrames.push({ file: seg.path, offset: pos, reason: 'frame CRC mismatch' });
        pos = frameEnd;
        continue;
      }
      if (!crcOk) corruptFrames.push({ file: seg.path, offset: pos, reason: 'frame CRC mismatch', eventId });
      foundIds.add(eventId);
      found.push({
        eventId,
        globalSequence: frame.globalSequence,
        entity: frame.entity,
        kind: frame.kind,
        flags: frame.flags,
        prevHash: frame.prevHash.slice(),
        contentHash: frame.contentHash.slice(),
        leaf: input.checkSignatures === undefined ? undefined : input.leafOf?.(frame),
      });
      if ((frame.flags & EventFlags.TOMBSTONE) === 0 && !bytesEqual(blake3(frame.payload), frame.contentHash)) {
        contentHashMismatches.push(eventId);
      }
      pos = frameEnd;
      if (++sinceProgress >= PROGRESS_EVERY) {
        sinceProgress = 0;
        onProgress?.(foundIds.size, total);
        throwIfAborted(signal);
        // Yield so a long verification does not starve the event loop.
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  }

  const missingEvents: string[] = [];
  for (const id of expected.keys()) if (!foundIds.has(id)) missingEvents.push(id);

  // Links: each event's prevHash must be its entity's immediately preceding event's content hash.
  found.sort((a, b) => a.globalSequence - b.globalSequence);
  const danglingLinks: string[] = [];
  const gaps: string[] = [];
  const lastHash = new Map<string, Uint8Array>();
  for (const ev of found) {
    const prev = lastHash.get(ev.entity) ?? ZERO_HASH;
    if (!bytesEqual(ev.prevHash, prev)) {
      if (input.removedHashes.has(toHex(ev.prevHash))) gaps.push(ev.eventId);
      else danglingLinks.push(ev.eventId);
    }
    lastHash.set(ev.entity, ev.contentHash);
  }

  const signatureFailures = input.checkSignatures === undefined ? [] : input.checkSignatures(found, seals);
  onProgress?.(foundIds.size, total);
  const intact =
    contentHashMismatches.length === 0 &&
    danglingLinks.length === 0 &&
    corruptFrames.length === 0 &&
    missingEvents.length === 0 &&
    signatureFailures.length === 0;
  return {
    eventsChecked: found.length,
    contentHashMismatches,
    danglingLinks,
    gaps,
    corruptFrames,
    missingEvents,
    signatureFailures,
    intact,
  };
}
