// Verification problems, each named by what an operator needs to find it: the event id, the segment file and the byte offset.
// Invariant: every damaged frame on disk and every chain finding becomes exactly one problem, in either format; gaps left by compaction are never problems.

import { basename } from 'node:path';
import { decodeCanonical, type BatpakError, type CanonicalValue, type ChainVerificationReport } from '@batpak/core';
// Rust's frame head (`u32be length | u32be crc32(body)`) and the largest body its reader accepts.
import { RUST_FRAME_HEADER_BYTES, RUST_MAX_FRAME_BODY } from '@batpak/core/rust';
import { openRegular } from './files.js';
import { inspectDir, type StoreFormat } from './rust-dir.js';
import { listSegmentFiles, scanSegmentFile, type SegmentFile } from './segments.js';
import type { OpenedLog } from './store-open.js';

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

type Locate = (eventId: string) => Located | undefined;

/** Where each event's frame sits in our store, read from the segment files (only needed when something is wrong). */
async function locateByScan(dir: string): Promise<Locate> {
  const where = new Map<string, Located>();
  for (const seg of await listSegmentFiles(dir)) {
    const scan = await scanSegmentFile(seg.path);
    for (const f of scan.frames) if (f.eventId !== undefined && !where.has(f.eventId)) where.set(f.eventId, { file: seg.name, offset: f.offset });
  }
  return (eventId) => where.get(eventId);
}

/** Where each event's frame sits in a Rust directory: the reader's index records every frame's place. */
function locateByIndex(rust: Extract<OpenedLog, { format: 'rust-batpak' }>['log']): Locate {
  return (eventId) => {
    try {
      const { file, offset } = rust.rustEvent(eventId).location;
      return { file: basename(file), offset };
    } catch {
      return undefined;
    }
  };
}

type EventFinding = 'content-hash-mismatch' | 'dangling-link' | 'missing-event' | 'signature-failure';

/** What each finding means, in each format's own terms (Rust calls the content hash the event hash, and chains per lane). */
const FINDING_REASON: Readonly<Record<StoreFormat, Readonly<Record<EventFinding, string>>>> = {
  native: {
    'content-hash-mismatch': 'the stored payload no longer hashes to its content hash',
    'dangling-link': "prevHash is not the content hash of the entity's preceding event",
    'missing-event': 'a committed event is no longer on disk',
    'signature-failure': "its commit group's signature is missing or does not verify",
  },
  'rust-batpak': {
    'content-hash-mismatch': 'the stored payload no longer hashes to its event hash',
    'dangling-link': 'prev_hash is not the event hash of the preceding event of its (entity, lane)',
    'missing-event': 'an indexed frame is no longer in its file',
    // Always empty for Rust (no persisted signatures); mapped anyway so nothing a report says is dropped.
    'signature-failure': 'signature does not verify',
  },
};

/** The problems of a chain report, each placed at its frame. */
export async function chainProblems(opened: OpenedLog, report: ChainVerificationReport): Promise<Problem[]> {
  const unplaced = report.contentHashMismatches.length + report.danglingLinks.length + report.missingEvents.length + report.signatureFailures.length > 0;
  const at: Locate = !unplaced ? () => undefined : opened.format === 'native' ? await locateByScan(opened.log.dir) : locateByIndex(opened.log);
  const reason = FINDING_REASON[opened.format];
  const event = (kind: EventFinding) => (eventId: string): Problem => ({ kind, eventId, ...at(eventId), reason: reason[kind] });
  return [
    ...report.corruptFrames.map((c): Problem => ({
      kind: 'corrupt-frame',
      ...(c.eventId === undefined ? {} : { eventId: c.eventId }),
      file: basename(c.file),
      offset: c.offset,
      reason: c.reason,
    })),
    ...report.contentHashMismatches.map(event('content-hash-mismatch')),
    ...report.danglingLinks.map(event('dangling-link')),
    ...report.missingEvents.map(event('missing-event')),
    ...report.signatureFailures.map(event('signature-failure')),
    ...report.directoryDamage.map((d): Problem => ({ kind: 'directory-damage', file: basename(d.file), reason: `${d.reason}: ${d.message}` })),
  ];
}

const INTERRUPTED_APPEND = new Set(['partial frame header at the end of the file', 'frame runs past the end of the file']);

/**
 * Our store refused to open (ERR_CORRUPT_SEGMENT): name every damaged frame on disk, with the event id
 * when its body still decodes. The frame the store named comes first; an interrupted append at the very
 * end of the newest segment is what recovery cuts, so it is not reported.
 */
async function damageProblems(segments: readonly SegmentFile[], err: BatpakError): Promise<Problem[]> {
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

function field(v: CanonicalValue | undefined, name: string): CanonicalValue | undefined {
  if (v?.t !== 'map') return undefined;
  return v.entries.find(([k]) => k.t === 'str' && k.v === name)?.[1];
}

/**
 * The event id inside the Rust frame at `offset`, when the damaged body still decodes that far
 * (`mp{event: mp{header: mp{event_id: bin16}}}`). Best effort: a refusal only carries an id when the
 * reader could trust the frame, and a CRC failure is exactly when it cannot.
 */
async function rustEventIdAt(file: string, offset: number): Promise<string | undefined> {
  let fh;
  try {
    fh = await openRegular(file);
    const head = Buffer.alloc(RUST_FRAME_HEADER_BYTES);
    if ((await fh.read(head, 0, RUST_FRAME_HEADER_BYTES, offset)).bytesRead !== RUST_FRAME_HEADER_BYTES) return undefined;
    const length = head.readUInt32BE(0);
    if (length === 0 || length > RUST_MAX_FRAME_BODY) return undefined;
    const body = Buffer.alloc(length);
    if ((await fh.read(body, 0, length, offset + RUST_FRAME_HEADER_BYTES)).bytesRead !== length) return undefined;
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
async function rustRefusalProblem(err: BatpakError): Promise<Problem> {
  const d = err.details;
  const path = typeof d.file === 'string' ? d.file : undefined;
  const offset = typeof d.offset === 'number' ? d.offset : undefined;
  const eventId = typeof d.eventId === 'string' ? d.eventId : path !== undefined && offset !== undefined ? await rustEventIdAt(path, offset) : undefined;
  return {
    kind: 'corrupt-frame',
    ...(eventId === undefined ? {} : { eventId }),
    ...(path === undefined ? {} : { file: basename(path) }),
    ...(offset === undefined ? {} : { offset }),
    reason: typeof d.reason === 'string' ? d.reason : err.message,
  };
}

/** The Rust reader refuses at the first damage it meets: said, so "1 problem" is not read as "only 1 problem". */
const RUST_STOPS_AT_FIRST =
  'the Rust reader stops at the first damaged place it meets: later segments and frames were not examined';

/** What the files of a store that refused to open show. */
export interface Refusal {
  readonly problems: Problem[];
  /** Notes on how far the examination went. */
  readonly notes: string[];
  /** Segment files of the directory's format. */
  readonly segments: number;
}

/**
 * A store that refused to open (ERR_CORRUPT_SEGMENT), as problems: for ours every damaged frame the segment
 * files show; for a Rust directory the one place its reader names, with a note that it stopped there.
 */
export async function refusalProblems(format: StoreFormat, dir: string, err: BatpakError): Promise<Refusal> {
  if (format === 'native') {
    const segments = await listSegmentFiles(dir);
    return { problems: await damageProblems(segments, err), notes: [], segments: segments.length };
  }
  return { problems: [await rustRefusalProblem(err)], notes: [RUST_STOPS_AT_FIRST], segments: (await inspectDir(dir)).rustSegments };
}
