// The committed events of one sealed segment, read from the segment itself in file order: a windowed walk
// that checks every frame and applies recovery's commit rules one frame at a time. What a commit-order
// scan and an untrusted index file fall back to; damage is refused (ERR_CORRUPT_SEGMENT), never skipped.

import { BatpakError } from '../errors.js';
import { CommitRules } from '../segment/commit-rules.js';
import { SegmentFlags } from '../segment/format.js';
import { decodeFrameBody, FrameDecodeError } from '../segment/frame.js';
import { walkWindowFrames } from '../segment/frames.js';
import type { ScannedFrame } from '../segment/scan.js';
import type { SegmentSet } from '../segment/set.js';
import { ReadWindow } from '../segment/window.js';
import type { IndexEntry } from './entry.js';
import { entryFromRecovered } from './from-frame.js';

const SEGMENT_HEADER_BYTES = 32;

/** A walked frame and, for an event, its entry (copied out of the read window at once). */
interface WalkedFrame extends ScannedFrame {
  readonly entry: IndexEntry | undefined;
}

/** Whether a 32-byte segment header carries the COMPACTED flag (every event frame there is committed). */
export function isCompactedHeader(header: Uint8Array): boolean {
  return (((header[6]! << 8) | header[7]!) & SegmentFlags.COMPACTED) !== 0;
}

/**
 * The committed events of segment `segmentId` of `segments`, in file order (ascending global sequence),
 * over its committed bytes. Holds one read window and the pending commit group, whatever the segment's size.
 */
export async function* segmentWalk(segments: SegmentSet, segmentId: number, skipDamage = false): AsyncGenerator<IndexEntry, void, undefined> {
  const path = segments.path(segmentId);
  const committedEnd = segments.size(segmentId);
  const w = await ReadWindow.open(segments.borrowingOpen(), path, committedEnd);
  try {
    if (w.end !== committedEnd) throw BatpakError.corruptSegment(path, w.end, `the segment has ${w.end} bytes, ${committedEnd} were committed`);
    if (!(await w.ensure(0, SEGMENT_HEADER_BYTES))) throw BatpakError.corruptSegment(path, 0, 'the segment has no header');
    const rules = new CommitRules<WalkedFrame>(isCompactedHeader(w.view(0, SEGMENT_HEADER_BYTES)));
    let lastSequence = 0;
    for await (const step of walkWindowFrames(w, { from: SEGMENT_HEADER_BYTES, resync: 'none' })) {
      // `skipDamage` (verifyChain, which reads and reports every frame itself): a frame whose header still gives
      // its length is left out and the walk goes on; one whose header is damaged ends it.
      if (step.kind === 'damage') {
        if (skipDamage) return;
        throw BatpakError.corruptSegment(path, step.offset, `damaged frame (${step.damage})`);
      }
      if (step.crcOk !== true) {
        if (skipDamage) continue;
        throw BatpakError.corruptSegment(path, step.offset, 'frame CRC mismatch');
      }
      let frame;
      try {
        frame = decodeFrameBody(step.body!);
      } catch (err) {
        if (skipDamage) continue;
        if (err instanceof FrameDecodeError) throw BatpakError.corruptSegment(path, step.offset, `frame body does not decode: ${err.message}`);
        throw err;
      }
      let entry: IndexEntry | undefined;
      if (frame.type === 0) {
        if (frame.globalSequence <= lastSequence) {
          if (skipDamage) continue;
          throw BatpakError.corruptSegment(path, step.offset, `global sequence ${frame.globalSequence} after ${lastSequence}`);
        }
        lastSequence = frame.globalSequence;
        entry = entryFromRecovered({ frame, segmentId, offset: step.offset, length: step.length });
      }
      // The rules read only the sequence, flags, batch and seal fields, which the entry or the seal frame keep.
      const scanned: WalkedFrame = { offset: step.offset, length: step.length, frame: frame.type === 0 ? { ...frame, payload: new Uint8Array(0), id: entry!.idBytes, prevHash: entry!.prevHash, contentHash: entry!.contentHash } : frame, entry };
      for (const c of rules.push(scanned)) yield c.entry!;
    }
  } finally {
    await w.close();
  }
}
