// On-disk constants of format version 2 (version 1 is still read) and the 32-byte segment header (FORMAT.md § Segment header).
// A segment is header ‖ frames; the header is written and fsynced (file and directory) before any frame.

import { crc32 } from 'node:zlib';
import { BatpakError } from '../errors.js';

/** Written by this library. 2 added the seal's header digest (FORMAT.md § Seal frame body). */
export const FORMAT_VERSION = 2;
/** The oldest segment format still read: a format-1 seal simply lacks the header digest. */
export const MIN_READ_FORMAT_VERSION = 1;

/** "BPSG": first four bytes of every segment file. */
export const SEGMENT_MAGIC = 0x42505347;
/** "BPKF": first four bytes of every frame. A zero-filled tail can never look like a frame. */
export const FRAME_MAGIC = 0x42504b46;

export const SEGMENT_HEADER_BYTES = 32;

/** Segment header flag bits. */
export const SegmentFlags = Object.freeze({
  /** Written by compaction: holds only committed events, gaps in sequences are compaction's. */
  COMPACTED: 0x0001,
});
export const FRAME_HEADER_BYTES = 12;
/** Upper bound of a frame body; larger declared lengths are corruption (or a torn length). */
export const MAX_FRAME_BODY_BYTES = 256 * 1024 * 1024;

/** The 12-byte frame header as read; nothing is checked yet (see frameHeaderDamage). */
export interface FrameHeaderView {
  readonly magic: number;
  /** Declared body length. */
  readonly length: number;
  /** CRC-32 of the body. */
  readonly crc: number;
}

const u32 = (b: Uint8Array, p: number) => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;

/** The frame header at `pos`; the caller makes sure FRAME_HEADER_BYTES are there. */
export function readFrameHeader(buf: Uint8Array, pos: number): FrameHeaderView {
  return { magic: u32(buf, pos), length: u32(buf, pos + 4), crc: u32(buf, pos + 8) };
}

/** Why no frame starts at a position (FORMAT.md § Frame; § Atomicity rules says what a reader makes of it). */
export type FrameDamage =
  /** Fewer than the 12 header bytes before the end. */
  | 'partial-header'
  /** The first four bytes are not "BPKF". */
  | 'bad-magic'
  /** The declared body length is 0 or above MAX_FRAME_BODY_BYTES. */
  | 'bad-length'
  /** The declared body runs past the end. */
  | 'past-end';

/** The damage the frame header at `pos` shows against `end` (undefined: a partial header), or undefined when it declares a whole frame. */
export function frameHeaderDamage(h: FrameHeaderView | undefined, pos: number, end: number): FrameDamage | undefined {
  if (h === undefined) return 'partial-header';
  if (h.magic !== FRAME_MAGIC) return 'bad-magic';
  if (h.length === 0 || h.length > MAX_FRAME_BODY_BYTES) return 'bad-length';
  if (pos + FRAME_HEADER_BYTES + h.length > end) return 'past-end';
  return undefined;
}

export const SEGMENT_SUFFIX = '.bps';
export const LOCK_FILE = '.batpak.lock';

/** Highest segment id: the checkpoint and the index record segment ids as u32. */
export const MAX_SEGMENT_ID = 0xffffffff;

/**
 * `000042.bps`: the one segment-name grammar, for writer and reader alike — the id in base 10,
 * zero-padded to six digits, 1 ≤ id ≤ MAX_SEGMENT_ID (so 6 to 10 digits, no other leading zeros).
 */
export function segmentFileName(id: number): string {
  if (!Number.isSafeInteger(id) || id < 1 || id > MAX_SEGMENT_ID) {
    throw BatpakError.invalidArgument(`segment id ${id} is outside 1..${MAX_SEGMENT_ID}`, { field: 'segmentId' });
  }
  return `${String(id).padStart(6, '0')}${SEGMENT_SUFFIX}`;
}

/** The segment id of a file name, or undefined when the name is not exactly one `segmentFileName` writes. */
export function parseSegmentFileName(name: string): number | undefined {
  const m = /^(\d{6,10})\.bps$/.exec(name);
  if (m === null) return undefined;
  const id = Number(m[1]);
  if (id < 1 || id > MAX_SEGMENT_ID || segmentFileName(id) !== name) return undefined;
  return id;
}

/** A name that looks like a segment (`*.bps`) but is not one the store writes: reported, never adopted. */
export function isStraySegmentName(name: string): boolean {
  return name.toLowerCase().endsWith(SEGMENT_SUFFIX) && parseSegmentFileName(name) === undefined;
}

export interface SegmentHeader {
  readonly version: number;
  readonly flags: number;
  readonly segmentId: number;
  readonly createdAtMs: number;
}

export function encodeSegmentHeader(h: SegmentHeader): Uint8Array {
  const out = new Uint8Array(SEGMENT_HEADER_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, SEGMENT_MAGIC);
  dv.setUint16(4, h.version);
  dv.setUint16(6, h.flags);
  dv.setBigUint64(8, BigInt(h.segmentId));
  dv.setBigUint64(16, BigInt(h.createdAtMs));
  dv.setUint32(24, crc32(out.subarray(0, 24)));
  return out;
}

export type SegmentHeaderResult =
  | { readonly ok: true; readonly header: SegmentHeader }
  | { readonly ok: false; readonly reason: string };

export function decodeSegmentHeader(bytes: Uint8Array): SegmentHeaderResult {
  if (bytes.length < SEGMENT_HEADER_BYTES) return { ok: false, reason: 'segment header is truncated' };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_BYTES);
  if (dv.getUint32(0) !== SEGMENT_MAGIC) return { ok: false, reason: 'bad segment magic' };
  if (dv.getUint32(24) !== crc32(bytes.subarray(0, 24))) return { ok: false, reason: 'segment header CRC mismatch' };
  const version = dv.getUint16(4);
  if (version < MIN_READ_FORMAT_VERSION || version > FORMAT_VERSION) return { ok: false, reason: `unsupported segment format version ${version}` };
  return {
    ok: true,
    header: {
      version,
      flags: dv.getUint16(6),
      segmentId: Number(dv.getBigUint64(8)),
      createdAtMs: Number(dv.getBigUint64(16)),
    },
  };
}
