// The head of a Rust segment file: "FBAT" | u32be header_len | mp{version, flags, created_ns, segment_id}.
// Invariant: frames start exactly at 8 + header_len, and only version 1 is accepted.

import { cint, cstruct, cuint, decodeCanonical, encodeCanonical } from '../encoding/canonical.js';
import { RUST_MAX_SEGMENT_HEADER, RUST_SEGMENT_MAGIC, RUST_SEGMENT_VERSION } from './format.js';
import { field, i64Of, structOf, u64Of, uintOf, RustWireError } from './wire.js';

export interface RustSegmentHeader {
  readonly version: number;
  readonly flags: number;
  /** Wall-clock nanoseconds at creation (i64). */
  readonly createdNs: bigint;
  readonly segmentId: bigint;
}

export type RustSegmentHeadResult =
  | { readonly ok: true; readonly header: RustSegmentHeader; readonly framesStart: number }
  /** `incomplete`: the file ends inside the head (a segment created but never completed). */
  | { readonly ok: false; readonly offset: number; readonly reason: string; readonly incomplete: boolean };

export function readRustSegmentHead(bytes: Uint8Array): RustSegmentHeadResult {
  if (bytes.length < 8) {
    const prefixMatches = bytes.every((b, i) => i >= 4 || b === RUST_SEGMENT_MAGIC[i]);
    return { ok: false, offset: 0, reason: `file is ${bytes.length} bytes, shorter than the segment head`, incomplete: prefixMatches };
  }
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== RUST_SEGMENT_MAGIC[i]) return { ok: false, offset: 0, reason: 'bad segment magic (expected "FBAT")', incomplete: false };
  }
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(4);
  if (headerLen > RUST_MAX_SEGMENT_HEADER) {
    return { ok: false, offset: 4, reason: `segment header length ${headerLen} exceeds 64 KiB`, incomplete: false };
  }
  if (8 + headerLen > bytes.length) {
    return { ok: false, offset: 8, reason: `segment header (${headerLen} bytes) runs past the end of the file`, incomplete: true };
  }
  let header: RustSegmentHeader;
  try {
    const s = structOf(decodeCanonical(bytes.subarray(8, 8 + headerLen), { allowNonCanonical: true }), 'segment_header');
    header = {
      version: uintOf(field(s, 'version', 'segment_header'), 16, 'segment_header.version'),
      flags: uintOf(field(s, 'flags', 'segment_header'), 16, 'segment_header.flags'),
      createdNs: i64Of(field(s, 'created_ns', 'segment_header'), 'segment_header.created_ns'),
      segmentId: u64Of(field(s, 'segment_id', 'segment_header'), 'segment_header.segment_id'),
    };
  } catch (err) {
    const why = err instanceof RustWireError || err instanceof Error ? err.message : String(err);
    return { ok: false, offset: 8, reason: `segment header does not decode: ${why}`, incomplete: false };
  }
  if (header.version !== RUST_SEGMENT_VERSION) {
    return { ok: false, offset: 8, reason: `unsupported segment version ${header.version}`, incomplete: false };
  }
  return { ok: true, header, framesStart: 8 + headerLen };
}

/** The head bytes Rust writes for a new segment (used to build fixtures; the reader never writes). */
export function encodeRustSegmentHead(h: RustSegmentHeader): Uint8Array {
  const body = encodeCanonical(
    cstruct([
      ['version', cuint(h.version)],
      ['flags', cuint(h.flags)],
      ['created_ns', cint(h.createdNs)],
      ['segment_id', cuint(h.segmentId)],
    ]),
  );
  const out = new Uint8Array(8 + body.length);
  out.set(RUST_SEGMENT_MAGIC, 0);
  new DataView(out.buffer).setUint32(4, body.length);
  out.set(body, 8);
  return out;
}
