// The crash-safe swap (INV-COMPACT-SWAP), written once: each step of FORMAT.md "The swap" is one function
// here, run in order by live compaction (store/compact.ts) and, from the commit point on, by recovery at
// open (resolvePendingCompaction) — which decides the direction from the marker alone, never from which
// files happen to exist. The marker's durable presence is the commit point: before it a failure rolls
// back (staging deleted), after it everything rolls forward to the same end state.
//
// The steps, numbered as in FORMAT.md: 1 writeStaging — 2 writeMarker, the commit point (undoMarker when
// its write failed) — 3 swapStaging, the atomic rename; then finishCommitted: the rest of 3 (rename made
// durable, other sources removed) and 4 (entry appended to compaction.log, marker removed).

import { dirname, join } from 'node:path';
import { BatpakError, ioError } from '../errors.js';
import type { Fs } from '../fs/fs.js';
import { parseSegmentFileName, segmentFileName } from '../segment/format.js';
import { readPrefix } from '../segment/read.js';
import { decodeMarker, encodeMarker, MARKER_FILE, type CompactionMarker } from './marker.js';
import { COMPACTION_LOG_FILE, decodeCompactionLog, encodeCompactionLog, type CompactionEntry } from './log.js';

export const STAGING_SUFFIX = '.compact-new';

export const stagingPath = (dir: string, id: number) => join(dir, `${segmentFileName(id)}${STAGING_SUFFIX}`);

/** Step 1: writes the output to its staging file durably (data and name). Removes a leftover staging first. */
export async function writeStaging(fs: Fs, path: string, chunks: readonly Uint8Array[]): Promise<void> {
  try {
    await fs.remove(path, { force: true });
    const file = await fs.open(path, { create: true, exclusive: true });
    try {
      // Bounded gathered writes: a huge output is not one giant syscall.
      let batch: Uint8Array[] = [];
      let bytes = 0;
      for (const c of chunks) {
        batch.push(c);
        bytes += c.length;
        if (bytes >= 4 * 1024 * 1024) {
          await file.append(batch);
          batch = [];
          bytes = 0;
        }
      }
      if (batch.length > 0) await file.append(batch);
      await file.fsync();
    } finally {
      await file.close();
    }
    await fs.syncDir(dirname(path));
  } catch (err) {
    throw ioError(err, `cannot write compaction output ${path}`, { file: path });
  }
}

/** After a failure before the commit point: the staging file goes, best effort (an open deletes it anyway). */
export async function discardStaging(fs: Fs, dir: string, mergedId: number): Promise<void> {
  await fs.remove(stagingPath(dir, mergedId), { force: true }).catch(() => undefined);
}

/** Step 2, the commit point: the marker, written atomically. Once it is durable the compaction has happened. */
export async function writeMarker(fs: Fs, dir: string, marker: CompactionMarker): Promise<void> {
  await fs.writeFileAtomic(join(dir, MARKER_FILE), encodeMarker(marker));
}

/**
 * After writeMarker failed: the marker may still have landed, so it is removed (durably) before the
 * staging file — the other order could leave a marker without its output, and an open would then roll
 * forward onto the unmerged sources. Throws when that fails too; the next open decides from the marker.
 */
export async function undoMarker(fs: Fs, dir: string, mergedId: number): Promise<void> {
  await fs.remove(join(dir, MARKER_FILE), { force: true });
  await fs.syncDir(dir);
  await fs.remove(stagingPath(dir, mergedId), { force: true });
}

/** Step 3, the swap: the staging file takes the merged id (an atomic replace of the lowest source). Returns its path. */
export async function swapStaging(fs: Fs, dir: string, mergedId: number): Promise<string> {
  const merged = join(dir, segmentFileName(mergedId));
  await fs.rename(stagingPath(dir, mergedId), merged);
  return merged;
}

/**
 * The rest of a committed compaction: makes the rename durable (`swapped`: this process just renamed
 * the output), removes the other sources, appends the entry to compaction.log (`logged` are its entries
 * now; `onLogged` learns them as soon as the entry is there, even if a later step fails) and removes the
 * marker. Each step can be repeated, so a crash anywhere in it is finished by the next open. Returns the
 * log's entries.
 */
export async function finishCommitted(
  fs: Fs,
  dir: string,
  marker: CompactionMarker,
  logged: readonly CompactionEntry[],
  swapped: boolean,
  onLogged?: (entries: CompactionEntry[]) => void,
): Promise<CompactionEntry[]> {
  if (swapped) await fs.syncDir(dir);
  for (const id of marker.sources) if (id !== marker.mergedId) await fs.remove(join(dir, segmentFileName(id)), { force: true });
  await fs.syncDir(dir);
  const entries = await appendCompactionLog(fs, dir, logged, marker.entry);
  onLogged?.(entries);
  await fs.remove(join(dir, MARKER_FILE));
  await fs.syncDir(dir);
  return entries;
}

