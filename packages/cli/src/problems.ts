// Verification problems, each named by what an operator needs to find it: the event id, the segment file and the byte offset.
// Invariant: every damaged frame on disk and every chain finding becomes exactly one problem; gaps left by compaction are never problems.

import { basename } from 'node:path';
import type { BatpakError, ChainVerificationReport } from '@batpak/core';
import { listSegmentFiles, scanSegmentFile } from './segments.js';

export type ProblemKind =
  | 'corrupt-frame'
  | 'content-hash-mismatch'
  | 'dangling-link'
  | 'missing-event'
  | 'signature-failure'
  | 'directory-damage'
  | 'invalid-receipt'
  | 'attestation';

export interface Problem {
  readonly kind: ProblemKind;
  readonly eventId?: string;
  /** Segment file name (e.g. `000001.bps`). */
  readonly file?: string;
  readonly offset?: number;
  /** Line of the receipts file (1-based). */
  readonly line?: number;
  readonly reason: string;
}

const LABEL: Readonly<Record<ProblemKind, string>> = {
  'corrupt-frame': 'corrupt frame',
  'content-hash-mismatch': 'content hash mismatch',
  'dangling-link': 'broken chain link',
  'missing-event': 'missing event',
  'signature-failure': 'signature does not verify',
  'directory-damage': 'store directory damage',
  'invalid-receipt': 'invalid receipt',
  attestation: 'attestation not extended',
};

export function describeProblem(p: Problem): string {
  const where = [
    p.line === undefined ? undefined : `line ${p.line}`,
    p.eventId === undefined ? undefined : `event ${p.eventId}`,
    p.file === undefined ? undefined : `${p.kind === 'directory-damage' ? 'file' : 'segment'} ${p.file}${p.offset === undefined ? '' : ` offset ${p.offset}`}`,
  ].filter((x) => x !== undefined);
  return `${LABEL[p.kind]}: ${where.join(', ')}${where.length > 0 ? ' — ' : ''}${p.reason}`;
}

interface Located {
  readonly file: string;
  readonly offset: number;
}

/** Where each event's frame sits, read from the segment files (only needed when something is wrong). */
async function locateEvents(dir: string): Promise<Map<string, Located>> {
  const where = new Map<string, Located>();
  for (const seg of await listSegmentFiles(dir)) {
    const scan = await scanSegmentFile(seg.path);
    for (const f of scan.frames) if (f.eventId !== undefined && !where.has(f.eventId)) where.set(f.eventId, { file: seg.name, offset: f.offset });
  }
  return where;
}

/** The problems of a chain report, each placed in its segment. */
export async function chainProblems(dir: string, report: ChainVerificationReport): Promise<Problem[]> {
  const found: Problem[] = [
    ...report.corruptFrames.map((c): Problem => ({
      kind: 'corrupt-frame',
      ...(c.eventId === undefined ? {} : { eventId: c.eventId }),
      file: basename(c.file),
      offset: c.offset,
      reason: c.reason,
    })),
    ...report.contentHashMismatches.map((eventId): Problem => ({ kind: 'content-hash-mismatch', eventId, reason: 'the stored payload no longer hashes to its content hash' })),
    ...report.danglingLinks.map((eventId): Problem => ({ kind: 'dangling-link', eventId, reason: "prevHash is not the content hash of the entity's preceding event" })),
    ...report.missingEvents.map((eventId): Problem => ({ kind: 'missing-event', eventId, reason: 'a committed event is no longer on disk' })),
    ...report.signatureFailures.map((eventId): Problem => ({ kind: 'signature-failure', eventId, reason: "its commit group's signature is missing or does not verify" })),
    ...report.directoryDamage.map((d): Problem => ({ kind: 'directory-damage', file: basename(d.file), reason: `${d.reason}: ${d.message}` })),
  ];
  if (found.length === 0) return found;
  const where = await locateEvents(dir);
  return found.map((p) => {
    if (p.file !== undefined || p.eventId === undefined) return p;
    const at = where.get(p.eventId);
    return at === undefined ? p : { ...p, file: at.file, offset: at.offset };
  });
}

const INTERRUPTED_APPEND = new Set(['partial frame header at the end of the file', 'frame runs past the end of the file']);

/**
 * The store refused to open (ERR_CORRUPT_SEGMENT): name every damaged frame on disk, with the event id
 * when its body still decodes. The frame the store named comes first; an interrupted append at the very
 * end of the newest segment is what recovery cuts, so it is not reported.
 */
export async function damageProblems(dir: string, err: BatpakError): Promise<Problem[]> {
  const segments = await listSegmentFiles(dir);
  const named = { file: typeof err.details.file === 'string' ? basename(err.details.file) : undefined, offset: err.details.offset };
  const problems: Problem[] = [];
  let namedEventId: string | undefined;
  for (const [i, seg] of segments.entries()) {
    const scan = await scanSegmentFile(seg.path);
    if (seg.name === named.file) namedEventId = scan.frames.find((f) => f.offset === named.offset)?.eventId;
    if (!scan.header.ok) {
      problems.push({ kind: 'corrupt-frame', file: seg.name, offset: 0, reason: scan.header.reason });
      continue;
    }
    for (const f of scan.frames) {
      if (f.ok) continue;
      if (i === segments.length - 1 && f.reason !== undefined && INTERRUPTED_APPEND.has(f.reason)) continue;
      problems.push({ kind: 'corrupt-frame', ...(f.eventId === undefined ? {} : { eventId: f.eventId }), file: seg.name, offset: f.offset, reason: f.reason ?? 'invalid frame' });
    }
  }
  const isNamed = (p: Problem) => p.file === named.file && p.offset === named.offset;
  if (!problems.some(isNamed) && named.file !== undefined) {
    // The store objects to something the frame walk accepts (a sequence hole, a duplicate id, a seal that does not match).
    const reason = typeof err.details.reason === 'string' ? err.details.reason : err.message;
    problems.unshift({
      kind: 'corrupt-frame',
      ...(namedEventId === undefined ? {} : { eventId: namedEventId }),
      file: named.file,
      ...(named.offset === undefined ? {} : { offset: named.offset }),
      reason,
    });
  }
  return [...problems.filter(isNamed), ...problems.filter((p) => !isNamed(p))];
}
