// Live compaction for an open writable store: picks the sealed segments, builds the output, runs the
// crash-safe swap of compaction/swap.ts step by step and installs the result in the store's memory.
// Invariant: the in-memory view changes in one synchronous step, and only after the on-disk commit point.

import { BatpakError } from '../errors.js';
import { toHex } from '../encoding/hex.js';
import { plainEntry, type IndexEntry } from '../event-index/entry.js';
import type { EventIndex } from '../event-index/event-index.js';
import { newEventId } from '../id.js';
import { isSystemKind } from '../kind.js';
import type { Keyset } from '../keyset/keyset.js';
import { openPayload } from '../keyset/seal.js';
import type { GroupCache } from '../receipt/original.js';
import type { ReceiptSigner } from '../receipt/sign.js';
import { EventFlags, type EventFrame } from '../segment/frame.js';
import type { SegmentSet } from '../segment/set.js';
import { buildCompactionOutput, type CompactionOutput, type Decision } from '../compaction/build.js';
import { signEntry, type CompactionEntry, type RemovedSet } from '../compaction/log.js';
import type { CompactionMarker } from '../compaction/marker.js';
import type { CheckedCompaction, CompactionResult } from '../compaction/options.js';
import { discardStaging, finishCommitted, stagingPath, swapStaging, undoMarker, writeMarker, writeStaging } from '../compaction/swap.js';
import type { ResolvedOptions } from './options.js';
import { coordinateOf, decodeStoredPayload, headerOf } from './views.js';
import type { StoredEvent } from '../types.js';

/** What compaction reads and changes of the store; the caller holds the store's maintenance lock exclusively. */
export interface CompactionContext {
  readonly opts: Pick<ResolvedOptions, 'fs' | 'dir' | 'now' | 'onWarning' | 'registry'>;
  readonly index: EventIndex;
  readonly segments: SegmentSet;
  /** The segment appends go to: never a source. */
  readonly activeSegmentId: number;
  readonly keyset: Keyset | undefined;
  readonly signer: ReceiptSigner | undefined;
  readonly removed: RemovedSet;
  /** Rebuilt commit groups: stale once frames move. */
  readonly groups: GroupCache;
  /** compaction.log's entries now. */
  readonly entries: CompactionEntry[];
  /** The id of a compaction that committed but did not finish in this process, if any. */
  readonly unfinished: string | undefined;
  /** compaction.log now holds these entries. */
  readonly recorded: (entries: CompactionEntry[]) => void;
  /** A compaction committed on disk but could not finish here: the next open finishes it. */
  readonly leftUnfinished: (compactionId: string) => void;
  /** Removes the projection snapshots of entities that lose or tombstone events, before the commit point. */
  readonly touched: (entities: ReadonlySet<string>) => Promise<void>;
}

/** What a Store remembers between compactions: compaction.log's entries and a compaction left unfinished. */
export class CompactionState {
  entries: CompactionEntry[];
  unfinished: string | undefined;

  constructor(entries: CompactionEntry[]) {
    this.entries = entries;
  }

  /** One compaction over `parts` (maintenance lock held exclusively), keeping this state current. */
  run(
    parts: Omit<CompactionContext, 'entries' | 'unfinished' | 'recorded' | 'leftUnfinished'>,
    strategy: CheckedCompaction,
    signal: AbortSignal | undefined,
    onProgress: ((done: number, total: number) => void) | undefined,
  ): Promise<CompactionResult> {
    const ctx: CompactionContext = {
      ...parts,
      entries: this.entries,
      unfinished: this.unfinished,
      recorded: (entries) => {
        this.entries = entries;
      },
      leftUnfinished: (compactionId) => {
        this.unfinished = compactionId;
      },
    };
    return compactSegments(ctx, strategy, signal, onProgress);
  }
}

