// What the store directory itself shows about lost data, without any attestation (INV-DIRECTORY-EVIDENCE):
// segments that should exist and do not, and a checkpoint that recorded more than the segments hold.

import { join } from 'node:path';
import { COMPACTION_LOG_FILE, type CompactionEntry } from '../compaction/log.js';
import { MARKER_FILE } from '../compaction/marker.js';
import { BatpakError, ioError } from '../errors.js';
import type { Fs } from '../fs/fs.js';
import { CHECKPOINT_FILE, checkpointEvents, type Checkpoint } from '../event-index/checkpoint.js';
import { KEYSET_FILE } from '../keyset/keystore.js';
import type { EventIndex } from '../event-index/event-index.js';
import { checkpointContradiction, type CheckpointLoad } from './checkpoint-load.js';
import { isStraySegmentName, segmentFileName } from '../segment/format.js';
import type { DirectoryDamageReport } from '../types.js';
import type { WarningSink } from './warnings.js';

export interface DirectoryFacts {
  readonly dir: string;
  /** Every name in the directory. */
  readonly names: readonly string[];
  /** Segment ids the store is made of (after resolving a pending compaction), ascending. */
  readonly segmentIds: readonly number[];
  readonly compactions: readonly CompactionEntry[];
  /** The checkpoint as decoded (CRC-valid), used or not. */
  readonly checkpoint: Checkpoint | undefined;
  /** Highest global sequence the open saw: committed, in a frame, or removed by a compaction. */
  readonly lastSeen: number;
  /** Committed events found in the segments the checkpoint covers (from its first segment on). */
  readonly events: number;
}

/** Ids some committed compaction merged away (its sources other than the segment it wrote). */
function mergedAway(entries: readonly CompactionEntry[]): Set<number> {
  const out = new Set<number>();
  for (const e of entries) for (const s of e.sources) if (s !== e.mergedId) out.add(s);
  return out;
}

