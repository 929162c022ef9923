// SIDX footers of sealed Rust segments (RUST-INTEROP.md § On-disk format): detection, the SDX3 CRC, and the 162-byte entries.
// Invariant: only a CRC-valid SDX3 footer is trusted; SDX2 and bad SDX3 footers are hypotheses, never authority.

import { crc32 } from 'node:zlib';
import { carray, cstr, decodeCanonical, encodeCanonical } from '../encoding/canonical.js';

export const SIDX_ENTRY_BYTES = 162;
export const SIDX_TRAILER_BYTES = 16;
export const SIDX_CRC_BYTES = 4;

export interface SidxEntry {
  /** Big-endian id bytes (the footer stores the u128 little-endian; this is converted). */
  readonly eventId: Uint8Array;
  readonly entityIdx: number;
  readonly scopeIdx: number;
  readonly kind: number;
  readonly wallMs: bigint;
  /** = position.sequence */
  readonly clock: number;
  readonly dagLane: number;
  readonly dagDepth: number;
  readonly prevHash: Uint8Array;
  readonly eventHash: Uint8Array;
  readonly frameOffset: bigint;
  /** 8 + body length. */
  readonly frameLength: number;
  readonly globalSequence: bigint;
  readonly correlationId: Uint8Array;
  /** All zeros = none. */
  readonly causationId: Uint8Array;
}

export type SidxMagic = 'SDX2' | 'SDX3';

export interface SidxFooter {
  readonly magic: SidxMagic;
  /** Where the trailer claims the frame region ends. Authoritative only when `trusted`. */
  readonly stringTableOffset: bigint;
  readonly entryCount: number;
  /** A CRC-valid SDX3 footer with consistent geometry. */
  readonly trusted: boolean;
  /** Why an SDX3 footer is not trusted (undefined for trusted footers and for SDX2, which has no CRC). */
  readonly distrust?: string;
  /**
   * The parsed entries: authoritative when trusted; otherwise only suspicion of frames past the valid
   * prefix, never proof (empty when the geometry does not parse).
   */
  readonly entries: readonly SidxEntry[];
  /** The interned entity/scope strings (trusted footers only). */
  readonly strings: readonly string[] | undefined;
  /** Byte offset where the footer starts when the geometry parses (the string table), else the trailer. */
  readonly footerStart: number;
}

export type SidxDetection =
  | { readonly kind: 'none' }
  | { readonly kind: 'future-version'; readonly version: number }
  | { readonly kind: 'footer'; readonly footer: SidxFooter };

function reversed(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b[b.length - 1 - i]!;
  return out;
}

export function decodeSidxEntry(bytes: Uint8Array, at: number): SidxEntry {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + at, SIDX_ENTRY_BYTES);
  const take = (o: number, n: number): Uint8Array => bytes.slice(at + o, at + o + n);
  return {
    eventId: reversed(take(0, 16)),
    entityIdx: dv.getUint32(16, true),
    scopeIdx: dv.getUint32(20, true),
    kind: dv.getUint16(24, true),
    wallMs: dv.getBigUint64(26, true),
    clock: dv.getUint32(34, true),
    dagLane: dv.getUint32(38, true),
    dagDepth: dv.getUint32(42, true),
    prevHash: take(46, 32),
    eventHash: take(78, 32),
    frameOffset: dv.getBigUint64(110, true),
    frameLength: dv.getUint32(118, true),
    globalSequence: dv.getBigUint64(122, true),
    correlationId: reversed(take(130, 16)),
    causationId: reversed(take(146, 16)),
  };
}

export function encodeSidxEntry(e: SidxEntry): Uint8Array {
  const out = new Uint8Array(SIDX_ENTRY_BYTES);
  const dv = new DataView(out.buffer);
  out.set(reversed(e.eventId), 0);
  dv.setUint32(16, e.entityIdx, true);
  dv.setUint32(20, e.scopeIdx, true);
  dv.setUint16(24, e.kind, true);
  dv.setBigUint64(26, e.wallMs, true);
  dv.setUint32(34, e.clock, true);
  dv.setUint32(38, e.dagLane, true);
  dv.setUint32(42, e.dagDepth, true);
  out.set(e.prevHash, 46);
  out.set(e.eventHash, 78);
  dv.setBigUint64(110, e.frameOffset, true);
  dv.setUint32(118, e.frameLength, true);
  dv.setBigUint64(122, e.globalSequence, true);
  out.set(reversed(e.correlationId), 130);
  out.set(reversed(e.causationId), 146);
  return out;
}

/**
 * Looks at the last 16 bytes of a segment. `SDX2`/`SDX3` is a footer; `SDX<d>` with d > 3 is a future
 * version the reader must refuse (Rust: SidxFutureVersion); anything else means frames run to EOF.
 */