export async function compactSegments(
  ctx: CompactionContext,
  strategy: CheckedCompaction,
  signal: AbortSignal | undefined,
  onProgress: ((done: number, total: number) => void) | undefined,
): Promise<CompactionResult> {
  const skipped: CompactionResult = { outcome: 'skipped', segmentsRemoved: 0, eventsDropped: 0 };
  if (ctx.unfinished !== undefined) {
    throw new BatpakError('ERR_COMPACTION_RECOVERY_REFUSED', `compaction ${ctx.unfinished} committed but did not finish; reopen the store to complete it`);
  }
  const { fs, dir } = ctx.opts;
  const sourceIds = ctx.segments.ids().filter((id) => id < ctx.activeSegmentId);
  if (sourceIds.length === 0 || (strategy.kind === 'merge' && sourceIds.length < 2)) return skipped;
  const mergedId = sourceIds[0]!;
  const sources = sourceIds.map((id) => ({ id, path: ctx.segments.path(id), committedEnd: ctx.segments.size(id) }));
  const inSources = await sourceEntries(ctx.index, sourceIds);
  const out = await buildCompactionOutput({
    fs,
    mergedId,
    sources,
    committed: (id) => inSources.get(id),
    decide: (entry, frame) => decide(ctx, strategy, entry, frame),
    nowMs: ctx.opts.now(),
    signal,
    onProgress,
    total: inSources.size,
  });
  const tombstones = out.survivors.filter((s) => s.tombstoned).length;
  if (sources.length === 1 && out.removed.length === 0 && tombstones === 0) return skipped;
  const failed = (reason: string): CompactionResult => ({ outcome: 'failed', segmentsRemoved: 0, eventsDropped: 0, reason });
  const compactionId = toHex(newEventId(ctx.opts.now()));

  // 1. The output, durable under its staging name.
  try {
    await writeStaging(fs, stagingPath(dir, mergedId), out.chunks);
  } catch (err) {
    await discardStaging(fs, dir, mergedId);
    return failed(`writing the output failed: ${(err as Error).message}`);
  }
  // The record of what is removed, signed in a signed store; it travels in the marker.
  let marker: CompactionMarker;
  try {
    const entry = signEntry({ compactionId, strategy: strategy.kind, mergedId, sources: sourceIds, removed: out.removed, tombstoned: out.tombstoned }, ctx.signer);
    marker = { compactionId, mergedId, sources: sourceIds, entry };
  } catch (err) {
    await discardStaging(fs, dir, mergedId);
    return failed(`signing the compaction record failed: ${(err as Error).message}`);
  }
  // Projection snapshots derived from what is removed go first: after the commit point none may remain.
  try {
    await ctx.touched(touchedEntities(inSources, out));
  } catch (err) {
    await discardStaging(fs, dir, mergedId);
    return failed(`removing projection snapshots failed: ${(err as Error).message}`);
  }
  // 2. The commit point: a durable marker. If writing it fails it may still have landed; undoMarker
  //    rolls it back, and if that fails too the next open decides.
  try {
    await writeMarker(fs, dir, marker);
  } catch (err) {
    try {
      await undoMarker(fs, dir, mergedId);
    } catch {
      ctx.leftUnfinished(compactionId);
    }
    return failed(`writing the compaction marker failed: ${(err as Error).message}`);
  }
  // 3. Swap. Open every source's read handle first, so no read opens the merged name mid-swap.
  for (const id of sourceIds) await ctx.segments.handle(id).catch(() => undefined);
  let mergedPath: string;
  try {
    mergedPath = await swapStaging(fs, dir, mergedId);
  } catch (err) {
    ctx.leftUnfinished(compactionId);
    return failed(`committed, but the swap failed (the next open completes it): ${(err as Error).message}`);
  }
  installCompacted(ctx, mergedId, mergedPath, sourceIds, inSources, out, marker.entry);
  // 3–4. Clean up as recovery does; a failure here leaves the marker, and the next open finishes the job.
  try {
    await finishCommitted(fs, dir, marker, ctx.entries, true, ctx.recorded);
  } catch (err) {
    ctx.leftUnfinished(compactionId);
    ctx.opts.onWarning(`compaction ${compactionId} committed; cleanup deferred to the next open: ${(err as Error).message}`, 'BATPAK_COMPACTION_CLEANUP_DEFERRED');
  }
  return { outcome: 'performed', segmentsRemoved: sourceIds.length - 1, eventsDropped: out.removed.length };
}

/**
 * The committed entries of the source segments by event id, in commit order. compaction/build.ts looks
 * them up synchronously, so they are loaded first; the build holds the sources' bytes in memory anyway.
 * Nothing else changes them meanwhile: compaction holds the maintenance lock, appends go to the active segment.
 */
async function sourceEntries(index: EventIndex, sourceIds: readonly number[]): Promise<Map<string, IndexEntry>> {
  const out = new Map<string, IndexEntry>();
  for (const id of sourceIds) for (const e of await index.segmentEntries(id)) out.set(e.eventId, e);
  return out;
}

/** Entities of the committed events a compaction output removes or tombstones. */
function touchedEntities(inSources: ReadonlyMap<string, IndexEntry>, out: CompactionOutput): Set<string> {
  const entities = new Set<string>();
  for (const e of [...out.removed, ...out.tombstoned]) {
    const entry = inSources.get(toHex(e.id));
    if (entry !== undefined) entities.add(entry.entity);
  }
  return entities;
}

/** What a strategy does with one committed event. Unreadable (shredded) and system events are kept. */
function decide(ctx: CompactionContext, strategy: CheckedCompaction, entry: IndexEntry, frame: EventFrame): Decision {
  if (strategy.kind === 'merge' || isSystemKind(entry.kind) || (entry.flags & EventFlags.TOMBSTONE) !== 0) return 'keep';
  let event: StoredEvent;
  try {
    const plain = openPayload(ctx.keyset, entry, frame.payload);
    if (plain === 'shredded') return 'keep';
    event = { header: headerOf(entry), coordinate: coordinateOf(entry), payload: decodeStoredPayload(entry, plain, ctx.opts.registry), shredded: false };
  } catch {
    return 'keep';
  }
  if (strategy.kind === 'retention') return strategy.keep(event) ? 'keep' : 'drop';
  return strategy.drop(event) ? 'tombstone' : 'keep';
}

/** Installs the compacted view in one synchronous step: readers never see a half-swapped state. */
function installCompacted(
  ctx: CompactionContext,
  mergedId: number,
  mergedPath: string,
  sourceIds: readonly number[],
  inSources: ReadonlyMap<string, IndexEntry>,
  out: CompactionOutput,
  entry: CompactionEntry,
): void {
  const moved = new Map(out.survivors.map((s) => [s.entry.eventId, s]));
  const dropped = new Set(out.removed.map((r) => toHex(r.id)));
  const next: IndexEntry[] = [];
  for (const e of inSources.values()) {
    if (dropped.has(e.eventId)) continue;
    const s = moved.get(e.eventId);
    if (s === undefined) next.push(e);
    else if (s.tombstoned) next.push(plainEntry(e, { flags: e.flags | EventFlags.TOMBSTONE, segmentId: mergedId, offset: s.offset, length: s.length }));
    else {
      e.segmentId = mergedId;
      e.offset = s.offset;
      next.push(e);
    }
  }
  // The sources' entries only: what was appended to later segments meanwhile stays as it is.
  ctx.index.replaceSegments(sourceIds, next);
  ctx.groups.clear();
  for (const id of sourceIds) void ctx.segments.remove(id);
  ctx.segments.add(mergedId, mergedPath, out.size, undefined, out.crc);
  ctx.removed.addEntry(entry, true);
}