const ranges = (ids: readonly number[]): string => {
  const parts: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    parts.push(i === j ? `${ids[i]}` : `${ids[i]}..${ids[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
};

/** Everything the directory shows was lost or does not belong; empty for a healthy store. */
export function directoryDamage(f: DirectoryFacts): DirectoryDamageReport[] {
  const out: DirectoryDamageReport[] = [];
  for (const name of f.names) {
    if (isStraySegmentName(name)) {
      out.push({ reason: 'stray-file', file: join(f.dir, name), message: `${name} looks like a segment but is not a segment file name this store writes: it was not read` });
    }
  }
  const present = new Set(f.segmentIds);
  const away = mergedAway(f.compactions);
  // Segment ids are given out one by one from 1; only a committed compaction removes one.
  const top = f.segmentIds[f.segmentIds.length - 1] ?? 0;
  const holes: number[] = [];
  for (let id = 1; id < top; id++) if (!present.has(id) && !away.has(id)) holes.push(id);
  if (holes.length > 0) {
    out.push({ reason: 'segment-id-gap', file: join(f.dir, segmentFileName(holes[0]!)), message: `segments ${ranges(holes)} are missing and no committed compaction removed them` });
  }
  const c = f.checkpoint;
  if (c === undefined) return out;
  const checkpointFile = join(f.dir, CHECKPOINT_FILE);
  if (c.compactions > f.compactions.length) {
    out.push({ reason: 'compactions-missing', file: checkpointFile, message: `the checkpoint counted ${c.compactions} compactions, compaction.log holds ${f.compactions.length}` });
  }
  const since = mergedAway(f.compactions.slice(Math.min(c.compactions, f.compactions.length)));
  // A listed segment may be gone only when a compaction since merged it away (holes are reported above).
  const missing = c.segments.map((s) => s.id).filter((id) => !present.has(id) && !since.has(id) && !holes.includes(id));
  if (missing.length > 0) {
    out.push({ reason: 'missing-segment', file: join(f.dir, segmentFileName(missing[0]!)), message: `segments ${ranges(missing)} are listed by the checkpoint but missing` });
  }
  if (f.lastSeen < c.lastSeen) {
    out.push({
      reason: 'events-missing',
      file: checkpointFile,
      message: `the checkpoint recorded events up to global sequence ${c.lastSeen}, the segments hold events only up to ${f.lastSeen}`,
    });
  } else if (c.compactions === f.compactions.length && f.events < checkpointEvents(c)) {
    out.push({ reason: 'events-missing', file: checkpointFile, message: `the checkpoint recorded ${checkpointEvents(c)} events, the segments hold ${f.events}` });
  }
  return out;
}

/** Damage a writable open refuses (without `allowDataLoss`): anything that says acknowledged events are gone. */
export function losesData(d: DirectoryDamageReport): boolean {
  return d.reason === 'segment-id-gap' || d.reason === 'missing-segment' || d.reason === 'events-missing' || d.reason === 'compactions-missing';
}

/** Files whose presence makes a directory a store (a store's first open creates segment 1). */
const STORE_FILES = [CHECKPOINT_FILE, KEYSET_FILE, COMPACTION_LOG_FILE, MARKER_FILE];

/** The directory's names; a read-only open of a directory that holds no store is ERR_NOT_A_STORE. */
export async function storeDirectoryNames(fs: Fs, dir: string, readOnly: boolean, segments: number): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    throw ioError(err, `cannot list ${dir}`, { file: dir });
  }
  if (readOnly && segments === 0 && !names.some((n) => STORE_FILES.includes(n))) {
    throw new BatpakError('ERR_NOT_A_STORE', `${dir} is not a batpak store: it holds no segment, checkpoint, keyset or compaction log`, { details: { file: dir } });
  }
  return names;
}

/**
 * Reports every finding (onWarning) and refuses a writable open that would build on lost data unless
 * `allowDataLoss`: the writer would otherwise cut or replace what the directory shows is missing.
 */
export function enforceDirectoryDamage(damage: readonly DirectoryDamageReport[], opts: { readonly readOnly: boolean; readonly allowDataLoss: boolean; readonly onWarning: WarningSink }): void {
  for (const d of damage) opts.onWarning(`store directory damage (${d.reason}): ${d.message}`, 'BATPAK_DIRECTORY_DAMAGE');
  const loss = damage.filter(losesData);
  if (opts.readOnly || opts.allowDataLoss || loss.length === 0) return;
  const first = loss[0]!;
  throw new BatpakError(
    'ERR_CORRUPT_SEGMENT',
    `refusing to open for writing: ${loss.map((d) => d.message).join('; ')} (open read-only to inspect, or pass allowDataLoss: true to continue without them)`,
    { details: { file: first.file, reason: first.reason, damage: loss } },
  );
}

/**
 * Everything the directory shows at open (and a checkpoint the scan contradicted), reported; a writable
 * open is refused here when it shows lost data (see enforceDirectoryDamage).
 */
export async function assessDirectory(
  opts: { readonly dir: string; readonly readOnly: boolean; readonly allowDataLoss: boolean; readonly onWarning: WarningSink },
  found: {
    readonly names: readonly string[];
    readonly segmentIds: readonly number[];
    readonly compactions: readonly CompactionEntry[];
    readonly loaded: CheckpointLoad;
    readonly index: Pick<EventIndex, 'lastGlobalSequence' | 'size' | 'get' | 'scan'>;
    readonly removed: { maxSequence(): number };
    /**
     * Events in the segments before `segmentId` that the checkpoint was not written to cover (a checkpoint
     * holds the resident tier's segments only: those served from index files come before them). Default none.
     */
    readonly eventsBefore?: (segmentId: number) => number;
    /** The first global sequence the checkpoint's segments may hold (after the file-served ones). Default 1. */
    readonly checkpointFrom?: number;
  },
): Promise<DirectoryDamageReport[]> {
  const { loaded, index } = found;
  const firstCovered = loaded.decoded?.segments[0]?.id;
  const damage = directoryDamage({
    dir: opts.dir,
    names: found.names,
    segmentIds: found.segmentIds,
    compactions: found.compactions,
    checkpoint: loaded.decoded,
    lastSeen: Math.max(index.lastGlobalSequence(), found.removed.maxSequence()),
    events: index.size - (firstCovered === undefined ? 0 : (found.eventsBefore?.(firstCovered) ?? 0)),
  });
  const contradiction = loaded.suspect === undefined || loaded.decoded === undefined ? undefined : await checkpointContradiction(loaded.decoded, index, found.checkpointFrom);
  if (contradiction !== undefined) damage.push({ reason: 'checkpoint-contradiction', file: join(opts.dir, CHECKPOINT_FILE), message: contradiction });
  enforceDirectoryDamage(damage, opts);
  return damage;
}
