// What an open learns today by walking every committed event of a segment, folded once when the segment's
// index file is written (FORMAT.md § Segment index files, Summary and Lists), so a later open reads it
// instead of the events. Pure: a fold, its encoding and its checked decoding. Nothing here is trusted
// beyond its CRC: a summary that does not check out makes the whole file stale.

import { EventFlags } from '../segment/frame.js';

/** The fields of an event the summary folds (an IndexEntry or a decoded frame has them all). */
export interface SummarizedEvent {
  readonly idBytes: Uint8Array;
  readonly globalSequence: number;
  readonly committedAt: number;
  readonly flags: number;
  readonly encryption: { readonly scope: Uint8Array; readonly generation: number } | undefined;
}

/** A jump in the global sequence between two consecutive events of the file: `last+1 .. next-1` are absent. */
export interface SequenceJump {
  readonly last: number;
  readonly next: number;
}

/** The highest key generation a segment's frames reference in one encryption scope. */
export interface ScopeGeneration {
  readonly scope: Uint8Array;
  readonly generation: number;
}

/** The resident facts (fixed size). */
export interface SegmentSummary {
  /** Events with the SEALED flag (written in a signed commit group); `eventCount - sealedEvents` are unsigned. */
  readonly sealedEvents: number;
  /** Events whose payload is encrypted (an `encryption` header field). */
  readonly encryptedEvents: number;
  /** Bitwise OR of every event's flags. */
  readonly flagsUnion: number;
  /** Latest `committedAt` of any event (0 when the file holds none). */
  readonly maxCommittedAt: number;
  /** Id of the first encrypted event in global-sequence order (16 zero bytes when there is none). */
  readonly firstEncryptedId: Uint8Array;
  /** How many sequence jumps and encryption scopes the lists section holds. */
  readonly jumpCount: number;
  readonly scopeCount: number;
  /** Highest key generation of any scope (0 when there is no scope). */
  readonly maxGeneration: number;
}

/** The variable-length facts, read on demand (an open of a compacted or encrypted store needs them once). */
export interface SegmentLists {
  /** Ascending. */
  readonly jumps: readonly SequenceJump[];
  /** Ascending scope bytes (unsigned, shorter first on a common prefix). */
  readonly scopes: readonly ScopeGeneration[];
}

export const SUMMARY_BYTES = 64;
const MAX_SCOPE_BYTES = 0xffff;

/** Compares byte strings as unsigned, byte by byte, a prefix first. */
function compareScopes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Folds `events` (ascending global sequence) into the summary and the lists. */
export function summarize(events: readonly SummarizedEvent[]): { summary: SegmentSummary; lists: SegmentLists } {
  let sealedEvents = 0;
  let encryptedEvents = 0;
  let flagsUnion = 0;
  let maxCommittedAt = 0;
  let firstEncryptedId: Uint8Array | undefined;
  const jumps: SequenceJump[] = [];
  const generations = new Map<string, ScopeGeneration>();
  let previous: number | undefined;
  for (const e of events) {
    if ((e.flags & EventFlags.SEALED) !== 0) sealedEvents++;
    flagsUnion |= e.flags;
    if (e.committedAt > maxCommittedAt) maxCommittedAt = e.committedAt;
    if (previous !== undefined && e.globalSequence !== previous + 1) jumps.push({ last: previous, next: e.globalSequence });
    previous = e.globalSequence;
    const enc = e.encryption;
    if (enc === undefined) continue;
    encryptedEvents++;
    firstEncryptedId ??= e.idBytes;
    if (enc.scope.length > MAX_SCOPE_BYTES) throw new RangeError('an encryption scope is longer than 65,535 bytes');
    const hex = Buffer.from(enc.scope.buffer, enc.scope.byteOffset, enc.scope.length).toString('hex');
    const known = generations.get(hex);
    if (known === undefined || known.generation < enc.generation) generations.set(hex, { scope: known?.scope ?? enc.scope.slice(), generation: enc.generation });
  }
  const scopes = [...generations.values()].sort((a, b) => compareScopes(a.scope, b.scope));
  let maxGeneration = 0;
  for (const s of scopes) maxGeneration = Math.max(maxGeneration, s.generation);
  return {
    summary: {
      sealedEvents,
      encryptedEvents,
      flagsUnion,
      maxCommittedAt,
      firstEncryptedId: (firstEncryptedId ?? new Uint8Array(16)).slice(),
      jumpCount: jumps.length,
      scopeCount: scopes.length,
      maxGeneration,
    },
    lists: { jumps, scopes },
  };
}

/** Bytes of the lists section: u32 jump count, jumps (f64 last, f64 next), u32 scope count, scopes (u16 length, bytes, u32 generation), u32 CRC-32. */
export function listsBytes(lists: SegmentLists): number {
  let n = 4 + lists.jumps.length * 16 + 4 + 4;
  for (const s of lists.scopes) n += 2 + s.scope.length + 4;
  return n;
}

