// Scans one segment's bytes into frames and classifies what follows the valid prefix: nothing, a torn
// write (only allowed in the newest segment), or corruption — which is reported, never skipped.

import { BatpakError } from '../errors.js';
import { decodeSegmentHeader, SEGMENT_HEADER_BYTES, type SegmentHeader } from './format.js';
import { decodeFrameBody, FrameDecodeError, type Frame } from './frame.js';
import { isTornTail, isZeroFrom, nextValidFrame, walkFrames } from './frames.js';

export interface ScannedFrame {
  /** Byte offset of the frame's magic within the segment. */
  readonly offset: number;
  /** Frame header + body length. */
  readonly length: number;
  readonly frame: Frame;
}

export interface SegmentScan {
  /** Undefined only for a torn (never-initialised) newest segment. */
  readonly header: SegmentHeader | undefined;
  readonly frames: ScannedFrame[];
  /** End of the valid prefix; bytes beyond it are a torn write or preallocated zeros. */
  readonly validEnd: number;
  /** Bytes follow the valid prefix that an interrupted append left (not only zeros: those carry no write). */
  readonly torn: boolean;
}

export interface ScanOptions {
  /** Path used in error messages. */
  readonly file: string;
  /** Newest segment: a torn tail is expected after a crash and may be cut. Older ones fail closed. */
  readonly allowTornTail: boolean;
  /** Start scanning frames here (a frame boundary the cold-start checkpoint vouches for). */
  readonly from?: number;
  /**
   * `buf` holds the segment's header, then the file's bytes from this offset on (a frame boundary the cold-start
   * checkpoint vouches for) and not those between: the frames are scanned from there, and every offset reported
   * (frames, `validEnd`, errors) is the file's.
   */
  readonly tailAt?: number;
}

function corrupt(file: string, offset: number, reason: string): BatpakError {
  return BatpakError.corruptSegment(file, offset, reason);
}

export function scanSegment(buf: Uint8Array, options: ScanOptions): SegmentScan {
  const { file, allowTornTail } = options;
  const head = decodeSegmentHeader(buf);
  if (!head.ok) {
    // A segment is created, given its header and fsynced before any frame is written, so a crash can
    // leave the newest one short or zero-filled but never with frames behind a bad header.
    if (allowTornTail && (buf.length < SEGMENT_HEADER_BYTES || isZeroFrom(buf, 0))) {
      return { header: undefined, frames: [], validEnd: 0, torn: buf.length > 0 };
    }
    throw corrupt(file, 0, head.reason);
  }
  const frames: ScannedFrame[] = [];
  // A position in `buf` plus `shift` is the file's offset (0 unless only the tail was read).
  const shift = options.tailAt === undefined ? 0 : options.tailAt - SEGMENT_HEADER_BYTES;
  const from = options.tailAt === undefined ? Math.max(SEGMENT_HEADER_BYTES, options.from ?? 0) : SEGMENT_HEADER_BYTES;
  let validEnd = from + shift;
  for (const step of walkFrames(buf, from, 'none')) {
    const pos = step.offset;
    if (step.kind === 'damage' || step.crcOk !== true) {
      const later = nextValidFrame(buf, pos);
      if (later !== -1) throw corrupt(file, pos + shift, `invalid frame followed by a valid frame at offset ${later + shift}`);
      // All zeros from here: the segment writer's preallocation (FORMAT.md § Preallocated tail), or an append whose
      // data never reached the disk. Neither holds anything that was written, so neither is a torn write to report.
      if (allowTornTail && isTornTail(buf, pos)) return { header: head.header, frames, validEnd: pos + shift, torn: !isZeroFrom(buf, pos) };
      throw corrupt(file, pos + shift, allowTornTail ? 'damaged frame at the tail' : 'invalid frame in a sealed segment');
    }
    let frame: Frame;
    try {
      frame = decodeFrameBody(step.body!);
    } catch (err) {
      if (err instanceof FrameDecodeError) throw corrupt(file, pos + shift, `frame body does not decode: ${err.message}`);
      throw err;
    }
    frames.push({ offset: pos + shift, length: step.length, frame });
    validEnd = pos + shift + step.length;
  }
  return { header: head.header, frames, validEnd, torn: false };
}
