// The committed events of one sealed segment, read from the segment itself in file order: a windowed walk
// that checks every frame and applies recovery's commit rules one frame at a time. What a commit-order
// scan and an untrusted index file fall back to; damage is refused (ERR_CORRUPT_SEGMENT), never skipped.

import { crc32 } from 'node:zlib';
import { BatpakError } from '../errors.js';
import { CommitRules } from '../segment/commit-rules.js';
import { FRAME_HEADER_BYTES, frameHeaderDamage, readFrameHeader, SegmentFlags } from '../segment/format.js';
import { decodeFrameBody, FrameDecodeError, type EventFrame } from '../segment/frame.js';
import type { ScannedFrame } from '../segment/scan.js';
import type { SegmentSet } from '../segment/set.js';
import { ReadWindow } from '../segment/window.js';
import type { IndexEntry } from './entry.js';
import { entryFromRecovered } from './from-frame.js';
import { PayloadSlab, walkedEntry } from './walked-entry.js';

const SEGMENT_HEADER_BYTES = 32;
/** Entries a page of the walk holds at most. */
const WALK_PAGE = 1024;

/** Whether a 32-byte segment header carries the COMPACTED flag (every event frame there is committed). */
export function isCompactedHeader(header: Uint8Array): boolean {
  return (((header[6]! << 8) | header[7]!) & SegmentFlags.COMPACTED) !== 0;
}

export interface SegmentWalkOptions {
  /** Leave out a damaged frame whose header still gives its length, and end at one whose header is damaged (verifyChain's scan, which reports damage itself). */
  readonly skipDamage?: boolean;
  /**
   * File offset of the first frame to walk: the segment's first frame by default. Any other must be one where the
   * commit rules start afresh (see SealedTier's scan start): the walk treats it as the start of the segment.
   */
  readonly from?: number | undefined;
  /** Events below this global sequence are walked (the commit rules need their frames) but not returned. */
  readonly fromGlobal?: number;
  /** Each entry carries its frame's payload, copied (walked-entry.ts): for a reader that decodes every event it is given. */
  readonly payloads?: boolean;
}

/**
 * The committed events of segment `segmentId` of `segments`, in file order (ascending global sequence), a page
 * (never empty) at a time, over its committed bytes. Holds one read window and the pending commit group, whatever
 * the segment's size, and awaits only to read the window or hand out a page, never per frame. Damage fails the
 * walk after the events before it were handed out.
 */
export async function* segmentWalkPages(segments: SegmentSet, segmentId: number, options: SegmentWalkOptions = {}): AsyncGenerator<IndexEntry[], void, undefined> {
  const skipDamage = options.skipDamage === true;
  const fromGlobal = options.fromGlobal ?? 0;
  const slab = options.payloads === true ? new PayloadSlab() : undefined;
  const path = segments.path(segmentId);
  const committedEnd = segments.size(segmentId);
  const w = await ReadWindow.open(segments.borrowingOpen(), path, committedEnd);
  let page: IndexEntry[] = [];
  let failed: { error: unknown } | undefined;
  try {
    try {
      if (w.end !== committedEnd) throw BatpakError.corruptSegment(path, w.end, `the segment has ${w.end} bytes, ${committedEnd} were committed`);
      if (w.end < SEGMENT_HEADER_BYTES) throw BatpakError.corruptSegment(path, 0, 'the segment has no header');
      let pos = Math.max(SEGMENT_HEADER_BYTES, options.from ?? SEGMENT_HEADER_BYTES);
      // A walk from inside the segment reads the header alone (the window is read from where the walk starts).
      const header = pos === SEGMENT_HEADER_BYTES && (await w.ensure(0, SEGMENT_HEADER_BYTES)) ? w.view(0, SEGMENT_HEADER_BYTES) : await w.read(0, SEGMENT_HEADER_BYTES);
      const rules = new CommitRules<ScannedFrame>(isCompactedHeader(header));
      const end = w.end;
      let lastSequence = 0;
      while (pos < end) {
        if (page.length >= WALK_PAGE) {
          yield page;
          page = [];
        }
        // What the window holds is walked without an await; it is read again only when a frame runs past it.
        const inView = pos >= w.at && pos + FRAME_HEADER_BYTES <= w.at + w.bytes.length;
        const h = inView || (await w.ensure(pos, FRAME_HEADER_BYTES)) ? readFrameHeader(w.bytes, pos - w.at) : undefined;
        const damage = frameHeaderDamage(h, pos, end);
        // `skipDamage`: a frame whose header still gives its length is left out and the walk goes on; one whose header is damaged ends it.
        if (damage !== undefined) {
          if (skipDamage) break;
          throw BatpakError.corruptSegment(path, pos, `damaged frame (${damage})`);
        }
        const offset = pos;
        const length = FRAME_HEADER_BYTES + h!.length;
        pos += length;
        if (offset + length > w.at + w.bytes.length) await w.ensure(offset, length);
        const body = w.view(offset + FRAME_HEADER_BYTES, h!.length);
        if (crc32(body) !== h!.crc) {
          if (skipDamage) continue;
          throw BatpakError.corruptSegment(path, offset, 'frame CRC mismatch');
        }
        let frame;
        try {
          frame = decodeFrameBody(body);
        } catch (err) {
          if (skipDamage) continue;
          if (err instanceof FrameDecodeError) throw BatpakError.corruptSegment(path, offset, `frame body does not decode: ${err.message}`);
          throw err;
        }
        if (frame.type === 0) {
          if (frame.globalSequence <= lastSequence) {
            if (skipDamage) continue;
            throw BatpakError.corruptSegment(path, offset, `global sequence ${frame.globalSequence} after ${lastSequence}`);
          }
          lastSequence = frame.globalSequence;
        }
        // A frame is held only while its commit group is pending (its views keep that part of the window alive);
        // an entry is built once the group commits, copying what it keeps.
        for (const c of rules.push({ offset, length, frame })) {
          const f = c.frame as EventFrame;
          if (f.globalSequence < fromGlobal) continue;
          page.push(slab === undefined ? entryFromRecovered({ frame: f, segmentId, offset: c.offset, length: c.length }) : walkedEntry(f, segmentId, c.offset, c.length, slab));
        }
      }
    } catch (error) {
      failed = { error };
    }
    // Damage surfaces at the damaged event, not before: the events walked before it are handed out first.
    if (page.length > 0) yield page;
    if (failed !== undefined) throw failed.error;
  } finally {
    await w.close();
  }
}

/** The committed events of a segment one by one (segmentWalkPages, for callers that keep every entry). */
export async function* segmentWalk(segments: SegmentSet, segmentId: number, skipDamage = false): AsyncGenerator<IndexEntry, void, undefined> {
  for await (const page of segmentWalkPages(segments, segmentId, { skipDamage })) yield* page;
}
