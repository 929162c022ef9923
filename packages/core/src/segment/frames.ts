// The one walk over a segment's frames, for every reader (recovery's scan, verifyChain, the seal lookup, the index's frame check, the CLI):
// each position is either a frame (with its CRC verdict) or damage of a named kind, and the walk resumes only where the caller's resync rule says.

import { crc32 } from 'node:zlib';
import { FRAME_HEADER_BYTES, FRAME_MAGIC, MAX_FRAME_BODY_BYTES, frameHeaderDamage, readFrameHeader, type FrameDamage } from './format.js';
import { isValidFrameAt } from './frame.js';
import type { ReadWindow } from './window.js';

export type { FrameDamage } from './format.js';

export type FrameStep =
  | {
      readonly kind: 'frame';
      /** File offset of the frame's magic. */
      readonly offset: number;
      /** Header + body bytes. */
      readonly length: number;
      /** The body, or undefined when the caller chose not to read it (`readBody`). */
      readonly body: Uint8Array | undefined;
      /** Whether the body matches the header's CRC; undefined when the body was not read. */
      readonly crcOk: boolean | undefined;
    }
  | {
      readonly kind: 'damage';
      readonly offset: number;
      readonly damage: FrameDamage;
      /** The length field as read (0 for a partial header). */
      readonly declaredLength: number;
      /** Where the walk goes on: the resync point, or the end when it stops here. */
      readonly resumeAt: number;
    };

/** How a walk goes on after damage: stop, at the next CRC-valid frame, or at the next frame magic. */
export type Resync = 'none' | 'valid-frame' | 'magic';

/** The frame magic's four bytes, to search for. */
export const MAGIC_BYTES = new Uint8Array([(FRAME_MAGIC >>> 24) & 0xff, (FRAME_MAGIC >>> 16) & 0xff, (FRAME_MAGIC >>> 8) & 0xff, FRAME_MAGIC & 0xff]);

