// Scans one segment's bytes into frames and classifies what follows the valid prefix: nothing, a torn
// write (only allowed in the newest segment), or corruption — which is reported, never skipped.

import { crc32 } from 'node:zlib';
import { BatpakError } from '../errors.js';
import { decodeSegmentHeader, FRAME_HEADER_BYTES, FRAME_MAGIC, MAX_FRAME_BODY_BYTES, SEGMENT_HEADER_BYTES, type SegmentHeader } from './format.js';
import { decodeFrameBody, FrameDecodeError, isValidFrameAt, readFrameHeader, type Frame } from './frame.js';

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
  /** End of the valid prefix; bytes beyond it are a torn write. */
  readonly validEnd: number;
  readonly torn: boolean;
}

export interface ScanOptions {
  /** Path used in error messages. */
  readonly file: string;
  /** Newest segment: a torn tail is expected after a crash and may be cut. Older ones fail closed. */
  readonly allowTornTail: boolean;
  /** Start scanning frames here (a frame boundary the cold-start checkpoint vouches for). */
  readonly from?: number;
}

const MAGIC_BYTES = new Uint8Array([0x42, 0x50, 0x4b, 0x46]);

function corrupt(file: string, offset: number, reason: string): BatpakError {
  return new BatpakError('ERR_CORRUPT_SEGMENT', `corrupt segment ${file} at offset ${offset}: ${reason}`, {
    details: { file, offset, reason },
  });
}

function allZero(buf: Uint8Array, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Offset of the first CRC-valid frame strictly after `from`, or -1. */
function nextValidFrame(buf: Uint8Array, from: number): number {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = b.indexOf(MAGIC_BYTES, from + 1);
  while (at !== -1) {
    if (isValidFrameAt(buf, at)) return at;
    at = b.indexOf(MAGIC_BYTES, at + 1);
  }
  return -1;
}

/**
 * Whether the bytes from `pos` to EOF have the shape of an interrupted append: a partial frame header
 * that matches the magic so far, a header whose body runs past EOF (and is not a whole body behind a
 * damaged length), or zeros. Anything else at the tail is damage to a written frame.
 */
function isTornShape(buf: Uint8Array, pos: number): boolean {
  const rest = buf.length - pos;
  if (allZero(buf, pos)) return true;
  if (rest < FRAME_HEADER_BYTES) {
    for (let i = 0; i < Math.min(4, rest); i++) if (buf[pos + i] !== MAGIC_BYTES[i]) return false;
    return true;
  }
  const h = readFrameHeader(buf, pos);
  if (h.magic !== FRAME_MAGIC || h.length === 0 || h.length > MAX_FRAME_BODY_BYTES) return false;
  if (pos + FRAME_HEADER_BYTES + h.length <= buf.length) return false;
  // The body runs past EOF. If the bytes present are exactly a CRC-valid body, the length field was
  // damaged on a complete frame: that is corruption, not a torn write.
  return crc32(buf.subarray(pos + FRAME_HEADER_BYTES)) !== h.crc;
}

export function scanSegment(buf: Uint8Array, options: ScanOptions): SegmentScan {
  const { file, allowTornTail } = options;
  const head = decodeSegmentHeader(buf);
  if (!head.ok) {
    // A segment is created, given its header and fsynced before any frame is written, so a crash can
    // leave the newest one short or zero-filled but never with frames behind a bad header.
    if (allowTornTail && (buf.length < SEGMENT_HEADER_BYTES || allZero(buf, 0))) {
      return { header: undefined, frames: [], validEnd: 0, torn: buf.length > 0 };
    }
    throw corrupt(file, 0, head.reason);
  }
  const frames: ScannedFrame[] = [];
  let pos = Math.max(SEGMENT_HEADER_BYTES, options.from ?? 0);
  while (pos < buf.length) {
    if (!isValidFrameAt(buf, pos)) {
      const later = nextValidFrame(buf, pos);
      if (later !== -1) throw corrupt(file, pos, `invalid frame followed by a valid frame at offset ${later}`);
      if (allowTornTail && isTornShape(buf, pos)) return { header: head.header, frames, validEnd: pos, torn: true };
      throw corrupt(file, pos, allowTornTail ? 'damaged frame at the tail' : 'invalid frame in a sealed segment');
    }
    const h = readFrameHeader(buf, pos);
    const end = pos + FRAME_HEADER_BYTES + h.length;
    let frame: Frame;
    try {
      frame = decodeFrameBody(buf.subarray(pos + FRAME_HEADER_BYTES, end));
    } catch (err) {
      if (err instanceof FrameDecodeError) throw corrupt(file, pos, `frame body does not decode: ${err.message}`);
      throw err;
    }
    frames.push({ offset: pos, length: end - pos, frame });
    pos = end;
  }
  return { header: head.header, frames, validEnd: pos, torn: false };
}
