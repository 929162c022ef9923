// The frame region of one Rust segment (RUST-INTEROP.md § Segment and frame rules): where valid frames end, and whether what follows
// is a torn tail (newest segment only) or corruption. Invariant: damage is never silently truncated away.

import { isBatpakError } from '../errors.js';
import { bytesEqual } from '../encoding/hex.js';
import { rustCorrupt } from './format.js';
import { crcValidFrameAfter, decodeRustFrameBody, describeProbe, probeFrame, type FrameProbe, type RustFrameBody } from './frame.js';
import { detectSidxFooter, type SidxFooter } from './sidx.js';
import { RustWireError } from './wire.js';

/**
 * `recover-torn-tail` for the newest segment (a crash can leave a half-written last frame there);
 * `fail-closed` for every older one, which Rust sealed and never appends to again.
 */
export type RustTailPolicy = 'fail-closed' | 'recover-torn-tail';

export interface RustScannedFrame {
  readonly offset: number;
  /** 8 + body length. */
  readonly length: number;
  readonly body: RustFrameBody;
}

/** Bytes after the last valid frame accepted as an interrupted append (newest segment only). */
export interface RustTornTail {
  readonly offset: number;
  readonly bytes: number;
  readonly reason: string;
}

/** An untrusted footer claimed frames past where the valid ones end, and nothing corroborated it. */
export interface RustTruncationEvidence {
  readonly recoveredEnd: number;
  readonly footerClaimedEnd: bigint;
}

export interface RustSegmentRegion {
  readonly frames: readonly RustScannedFrame[];
  readonly footer: SidxFooter | undefined;
  /** End of the accepted frame region. */
  readonly framesEnd: number;
  readonly tornTail: RustTornTail | undefined;
  readonly truncationEvidence: RustTruncationEvidence | undefined;
}