export function encodeLists(lists: SegmentLists, out: Uint8Array, at: number, crc32: (b: Uint8Array) => number): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.length);
  let p = at;
  dv.setUint32(p, lists.jumps.length, true);
  p += 4;
  for (const j of lists.jumps) {
    dv.setFloat64(p, j.last, true);
    dv.setFloat64(p + 8, j.next, true);
    p += 16;
  }
  dv.setUint32(p, lists.scopes.length, true);
  p += 4;
  for (const s of lists.scopes) {
    dv.setUint16(p, s.scope.length, true);
    out.set(s.scope, p + 2);
    dv.setUint32(p + 2 + s.scope.length, s.generation, true);
    p += 2 + s.scope.length + 4;
  }
  dv.setUint32(p, crc32(out.subarray(at, p)), true);
}

/** Decodes a lists section the summary describes; undefined when anything does not check out. */
export function decodeLists(bytes: Uint8Array, summary: SegmentSummary, crc32: (b: Uint8Array) => number): SegmentLists | undefined {
  if (bytes.length < 12) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (dv.getUint32(bytes.length - 4, true) !== crc32(bytes.subarray(0, bytes.length - 4))) return undefined;
  const end = bytes.length - 4;
  let p = 0;
  if (dv.getUint32(p, true) !== summary.jumpCount || 4 + summary.jumpCount * 16 + 4 > end) return undefined;
  p += 4;
  const jumps: SequenceJump[] = [];
  for (let i = 0; i < summary.jumpCount; i++, p += 16) {
    const j = { last: dv.getFloat64(p, true), next: dv.getFloat64(p + 8, true) };
    if (!(j.next > j.last + 1) || (i > 0 && !(j.last >= jumps[i - 1]!.next))) return undefined;
    jumps.push(j);
  }
  if (dv.getUint32(p, true) !== summary.scopeCount) return undefined;
  p += 4;
  const scopes: ScopeGeneration[] = [];
  let maxGeneration = 0;
  for (let i = 0; i < summary.scopeCount; i++) {
    if (p + 2 > end) return undefined;
    const len = dv.getUint16(p, true);
    if (p + 2 + len + 4 > end) return undefined;
    const s = { scope: bytes.slice(p + 2, p + 2 + len), generation: dv.getUint32(p + 2 + len, true) };
    if (i > 0 && compareScopes(scopes[i - 1]!.scope, s.scope) >= 0) return undefined;
    maxGeneration = Math.max(maxGeneration, s.generation);
    scopes.push(s);
    p += 2 + len + 4;
  }
  if (p !== end || maxGeneration !== summary.maxGeneration) return undefined;
  return { jumps, scopes };
}

export function encodeSummary(s: SegmentSummary, out: Uint8Array, at: number, crc32: (b: Uint8Array) => number): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.length);
  dv.setUint32(at, s.sealedEvents, true);
  dv.setUint32(at + 4, s.encryptedEvents, true);
  dv.setUint32(at + 8, s.flagsUnion, true);
  dv.setUint32(at + 12, s.jumpCount, true);
  dv.setUint32(at + 16, s.scopeCount, true);
  dv.setUint32(at + 20, s.maxGeneration, true);
  dv.setFloat64(at + 24, s.maxCommittedAt, true);
  out.set(s.firstEncryptedId, at + 32);
  dv.setUint32(at + SUMMARY_BYTES - 4, crc32(out.subarray(at, at + SUMMARY_BYTES - 4)), true);
}

/** Decodes the summary of a file of `eventCount` events; undefined when its CRC or its counts do not check out. */
export function decodeSummary(bytes: Uint8Array, eventCount: number, crc32: (b: Uint8Array) => number): SegmentSummary | undefined {
  if (bytes.length !== SUMMARY_BYTES) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (dv.getUint32(SUMMARY_BYTES - 4, true) !== crc32(bytes.subarray(0, SUMMARY_BYTES - 4))) return undefined;
  for (let i = 48; i < SUMMARY_BYTES - 4; i++) if (bytes[i] !== 0) return undefined;
  const s: SegmentSummary = {
    sealedEvents: dv.getUint32(0, true),
    encryptedEvents: dv.getUint32(4, true),
    flagsUnion: dv.getUint32(8, true),
    jumpCount: dv.getUint32(12, true),
    scopeCount: dv.getUint32(16, true),
    maxGeneration: dv.getUint32(20, true),
    maxCommittedAt: dv.getFloat64(24, true),
    firstEncryptedId: bytes.slice(32, 48),
  };
  const counts = s.sealedEvents <= eventCount && s.encryptedEvents <= eventCount && s.scopeCount <= s.encryptedEvents && s.jumpCount <= Math.max(0, eventCount - 1);
  if (!counts || (s.sealedEvents > 0 && (s.flagsUnion & EventFlags.SEALED) === 0) || (s.encryptedEvents > 0) !== (s.scopeCount > 0)) return undefined;
  if (!Number.isFinite(s.maxCommittedAt) || s.maxCommittedAt < 0) return undefined;
  return s;
}