/** Whether `buf` is all zero from `from` on (a zero-filled tail: never a frame, the magic is non-zero). */
export function isZeroFrom(buf: Uint8Array, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Offset of the first CRC-valid frame strictly after `from`, or -1. */
export function nextValidFrame(buf: Uint8Array, from: number): number {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = b.indexOf(MAGIC_BYTES, from + 1);
  while (at !== -1) {
    if (isValidFrameAt(buf, at)) return at;
    at = b.indexOf(MAGIC_BYTES, at + 1);
  }
  return -1;
}

/**
 * Whether the bytes from `pos` to the end have the shape of an interrupted append (FORMAT.md § Atomicity
 * rules): zeros, a partial frame header that matches the magic so far, or a header whose body runs past
 * the end — unless the bytes there are exactly a CRC-valid body behind a damaged length. Anything else at
 * the tail is damage to a written frame.
 */
export function isTornTail(buf: Uint8Array, pos: number): boolean {
  const rest = buf.length - pos;
  if (isZeroFrom(buf, pos)) return true;
  if (rest < FRAME_HEADER_BYTES) {
    for (let i = 0; i < Math.min(4, rest); i++) if (buf[pos + i] !== MAGIC_BYTES[i]) return false;
    return true;
  }
  const h = readFrameHeader(buf, pos);
  if (frameHeaderDamage(h, pos, buf.length) !== 'past-end') return isTornIntoZeros(buf, pos);
  return !isWholeBodyBehindDamagedLength(buf, pos, h.crc);
}

/** How many zero bytes a whole frame's body may end with and still be told from the preallocated zeros after it. */
const BODY_TRAILING_ZEROS_CHECKED = 64;

/**
 * Whether the bytes after the header at `pos` are a CRC-valid body that runs to the end of the file, to its last
 * non-zero byte, or a few zero bytes past that: a whole frame whose length field is damaged, followed by nothing or
 * by preallocated zeros.
 */
function isWholeBodyBehindDamagedLength(buf: Uint8Array, pos: number, crc: number): boolean {
  const bodyAt = pos + FRAME_HEADER_BYTES;
  // The body runs to the end of the file (the only shape there was before preallocation).
  if (crc32(buf.subarray(bodyAt)) === crc) return true;
  let zeros = buf.length;
  while (zeros > bodyAt && buf[zeros - 1] === 0) zeros--;
  let c = crc32(buf.subarray(bodyAt, zeros));
  const last = Math.min(buf.length, zeros + BODY_TRAILING_ZEROS_CHECKED);
  for (let end = zeros; ; end++) {
    if (c === crc) return true;
    if (end >= last) return false;
    c = crc32(ONE_ZERO, c);
  }
}

const ONE_ZERO = new Uint8Array(1);

/**
 * The same shapes cut short inside preallocated zeros (FORMAT.md § Preallocated tail): an append written over zeros
 * and interrupted leaves a prefix of its bytes and then the zeros, to the end of the file. So: zeros to the end, and
 * before them the start of a header that matches the magic so far, or a header whose declared body reaches past
 * where the zeros begin and ends before the file does. A whole frame with a damaged byte is not this shape when its
 * last byte is not zero or nothing follows it; when its body ends in zeros and preallocated zeros follow, the bytes
 * alone cannot tell it from a torn append, and recovery reads the tail again before it cuts (segment/recovery.ts).
 */
function isTornIntoZeros(buf: Uint8Array, pos: number): boolean {
  let zeros = buf.length;
  while (zeros > pos && buf[zeros - 1] === 0) zeros--;
  if (zeros === buf.length) return false;
  const written = zeros - pos;
  if (written < FRAME_HEADER_BYTES) {
    for (let i = 0; i < Math.min(4, written); i++) if (buf[pos + i] !== MAGIC_BYTES[i]) return false;
    return true;
  }
  const h = readFrameHeader(buf, pos);
  if (h.magic !== FRAME_MAGIC || h.length === 0 || h.length > MAX_FRAME_BODY_BYTES) return false;
  // The zeros must go on past the frame's declared end: preallocation reserves room beyond what is written. A frame
  // that ends at the end of the file with zero bytes of its own (a payload's trailing zeros) and a damaged byte
  // elsewhere is damage to a whole frame, and must never be cut as if it were torn.
  const end = pos + FRAME_HEADER_BYTES + h.length;
  if (end <= zeros || end >= buf.length) return false;
  // A whole last frame whose length field was damaged upwards also reaches into the zeros: its CRC still holds.
  return !isWholeBodyBehindDamagedLength(buf, pos, h.crc);
}

/**
 * What starts at `pos` of `buf` (`pos` < `buf.length`): a frame, or damage that resumes at the next
 * CRC-valid frame (`'valid-frame'`; the end when there is none) or at the end (`'none'`).
 */
export function frameAt(buf: Uint8Array, pos: number, resync: Exclude<Resync, 'magic'>): FrameStep {
  const end = buf.length;
  const h = pos + FRAME_HEADER_BYTES <= end ? readFrameHeader(buf, pos) : undefined;
  const damage = frameHeaderDamage(h, pos, end);
  if (damage !== undefined) {
    const next = resync === 'none' ? -1 : nextValidFrame(buf, pos);
    return { kind: 'damage', offset: pos, damage, declaredLength: h?.length ?? 0, resumeAt: next === -1 ? end : next };
  }
  const frameEnd = pos + FRAME_HEADER_BYTES + h!.length;
  const body = buf.subarray(pos + FRAME_HEADER_BYTES, frameEnd);
  return { kind: 'frame', offset: pos, length: frameEnd - pos, body, crcOk: crc32(body) === h!.crc };
}

/** The frames of `buf` (a whole segment) from `from` to its end, each as `frameAt` sees it. */
export function* walkFrames(buf: Uint8Array, from: number, resync: Exclude<Resync, 'magic'>): Generator<FrameStep, void, undefined> {
  let pos = from;
  while (pos < buf.length) {
    const step = frameAt(buf, pos, resync);
    yield step;
    pos = step.kind === 'frame' ? pos + step.length : step.resumeAt;
  }
}

export interface WindowWalkOptions {
  /** File offset of the first frame. */
  readonly from: number;
  /** After damage: go on at the next frame magic (`'magic'`; stop when there is none) or stop (`'none'`). */
  readonly resync: Exclude<Resync, 'valid-frame'>;
  /** Whether to read a body of this length; a frame whose body is skipped has `body` undefined. Default: all. */
  readonly readBody?: ((bodyLength: number) => boolean) | undefined;
}

/** The frames of a ReadWindow's readable prefix, read a window at a time (see walkFrames for a buffer). */
export async function* walkWindowFrames(w: ReadWindow, options: WindowWalkOptions): AsyncGenerator<FrameStep, void, undefined> {
  const end = w.end;
  let pos = options.from;
  while (pos < end) {
    const h = (await w.ensure(pos, FRAME_HEADER_BYTES)) ? readFrameHeader(w.bytes, pos - w.at) : undefined;
    const damage = frameHeaderDamage(h, pos, end);
    if (damage !== undefined) {
      // The per-frame magic lets the walk resynchronise on the next frame.
      const next = options.resync === 'magic' ? await w.indexOf(MAGIC_BYTES, pos + 1) : -1;
      yield { kind: 'damage', offset: pos, damage, declaredLength: h?.length ?? 0, resumeAt: next === -1 ? end : next };
      if (next === -1) return;
      pos = next;
      continue;
    }
    const bodyLength = h!.length;
    const length = FRAME_HEADER_BYTES + bodyLength;
    if (options.readBody !== undefined && !options.readBody(bodyLength)) {
      yield { kind: 'frame', offset: pos, length, body: undefined, crcOk: undefined };
    } else {
      await w.ensure(pos, length);
      const body = w.view(pos + FRAME_HEADER_BYTES, bodyLength);
      yield { kind: 'frame', offset: pos, length, body, crcOk: crc32(body) === h!.crc };
    }
    pos += length;
  }
}
