// Segment files read straight from disk per packages/core/FORMAT.md: per-file facts for `inspect`, and the event inside a damaged frame for `verify`.
// Invariant: read-only and independent of the store's recovery — it names what is on disk, including frames the store refuses to open over.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { decodeCanonical, type CanonicalValue } from '@batpak/core/canonical';
import { FRAME_HEADER_BYTES, frameAt, isZeroFrom, parseSegmentFileName, SEGMENT_HEADER_BYTES, SEGMENT_MAGIC } from '@batpak/core/format';
import { readRegularFile } from './files.js';

export interface SegmentFile {
  readonly name: string;
  readonly path: string;
  readonly id: number;
  readonly bytes: number;
}

/** Segment files of `dir` in id order, by the store's own name grammar (stray names are the store's to report). */
export async function listSegmentFiles(dir: string): Promise<SegmentFile[]> {
  const out: SegmentFile[] = [];
  for (const name of await readdir(dir)) {
    const id = parseSegmentFileName(name);
    if (id === undefined) continue;
    const path = join(dir, name);
    out.push({ name, path, id, bytes: (await stat(path)).size });
  }
  return out.sort((a, b) => a.id - b.id);
}

export type SegmentHeader = { readonly ok: true; readonly version: number; readonly id: number; readonly createdAt: number } | { readonly ok: false; readonly reason: string };

export interface FrameRecord {
  readonly offset: number;
  readonly length: number;
  /** Magic, length and CRC all check out. */
  readonly ok: boolean;
  readonly reason?: string;
  /** 0 event, 1 seal (when the body decodes). */
  readonly type?: number;
  readonly eventId?: string;
  readonly globalSequence?: number;
  readonly entity?: string;
  /** Raw u16 kind. */
  readonly kind?: number;
}

export interface SegmentScan {
  readonly header: SegmentHeader;
  readonly frames: readonly FrameRecord[];
}

const u32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
const u64 = (b: Uint8Array, at: number): number => u32(b, at) * 2 ** 32 + u32(b, at + 4);

function decodeHeader(b: Uint8Array): SegmentHeader {
  if (b.length < SEGMENT_HEADER_BYTES) return { ok: false, reason: `shorter than its ${SEGMENT_HEADER_BYTES}-byte header` };
  if (u32(b, 0) !== SEGMENT_MAGIC) return { ok: false, reason: 'bad segment magic' };
  if (crc32(b.subarray(0, 24)) !== u32(b, 24)) return { ok: false, reason: 'segment header CRC mismatch' };
  return { ok: true, version: u16(b, 4), id: u64(b, 8), createdAt: u64(b, 16) };
}

/** The fields of an event frame body that name it; whatever decodes (a damaged payload usually leaves these intact). */
function describeBody(body: Uint8Array): Pick<FrameRecord, 'type' | 'eventId' | 'globalSequence' | 'entity' | 'kind'> {
  let value: CanonicalValue;
  try {
    value = decodeCanonical(body, { allowNonCanonical: true });
  } catch {
    return {};
  }
  if (value.t !== 'map') return {};
  const out: { type?: number; eventId?: string; globalSequence?: number; entity?: string; kind?: number } = {};
  for (const [k, v] of value.entries) {
    if (k.t !== 'str') continue;
    if (k.v === 't' && v.t === 'int') out.type = Number(v.v);
    else if (k.v === 'id' && v.t === 'bin' && v.v.length === 16) out.eventId = Buffer.from(v.v).toString('hex');
    else if (k.v === 'g' && v.t === 'int') out.globalSequence = Number(v.v);
    else if (k.v === 'e' && v.t === 'str') out.entity = v.v;
    else if (k.v === 'k' && v.t === 'int') out.kind = Number(v.v);
  }
  return out;
}

/** Walks every frame; a damaged one is reported and skipped (by its length, or to the next valid frame). */
export function scanSegmentBytes(b: Uint8Array): SegmentScan {
  const header = decodeHeader(b);
  const frames: FrameRecord[] = [];
  if (!header.ok) return { header, frames };
  let pos = SEGMENT_HEADER_BYTES;
  while (pos < b.length) {
    // A zero-filled or short tail is an interrupted append, not a frame.
    if (isZeroFrom(b, pos)) break;
    const step = frameAt(b, pos, 'valid-frame');
    if (step.kind === 'damage') {
      if (step.damage === 'partial-header') {
        frames.push({ offset: pos, length: b.length - pos, ok: false, reason: 'partial frame header at the end of the file' });
        break;
      }
      if (step.damage === 'past-end') {
        frames.push({ offset: pos, length: b.length - pos, ok: false, reason: 'frame runs past the end of the file', ...describeBody(b.subarray(pos + FRAME_HEADER_BYTES)) });
        break;
      }
      // Skipped to the next valid frame (or the end).
      const reason = step.damage === 'bad-length' ? `frame length ${step.declaredLength} is impossible` : 'no frame magic where a frame should start';
      frames.push({ offset: pos, length: step.resumeAt - pos, ok: false, reason });
      pos = step.resumeAt;
      continue;
    }
    const ok = step.crcOk === true;
    frames.push({ offset: pos, length: step.length, ok, ...(ok ? {} : { reason: 'CRC mismatch: the frame changed after it was written' }), ...describeBody(step.body!) });
    pos += step.length;
  }
  return { header, frames };
}

export async function scanSegmentFile(path: string): Promise<SegmentScan> {
  return scanSegmentBytes(await readRegularFile(path));
}