export interface PendingResolution {
  /** The segments that make up the store, ascending ids, with the path to read each from. */
  readonly segments: { readonly id: number; readonly path: string }[];
  /** Every committed compaction's log entry (including one finished by this open). */
  readonly entries: CompactionEntry[];
}

/** Reads compaction.log (empty when absent); damage is ERR_CORRUPT_MARKER. */
export async function readCompactionLog(fs: Fs, dir: string): Promise<CompactionEntry[]> {
  const path = join(dir, COMPACTION_LOG_FILE);
  const st = await fs.stat(path).catch((err: unknown) => {
    throw ioError(err, `cannot stat ${path}`, { file: path });
  });
  if (st === null) return [];
  return decodeCompactionLog(await readPrefix(fs, path), path);
}

/** Adds an entry to compaction.log atomically (idempotent: an entry already there is not repeated). */
export async function appendCompactionLog(fs: Fs, dir: string, entries: readonly CompactionEntry[], entry: CompactionEntry): Promise<CompactionEntry[]> {
  if (entries.some((e) => e.compactionId === entry.compactionId)) return [...entries];
  const next = [...entries, entry];
  await fs.writeFileAtomic(join(dir, COMPACTION_LOG_FILE), encodeCompactionLog(next));
  return next;
}

/**
 * Resolves a pending compaction at open. Marker present: the compaction committed — a writable open
 * finishes it (rename, remove sources, remove marker); a read-only open only computes that view.
 * No marker: nothing committed — a writable open deletes leftover staging files.
 */
export async function resolvePendingCompaction(fs: Fs, dir: string, writable: boolean): Promise<PendingResolution> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    throw ioError(err, `cannot list ${dir}`, { file: dir });
  }
  const ids = new Set<number>();
  const staging = new Set<number>();
  for (const name of names) {
    const id = parseSegmentFileName(name);
    if (id !== undefined) ids.add(id);
    if (name.endsWith(STAGING_SUFFIX)) {
      const sid = parseSegmentFileName(name.slice(0, -STAGING_SUFFIX.length));
      if (sid !== undefined) staging.add(sid);
    }
  }
  const markerPath = join(dir, MARKER_FILE);
  const markerPresent = names.includes(MARKER_FILE);
  const segmentPath = (id: number) => join(dir, segmentFileName(id));
  const list = (present: Iterable<number>, override?: Map<number, string>) =>
    [...present].sort((a, b) => a - b).map((id) => ({ id, path: override?.get(id) ?? segmentPath(id) }));

  if (!markerPresent) {
    if (writable && staging.size > 0) {
      try {
        for (const id of staging) await fs.remove(stagingPath(dir, id), { force: true });
        await fs.syncDir(dir);
      } catch (err) {
        throw ioError(err, `cannot remove an uncommitted compaction's staging file in ${dir}`, { file: dir });
      }
    }
    return { segments: list(ids), entries: await readCompactionLog(fs, dir) };
  }

  const marker = decodeMarker(await readPrefix(fs, markerPath), markerPath);
  const hasStaging = staging.has(marker.mergedId);
  if (!hasStaging && !ids.has(marker.mergedId)) {
    throw new BatpakError('ERR_COMPACTION_RECOVERY_REFUSED', `compaction ${marker.compactionId} committed, but neither its output nor segment ${marker.mergedId} exists`, {
      details: { file: markerPath },
    });
  }
  const others = marker.sources.filter((s) => s !== marker.mergedId);
  const finalIds = [...ids].filter((id) => !others.includes(id));
  if (!finalIds.includes(marker.mergedId)) finalIds.push(marker.mergedId);
  const logged = await readCompactionLog(fs, dir);
  if (!writable) {
    // Read the committed view without touching the directory (a writer may be finishing it now).
    const entries = logged.some((e) => e.compactionId === marker.compactionId) ? logged : [...logged, marker.entry];
    return { segments: list(finalIds, hasStaging ? new Map([[marker.mergedId, stagingPath(dir, marker.mergedId)]]) : undefined), entries };
  }
  // Roll forward: the same steps live compaction runs after its commit point.
  let entries: CompactionEntry[];
  try {
    if (hasStaging) await swapStaging(fs, dir, marker.mergedId);
    entries = await finishCommitted(fs, dir, marker, logged, hasStaging);
  } catch (err) {
    throw ioError(err, `cannot finish committed compaction ${marker.compactionId}`, { file: markerPath });
  }
  return { segments: list(finalIds), entries };
}

export { encodeMarker, MARKER_FILE };
