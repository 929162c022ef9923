// Damage in a Rust batpak directory named the way `verify` names ours: event id, segment file, byte offset.
// Invariant (INV-RUST-READ-VERIFY): every refusal and every chain finding becomes exactly one problem; the Rust files are only read.

import { basename } from 'node:path';
import { decodeCanonical, type BatpakError, type CanonicalValue, type ChainVerificationReport, type RustStore } from '@batpak/core';
import type { Problem } from './problems.js';
import { openRegular } from './files.js';

/** Rust's frame: `u32be len | u32be crc32(body) | body` (core.md §4.2); the same bound the reader applies. */
const FRAME_HEAD_BYTES = 8;
const MAX_FRAME_BODY_BYTES = 256 * 1024 * 1024;

function field(v: CanonicalValue | undefined, name: string): CanonicalValue | undefined {
  if (v?.t !== 'map') return undefined;
  return v.entries.find(([k]) => k.t === 'str' && k.v === name)?.[1];
}

/**
 * The event id inside the frame at `offset`, when the damaged body still decodes that far
 * (`mp{event: mp{header: mp{event_id: bin16}}}`). Best effort: a refusal only carries an id when the
 * reader could trust the frame, and a CRC failure is exactly when it cannot.
 */
async function eventIdAt(file: string, offset: number): Promise<string | undefined> {
  let fh;
  try {
    fh = await openRegular(file);
    const head = Buffer.alloc(FRAME_HEAD_BYTES);
    if ((await fh.read(head, 0, FRAME_HEAD_BYTES, offset)).bytesRead !== FRAME_HEAD_BYTES) return undefined;
    const length = head.readUInt32BE(0);
    if (length === 0 || length > MAX_FRAME_BODY_BYTES) return undefined;
    const body = Buffer.alloc(length);
    if ((await fh.read(body, 0, length, offset + FRAME_HEAD_BYTES)).bytesRead !== length) return undefined;
    const id = field(field(field(decodeCanonical(new Uint8Array(body), { allowNonCanonical: true }), 'event'), 'header'), 'event_id');
    if ((id?.t === 'bin' || id?.t === 'byteArray') && id.v.length === 16) return Buffer.from(id.v).toString('hex');
    // Rust may also write it as 16 integers (serde's default for [u8; 16]).
    if (id?.t === 'array' && id.items.length === 16) {
      const bytes = id.items.map((x) => (x.t === 'int' ? Number(x.v) : -1));
      if (bytes.every((b) => b >= 0 && b <= 255)) return Buffer.from(bytes).toString('hex');
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** The Rust reader refused to open (ERR_CORRUPT_SEGMENT): the one place it names, as a problem. */
export async function rustRefusalProblem(err: BatpakError): Promise<Problem> {
  const d = err.details;
  const path = typeof d.file === 'string' ? d.file : undefined;
  const offset = typeof d.offset === 'number' ? d.offset : undefined;
  const eventId = typeof d.eventId === 'string' ? d.eventId : path !== undefined && offset !== undefined ? await eventIdAt(path, offset) : undefined;
  return {
    kind: 'corrupt-frame',
    ...(eventId === undefined ? {} : { eventId }),
    ...(path === undefined ? {} : { file: basename(path) }),
    ...(offset === undefined ? {} : { offset }),
    reason: typeof d.reason === 'string' ? d.reason : err.message,
  };
}

/** A Rust chain report's findings, each placed at its frame (the reader's index knows every frame's place). */
export function rustChainProblems(rust: RustStore, report: ChainVerificationReport): Problem[] {
  const at = (eventId: string): Pick<Problem, 'file' | 'offset'> => {
    try {
      const { file, offset } = rust.rustEvent(eventId).location;
      return { file: basename(file), offset };
    } catch {
      return {};
    }
  };
  return [
    ...report.corruptFrames.map((c): Problem => ({
      kind: 'corrupt-frame',
      ...(c.eventId === undefined ? {} : { eventId: c.eventId }),
      file: basename(c.file),
      offset: c.offset,
      reason: c.reason,
    })),
    ...report.contentHashMismatches.map((eventId): Problem => ({ kind: 'content-hash-mismatch', eventId, ...at(eventId), reason: 'the stored payload no longer hashes to its event hash' })),
    ...report.danglingLinks.map((eventId): Problem => ({
      kind: 'dangling-link',
      eventId,
      ...at(eventId),
      reason: 'prev_hash is not the event hash of the preceding event of its (entity, lane)',
    })),
    ...report.missingEvents.map((eventId): Problem => ({ kind: 'missing-event', eventId, ...at(eventId), reason: 'an indexed frame is no longer in its file' })),
    // Always empty for Rust (no persisted signatures); mapped anyway so nothing a report says is dropped.
    ...report.signatureFailures.map((eventId): Problem => ({ kind: 'signature-failure', eventId, ...at(eventId), reason: 'signature does not verify' })),
  ];
}
