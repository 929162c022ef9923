// The frame region of one Rust segment (RUST-INTEROP.md § Segment and frame rules): where valid frames end, and whether what follows
// is a torn tail (newest segment only) or corruption. Invariant: a shortened region is always recorded (torn tail or truncation evidence).

import { isBatpakError } from '../errors.js';
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

/** An untrusted footer (its trailer or a row) claimed frames past where the valid ones end; the newest segment kept its prefix. */
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
  // Newest segment, nothing valid after the stop: an interrupted append leaves a short header, a length past
  // the end, or a complete frame whose CRC does not match (a body written only in part). Rust recovers the
  // prefix for all of them; a zero length is never written by an interrupted append and stays corruption.
  const k = w.probe.kind;
  if (k === 'short-header' || k === 'oversize' || k === 'past-end' || k === 'crc-mismatch') {
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
 * Rust's untrusted-footer decision (since its PR #192): a footer row proves nothing about any other row, so
 * rows and the footer's claimed end are only *suspicion* that frames past the stop were lost. An empty
 * prefix recovers; otherwise the newest segment recovers its CRC-valid prefix (recording the furthest
 * claimed end as truncation evidence) and an older, sealed segment is refused — unauthenticated bytes
 * cannot prove its tail complete.
 */
function untrustedFooterEnd(
  file: string,
  bytes: Uint8Array,
  footer: SidxFooter,
  frames: readonly RustScannedFrame[],
  stop: number,
  policy: RustTailPolicy,
): RustSegmentRegion {
  if (frames.length === 0) return { frames, footer, framesEnd: stop, tornTail: undefined, truncationEvidence: undefined };
  const claimed = suspicionClaim(footer, stop, bytes.length);
  if (policy === 'fail-closed') {
    throw rustCorrupt(
      file,
      stop,
      claimed === undefined
        ? `a sealed segment under an untrusted ${footer.magic} footer: CRC-valid frames end here, and no authenticated evidence proves nothing committed followed`
        : `a sealed segment under an untrusted ${footer.magic} footer: CRC-valid frames end here, but the footer claims frames up to offset ${claimed}`,
    );
  }
  return {
    frames,
    footer,
    framesEnd: stop,
    tornTail: undefined,
    truncationEvidence: claimed === undefined ? undefined : { recoveredEnd: stop, footerClaimedEnd: claimed },
  };
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * The furthest end an untrusted claim gives for frames past `stop`, or undefined: the footer's
 * `string_table_offset` when it lies past the stop and leaves room for the 16-byte trailer, and the end
 * (offset + length, saturating at u64 max) of every row naming a frame at or after the stop. Row hashes
 * are never read: a copied hash is no proof.
 */
function suspicionClaim(footer: SidxFooter, stop: number, fileLength: number): bigint | undefined {
  const at = BigInt(stop);
  let claimed: bigint | undefined;
  const offset = footer.stringTableOffset;
  if (offset > at && offset <= BigInt(fileLength - 16)) claimed = offset;
  for (const e of footer.entries) {
    if (e.frameOffset < at) continue;
    const end = e.frameOffset + BigInt(e.frameLength);
    const bounded = end > U64_MAX ? U64_MAX : end;
    if (claimed === undefined || bounded > claimed) claimed = bounded;
  }
  return claimed;
}
