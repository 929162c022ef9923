// What a primary hands a replica for one committed event: its frame bytes exactly as stored and, when
// it ends its signed commit group, the seal frame after it. Read from the segment, never re-encoded.
// Invariant: the bytes returned are the event's own frame (its id is checked), or the read fails.

import { bytesEqual } from '../encoding/hex.js';
import { BatpakError, ioError } from '../errors.js';
import type { IndexEntry } from '../event-index/entry.js';
import { FRAME_HEADER_BYTES, frameHeaderDamage, readFrameHeader } from '../segment/format.js';
import { decodeFrameBody, EventFlags } from '../segment/frame.js';
import type { SegmentSet } from '../segment/set.js';

/** One event's frames for replication (`Store.replicationFrames`). */
export interface ReplicationFrames {
  /** The event frame, byte for byte as the store wrote it. */
  readonly event: Uint8Array;
  /** The seal frame of the event's commit group when this event is the group's last; else absent. */
  readonly seal?: Uint8Array;
}

/** A seal body is under 256 bytes; anything larger after an event is another event. */
const SEAL_BODY_MAX = 256;

export async function replicationFrames(segments: SegmentSet, entry: IndexEntry): Promise<ReplicationFrames> {
  const path = segments.path(entry.segmentId);
  const file = await segments.handle(entry.segmentId);
  const end = segments.size(entry.segmentId);
  let event: Uint8Array;
  try {
    event = await file.readAt(entry.offset, entry.length);
  } catch (err) {
    throw ioError(err, `cannot read event ${entry.eventId} from ${path}`, { file: path, offset: entry.offset });
  }
  const wrong = (why: string) => BatpakError.corruptSegment(path, entry.offset, `event ${entry.eventId}: ${why}`);
  if (event.length !== entry.length) throw wrong('short read');
  let body;
  try {
    body = decodeFrameBody(event.subarray(FRAME_HEADER_BYTES));
  } catch (err) {
    throw wrong(`its frame does not decode: ${(err as Error).message}`);
  }
  if (body.type !== 0 || !bytesEqual(body.id, entry.idBytes)) throw wrong('the frame at its index position is another one (moved by a compaction?)');
  if ((entry.flags & EventFlags.SEALED) === 0) return { event };
  // The seal of a group follows its last event directly (recovery refuses anything else in a live segment).
  const at = entry.offset + entry.length;
  if (at + FRAME_HEADER_BYTES > end) return { event };
  const head = await file.readAt(at, FRAME_HEADER_BYTES);
  const h = head.length === FRAME_HEADER_BYTES ? readFrameHeader(head, 0) : undefined;
  if (h === undefined || frameHeaderDamage(h, at, end) !== undefined || h.length >= SEAL_BODY_MAX) return { event };
  const seal = await file.readAt(at, FRAME_HEADER_BYTES + h.length);
  let frame;
  try {
    frame = decodeFrameBody(seal.subarray(FRAME_HEADER_BYTES));
  } catch {
    return { event };
  }
  if (frame.type !== 1 || frame.lastSequence !== entry.globalSequence) return { event };
  return { event, seal };
}