export function detectSidxFooter(bytes: Uint8Array): SidxDetection {
  const len = bytes.length;
  if (len < SIDX_TRAILER_BYTES) return { kind: 'none' };
  const t = len - SIDX_TRAILER_BYTES;
  const magic = String.fromCharCode(bytes[t + 12]!, bytes[t + 13]!, bytes[t + 14]!, bytes[t + 15]!);
  const m = /^SDX([0-9])$/.exec(magic);
  if (m === null) return { kind: 'none' };
  const version = Number(m[1]);
  if (version > 3) return { kind: 'future-version', version };
  if (version < 2) return { kind: 'none' };
  const dv = new DataView(bytes.buffer, bytes.byteOffset + t, SIDX_TRAILER_BYTES);
  const stringTableOffset = dv.getBigUint64(0, true);
  const entryCount = dv.getUint32(8, true);
  const crcBytes = version === 3 ? SIDX_CRC_BYTES : 0;
  const entriesLen = entryCount * SIDX_ENTRY_BYTES;
  const entriesStart = t - crcBytes - entriesLen;
  // Geometry that does not fit the file: nothing in the footer can be used, not even as a hypothesis.
  const geometryOk = entriesStart >= 0 && stringTableOffset <= BigInt(entriesStart);
  if (!geometryOk) {
    return {
      kind: 'footer',
      footer: {
        magic: magic as SidxMagic,
        stringTableOffset,
        entryCount,
        trusted: false,
        ...(version === 3 ? { distrust: 'footer geometry does not fit the file' } : {}),
        entries: [],
        strings: undefined,
        footerStart: t,
      },
    };
  }
  const tableStart = Number(stringTableOffset);
  const entries: SidxEntry[] = [];
  for (let i = 0; i < entryCount; i++) entries.push(decodeSidxEntry(bytes, entriesStart + i * SIDX_ENTRY_BYTES));
  let trusted = false;
  let distrust: string | undefined;
  let strings: string[] | undefined;
  if (version === 3) {
    const stored = new DataView(bytes.buffer, bytes.byteOffset + entriesStart + entriesLen, 4).getUint32(0, true);
    if (crc32(bytes.subarray(tableStart, entriesStart + entriesLen)) !== stored) {
      distrust = 'footer CRC mismatch';
    } else {
      try {
        const table = decodeCanonical(bytes.subarray(tableStart, entriesStart), { allowNonCanonical: true });
        if (table.t !== 'array' || !table.items.every((s) => s.t === 'str')) throw new Error('string table is not an array of strings');
        strings = table.items.map((s) => (s as { v: string }).v);
        const n = strings.length;
        if (entries.some((e) => e.entityIdx >= n || e.scopeIdx >= n)) throw new Error('an entry names a string past the table');
        trusted = true;
      } catch (err) {
        // CRC-valid but unreadable: Rust's read_footer errors here; as a boundary it stays untrusted.
        distrust = `footer content does not decode: ${(err as Error).message}`;
        strings = undefined;
      }
    }
  }
  return {
    kind: 'footer',
    footer: {
      magic: magic as SidxMagic,
      stringTableOffset,
      entryCount,
      trusted,
      ...(distrust === undefined ? {} : { distrust }),
      entries,
      strings: trusted ? strings : undefined,
      footerStart: tableStart,
    },
  };
}

/**
 * The footer bytes Rust appends when sealing a segment (SDX3 with its CRC; `legacy` gives the CRC-less
 * SDX2 layout). Used to build fixtures; the reader never writes.
 */
export function encodeSidxFooter(
  stringTableOffset: bigint,
  strings: readonly string[],
  entries: readonly SidxEntry[],
  options: { readonly legacy?: boolean } = {},
): Uint8Array {
  const table = encodeCanonical(carray(strings.map((s) => cstr(s))));
  const parts: Uint8Array[] = [table, ...entries.map(encodeSidxEntry)];
  const covered = Buffer.concat(parts);
  const trailer = new Uint8Array(SIDX_TRAILER_BYTES);
  const dv = new DataView(trailer.buffer);
  dv.setBigUint64(0, stringTableOffset, true);
  dv.setUint32(8, entries.length, true);
  trailer.set(Buffer.from(options.legacy === true ? 'SDX2' : 'SDX3', 'latin1'), 12);
  if (options.legacy === true) return new Uint8Array(Buffer.concat([covered, trailer]));
  const crc = new Uint8Array(4);
  new DataView(crc.buffer).setUint32(0, crc32(covered), true);
  return new Uint8Array(Buffer.concat([covered, crc, trailer]));
}