function decodeAt(file: string, offset: number, body: Uint8Array): RustFrameBody {
  try {
    return decodeRustFrameBody(body);
  } catch (err) {
    if (err instanceof RustWireError || isBatpakError(err, 'ERR_INVALID_ARGUMENT')) {
      throw rustCorrupt(file, offset, `a CRC-valid frame does not decode: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
}

/** Walks CRC-valid frames from `start`, stopping at the first position in [start, end) that is not one. */
function walk(file: string, bytes: Uint8Array, start: number, end: number): { frames: RustScannedFrame[]; stop: number; probe: FrameProbe | undefined } {
  const frames: RustScannedFrame[] = [];
  let pos = start;
  while (pos < end) {
    const probe = probeFrame(bytes, pos, end);
    if (probe.kind !== 'frame') return { frames, stop: pos, probe };
    frames.push({ offset: pos, length: probe.length, body: decodeAt(file, pos, probe.body) });
    pos += probe.length;
  }
  return { frames, stop: pos, probe: undefined };
}

function refuseIfFramesFollow(file: string, bytes: Uint8Array, stop: number, probe: FrameProbe): void {
  const next = crcValidFrameAfter(bytes, stop + 1, bytes.length);
  if (next !== undefined) {
    throw rustCorrupt(file, stop, `mid-stream corruption: ${describeProbe(probe)}, yet a CRC-valid frame follows at offset ${next}`);
  }
}

/**
 * Resolves the frame region of one segment whose frames start at `framesStart`. Throws
 * ERR_CORRUPT_SEGMENT (file, offset) for anything but a clean region or an accepted torn tail.
 */
export function resolveRustSegment(file: string, bytes: Uint8Array, framesStart: number, policy: RustTailPolicy): RustSegmentRegion {
  const detection = detectSidxFooter(bytes);
  if (detection.kind === 'future-version') {
    throw rustCorrupt(file, bytes.length - 16, `SIDX footer SDX${detection.version} is newer than this reader (SDX3)`);
  }
  const footer = detection.kind === 'footer' ? detection.footer : undefined;

  if (footer?.trusted === true) {
    // An authenticated frame-region end: every byte before it must be a valid frame.
    const end = Number(footer.stringTableOffset);
    if (end < framesStart || end > bytes.length - 16) {
      throw rustCorrupt(file, bytes.length - 16, `trusted SIDX string_table_offset ${end} is outside the frame region [${framesStart}, ${bytes.length - 16}]`);
    }
    const w = walk(file, bytes, framesStart, end);
    if (w.probe !== undefined) throw rustCorrupt(file, w.stop, `${describeProbe(w.probe)} before the trusted SIDX boundary ${end}`);
    return { frames: w.frames, footer, framesEnd: end, tornTail: undefined, truncationEvidence: undefined };
  }

  // No footer, or one whose offset is only a hint: walk to EOF, never bounded by the hint.
  const w = walk(file, bytes, framesStart, bytes.length);
  if (w.probe === undefined) return { frames: w.frames, footer, framesEnd: w.stop, tornTail: undefined, truncationEvidence: undefined };
  refuseIfFramesFollow(file, bytes, w.stop, w.probe);

  if (footer !== undefined) return untrustedFooterEnd(file, bytes, footer, w.frames, w.stop, policy);

  if (policy === 'fail-closed') {
    throw rustCorrupt(file, w.stop, `${describeProbe(w.probe)} in a sealed segment (only the newest segment may end in a torn frame)`);
  }
  // Only the shapes an interrupted append leaves are a torn tail; a complete frame with a bad CRC is damage.
  const k = w.probe.kind;
  if (k === 'short-header' || k === 'oversize' || k === 'past-end') {
    return {
      frames: w.frames,
      footer,
      framesEnd: w.stop,
      tornTail: { offset: w.stop, bytes: bytes.length - w.stop, reason: describeProbe(w.probe) },
      truncationEvidence: undefined,
    };
  }
  throw rustCorrupt(file, w.stop, describeProbe(w.probe));
}

/**
 * Rust's untrusted-footer decision (its recovery-manifest check): entries that match a recovered frame by offset,
 * length and event hash anchor the manifest; an anchored manifest naming a frame at or past the stop means
 * a committed frame was lost (refuse, any policy). With no anchor, the tail policy decides.
 */
function untrustedFooterEnd(
  file: string,
  bytes: Uint8Array,
  footer: SidxFooter,
  frames: readonly RustScannedFrame[],
  stop: number,
  policy: RustTailPolicy,
): RustSegmentRegion {
  const byOffset = new Map<number, RustScannedFrame>();
  for (const f of frames) byOffset.set(f.offset, f);
  const matches = (e: SidxFooter['entries'][number]): boolean => {
    const f = byOffset.get(Number(e.frameOffset));
    return f !== undefined && f.length === e.frameLength && f.body.hashChain !== undefined && bytesEqual(f.body.hashChain.eventHash, e.eventHash);
  };
  const anchored = footer.entries.filter(matches).length;
  if (anchored > 0) {
    const missing = footer.entries.find((e) => e.frameOffset >= BigInt(stop) && !matches(e));
    if (missing !== undefined) {
      throw rustCorrupt(
        file,
        stop,
        `valid frames end here, but the ${footer.magic} footer (corroborated by ${anchored} frame${anchored === 1 ? '' : 's'}) lists a committed frame at offset ${missing.frameOffset}`,
      );
    }
    return { frames, footer, framesEnd: stop, tornTail: undefined, truncationEvidence: undefined };
  }
  const claimed = footer.stringTableOffset;
  const gap = claimed > BigInt(stop);
  if (frames.length === 0) return { frames, footer, framesEnd: stop, tornTail: undefined, truncationEvidence: undefined };
  if (policy === 'fail-closed') {
    throw rustCorrupt(
      file,
      stop,
      gap
        ? `valid frames end here but the untrusted ${footer.magic} footer claims frames up to offset ${claimed}`
        : `an untrusted ${footer.magic} footer that no frame corroborates cannot prove this sealed segment complete`,
    );
  }
  return {
    frames,
    footer,
    framesEnd: stop,
    tornTail: undefined,
    truncationEvidence: gap ? { recoveredEnd: stop, footerClaimedEnd: claimed } : undefined,
  };
}
