// Reads the frame an index-file hit points at and checks it is what was asked for: an index file's CRCs
// prove it is not torn, not that it is true (INV-DERIVED-NOT-AUTHORITY). A hit that does not check out
// is never an answer: the caller rebuilds the file from its segment, whose scan reports real damage.

import { bytesEqual } from '../encoding/hex.js';
import { decodeFrameBody, FrameDecodeError, type EventFrame, type Frame } from '../segment/frame.js';
import { frameAt } from '../segment/frames.js';
import type { SegmentSet } from '../segment/set.js';
import type { IndexedLocation } from './segment-index-file.js';

/** What the caller asked the index file for; every field given must match the frame. */
export interface HitExpectation {
  readonly idBytes?: Uint8Array;
  readonly entity?: string;
  readonly entitySequence?: number;
}

export type CheckedHit =
  | { readonly frame: EventFrame; readonly untrusted?: undefined; readonly otherEntity?: undefined; readonly damaged?: undefined }
  /** The frame is sound and is the event the file named, but of another entity with the same 8-byte key: skip it. */
  | { readonly frame?: undefined; readonly untrusted?: undefined; readonly otherEntity: true; readonly damaged?: undefined }
  /** The file pointed at something that is not the event it named: do not use the file. */
  | { readonly frame?: undefined; readonly untrusted: string; readonly otherEntity?: undefined; readonly damaged?: undefined }
  /**
   * A whole frame of the named length is there, but its body fails its CRC or does not decode: the segment is
   * damaged at that frame (no file can point a sound frame's CRC wrong), which a read reports as such.
   */
  | { readonly frame?: undefined; readonly untrusted?: undefined; readonly otherEntity?: undefined; readonly damaged: string };

/** Reads and checks the frame at `hit` in segment `segmentId` (magic, length, CRC, decode, sequence, then `expect`). */
export async function checkHit(segments: SegmentSet, segmentId: number, hit: IndexedLocation, expect: HitExpectation): Promise<CheckedHit> {
  return (await checkHits(segments, segmentId, [hit], [expect]))[0]!;
}

/**
 * Checks several hits of one segment (ascending offsets) with one read per run of nearby frames: an entity
 * page or a run of sequences reads its frames together. `expect[i]` goes with `hits[i]`.
 */
export async function checkHits(segments: SegmentSet, segmentId: number, hits: readonly IndexedLocation[], expect: readonly HitExpectation[]): Promise<CheckedHit[]> {
  const out: CheckedHit[] = new Array(hits.length);
  const readable: number[] = [];
  const size = segments.size(segmentId);
  let lastEnd = 0;
  hits.forEach((hit, i) => {
    if (!Number.isSafeInteger(hit.offset) || hit.offset < 32 || hit.length <= 0 || hit.offset + hit.length > size) {
      out[i] = { untrusted: `location ${hit.offset}+${hit.length} is outside the segment's frames` };
    } else if (hit.offset < lastEnd) {
      // Frames of one segment never overlap, and callers pass hits in file order.
      out[i] = { untrusted: `location ${hit.offset}+${hit.length} overlaps the frame before it` };
    } else {
      readable.push(i);
      lastEnd = hit.offset + hit.length;
    }
  });
  const bytes = await segments.readFrameRuns(segmentId, readable.map((i) => hits[i]!));
  readable.forEach((i, k) => (out[i] = checkFrameBytes(bytes[k]!, hits[i]!, expect[i]!)));
  return out;
}

function checkFrameBytes(bytes: Uint8Array, hit: IndexedLocation, expect: HitExpectation): CheckedHit {
  const step = frameAt(bytes, 0, 'none');
  if (step.kind === 'damage' || step.length !== hit.length) return { untrusted: `no frame of ${hit.length} bytes at offset ${hit.offset}` };
  if (step.crcOk !== true) return { damaged: 'frame CRC mismatch' };
  let decoded: Frame;
  try {
    decoded = decodeFrameBody(step.body!);
  } catch (err) {
    if (err instanceof FrameDecodeError) return { damaged: `frame body does not decode: ${err.message}` };
    throw err;
  }
  if (decoded.type !== 0) return { untrusted: `the frame at offset ${hit.offset} is not an event` };
  const frame = decoded;
  if (frame.globalSequence !== hit.globalSequence) return { untrusted: `the frame at offset ${hit.offset} has global sequence ${frame.globalSequence}, not ${hit.globalSequence}` };
  if (expect.idBytes !== undefined && !bytesEqual(frame.id, expect.idBytes)) return { untrusted: `the frame at offset ${hit.offset} is another event` };
  if (expect.entity !== undefined && frame.entity !== expect.entity) return { otherEntity: true };
  if (expect.entitySequence !== undefined && frame.entitySequence !== expect.entitySequence) {
    return { untrusted: `the frame at offset ${hit.offset} has entity sequence ${frame.entitySequence}, not ${expect.entitySequence}` };
  }
  return { frame };
}
