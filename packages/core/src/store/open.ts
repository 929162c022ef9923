// Opening a store directory: options checked, the writer lock taken (or, read-only, every file pinned),
// pending compaction finished, sealed segments served from their index files, the rest of the index recovered
// from the checkpoint and the log tail, the active segment prepared for appending. Invariant: nothing is served until what recovery found is durable, and
// every gap in the global sequence is explained by a trusted compaction record (else ERR_CORRUPT_SEGMENT).

import { join } from 'node:path';
import { entryTrusted, RemovedSet, type CompactionEntry } from '../compaction/log.js';
import { resolvePendingCompaction } from '../compaction/swap.js';
import { BatpakError, ioError, typedIoError } from '../errors.js';
import { entryFromRecovered } from '../event-index/from-frame.js';
import { BlockCache } from '../event-index/block-cache.js';
import { ResidentIndex } from '../event-index/resident-index.js';
import type { UntrustedIndexFile } from '../event-index/sealed-tier.js';
import { TieredIndex } from '../event-index/tiered-index.js';
import type { FsFile, FsLock } from '../fs/fs.js';
import { Keyset } from '../keyset/keyset.js';
import { FileKeyStore, KEYSET_FILE, type KeyStore } from '../keyset/keystore.js';
import { signerFromSeed, type ReceiptSigner } from '../receipt/sign.js';
import { LOCK_FILE, segmentFileName } from '../segment/format.js';
import { recoverLog, type RecoveredEvent, type RecoveredLogWithGaps } from '../segment/recovery.js';
import { SegmentSet } from '../segment/set.js';
import { createSegment, SegmentWriter, type ActiveSegment } from '../segment/writer.js';
import type { DirectoryDamageReport } from '../types.js';
import { loadCheckpoint } from './checkpoint-load.js';
import { assessDirectory, storeDirectoryNames } from './directory-evidence.js';
import { removeLeftoverTemps } from './leftovers.js';
import { removeSnapshotTemps } from '../projection/snapshot-file.js';
import { checkRegistry, refusePlaintextWriterByEvents, refusePlaintextWriterByKeyset, refuseUnsignedWriter } from './open-checks.js';
import { resolveOptions, type ResolvedOptions, type StoreOptions } from './options.js';
import { openConsistent } from './read-only-open.js';
import { IndexFileKeeper } from './index-files.js';
import { sealedPrefix } from './sealed-prefix.js';

/** Everything an open recovered: the parts a Store is composed of. */
export interface OpenedStore {
  readonly opts: ResolvedOptions;
  /** Sealed segments served from their index files, the rest resident (closed at close). */
  readonly index: TieredIndex;
  readonly segments: SegmentSet;
  /** Undefined read-only. */
  readonly writer: SegmentWriter | undefined;
  /** Writes and checks the sealed segments' index files in the background; undefined read-only. */
  readonly indexFiles: IndexFileKeeper | undefined;
  /** The writer lock, or (read-only) the pins of the files the open read; released at close. */
  readonly lock: FsLock | undefined;
  readonly nextGlobal: number;
  readonly lastCommittedAt: number;
  readonly keyset: Keyset | undefined;
  readonly keyStore: KeyStore | undefined;
  /** What committed compactions removed (from their records): explains gaps, verifies pruned seals. */
  readonly removed: RemovedSet;
  /** The entries of compaction.log (committed compactions). */
  readonly compactionEntries: CompactionEntry[];
  readonly signer: ReceiptSigner | undefined;
  /** What the directory showed at open (lost segments, a contradicting checkpoint). */
  readonly damage: readonly DirectoryDamageReport[];
}

/**
 * Opens (creating if needed) the store in `options.dir` and hands the recovered parts to `build`.
 * Writable opens take the directory lock; a failure anywhere releases it. Every error is a BatpakError.
 */
export async function openStore<S>(options: StoreOptions, build: (opened: OpenedStore) => Promise<S>, mode: OpenMode = {}): Promise<S> {
  const opts = resolveOptions(options);
  checkRegistry(opts);
  if (opts.signingPolicy === 'required' && opts.signingKey === undefined && opts.signer === undefined) {
    throw new BatpakError('ERR_SIGNING_KEY_REQUIRED', "signingPolicy 'required' needs a signingKey (or a signer)");
  }
  BatpakError.throwIfAborted(opts.signal, 'Store.open');
  // Every error leaving open is a BatpakError (INV-TYPED-ERRORS): an errno from any layer becomes one.
  try {
    return await lockAndOpen(opts, build, mode);
  } catch (err) {
    throw typedIoError(err, `cannot open the store in ${opts.dir}`, { file: opts.dir });
  }
}

/**
 * How a writable open is used. `replica`: the directory receives the primary's frames verbatim
 * (store/replica.ts) and never seals or signs events itself, so the refusals of a keyless or plaintext
 * *writer* do not apply to it.
 */
export interface OpenMode {
  readonly replica?: boolean;
}

async function lockAndOpen<S>(opts: ResolvedOptions, build: (opened: OpenedStore) => Promise<S>, mode: OpenMode): Promise<S> {
  const { fs, dir } = opts;
  let lock: FsLock | undefined;
  if (opts.readOnly) {
    const st = await fs.stat(dir).catch((err: unknown) => {
      throw ioError(err, `cannot stat ${dir}`, { file: dir });
    });
    if (st === null || !st.isDirectory) throw BatpakError.notFound(`no store directory at ${dir}`, { file: dir });
    // No lock: a compaction in another process may run meanwhile. The open reads pinned files only
    // (INV-READER-CONSISTENT); its "lock" is the pins, released at close.
    return openConsistent(fs, dir, async (pinnedFs, pins) => build(await recover({ ...opts, fs: pinnedFs }, pins)));
  }
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (err) {
    throw ioError(err, `cannot create store directory ${dir}`, { file: dir });
  }
  try {
    lock = await fs.lock(join(dir, LOCK_FILE));
  } catch (err) {
    throw ioError(err, `cannot take the writer lock of ${dir}`, { file: join(dir, LOCK_FILE) });
  }
  try {
    BatpakError.throwIfAborted(opts.signal, 'Store.open');
    // Before any read: a killed writer's temp copies (a keyset's holds keys) go (INV-TEMP-CLEANUP).
    await removeLeftoverTemps(fs, dir);
    await removeSnapshotTemps(fs, dir);
    return await build(await recover(opts, lock, mode));
  } catch (err) {
    await lock?.release().catch(() => undefined);
    throw err;
  }
}

/** Recovers the index and segments of a locked (or pinned) directory and prepares the writer. */
async function recover(opts: ResolvedOptions, lock: FsLock | undefined, mode: OpenMode = {}): Promise<OpenedStore> {
  const { fs, dir } = opts;
  const segmentPath = (id: number) => join(dir, segmentFileName(id));
  // A replica writes no event of its own: the writer refusals are judged as for a reader.
  const writerChecks = mode.replica === true ? { ...opts, readOnly: true } : opts;
  await refusePlaintextWriterByKeyset(writerChecks);
  const pending = await resolvePendingCompaction(fs, dir, !opts.readOnly);
  const names = await storeDirectoryNames(fs, dir, opts.readOnly, pending.segments.length);
  const signer = opts.signer ?? (opts.signingKey === undefined ? undefined : signerFromSeed(opts.signingKey));
  const verifyKeys = signer === undefined ? [...opts.trustedPublicKeys] : [signer.publicKey, ...opts.trustedPublicKeys];
  // Compaction's own record says which sequences it removed; a gap it does not explain is lost data.
  // Only a trusted entry (signed by a known key, or unsigned in a keyless store) turns links into gaps.
  const removed = new RemovedSet();
  for (const e of pending.entries) removed.addEntry(e, entryTrusted(e, verifyKeys), verifyKeys.length === 0);
  const segments = new SegmentSet(fs);
  // The sealed segments whose index files check out, from the oldest: served from the files, never scanned (a
  // writable open rebuilds a missing or unusable file inline, one segment at a time).
  // One block cache for every index file of the store, whoever opens it (this open, or the keeper at a seal).
  const cache = new BlockCache(opts.indexCacheBytes);
  // The rebuilds' warnings are given once the open succeeds: a failed open reports its error alone (the files it
  // rebuilt are derived data and stay, checked like any file at the next open).
  const rebuildWarnings: Parameters<ResolvedOptions['onWarning']>[] = [];
  const prefixOpts = { ...opts, onWarning: (...w: Parameters<ResolvedOptions['onWarning']>) => void rebuildWarnings.push(w) };
  const prefix = await sealedPrefix(prefixOpts, pending.segments.slice(0, -1), segments, cache, (last, next) => removed.explains(last, next)).catch(async (err: unknown) => {
    // Aborted between segments: nothing it opened outlives the open.
    await segments.closeAll();
    throw err;
  });
  let index: TieredIndex | undefined;
  try {
    const rest = pending.segments.slice(prefix.files.length);
    // A checkpoint whose every entry matched its frame holds the index of the segments after the file-served
    // ones (up to its watermark): only the tail after it is scanned.
    // A checkpoint that starts at a later segment (their index files were lost since it was written): the
    // segments before it are scanned first, and it covers the rest.
    let first: RecoveredLogWithGaps | undefined;
    const scanFirst = async (segs: readonly { readonly id: number; readonly path: string }[]) => {
      first = await recoverLog(fs, segs, prefix.start, opts.signal, false);
      return first.end;
    };
    const loaded = await loadCheckpoint(opts, rest, pending.entries.length, prefix.start, scanFirst);
    const checkpoint = loaded.usable;
    const scannedFirst: RecoveredLogWithGaps | undefined = first;
    const tail = checkpoint === undefined ? rest.slice(scannedFirst?.segments.length ?? 0) : checkpoint.tail;
    const after = await recoverLog(fs, tail, checkpoint?.start ?? scannedFirst?.end ?? prefix.start, opts.signal);
    const log = scannedFirst === undefined ? after : joinLogs(scannedFirst, after);
    // Recovery checks ids within one scan; across a first scan, the checkpoint and the tail, the index does.
    const crossCheck = checkpoint !== undefined || scannedFirst !== undefined;
    for (const gap of [...(checkpoint?.gaps ?? []), ...log.gaps]) {
      if (!removed.explains(gap.last, gap.next)) {
        throw BatpakError.corruptSegment(gap.file, gap.offset, `global sequences ${gap.last + 1}..${gap.next - 1} are missing and no committed compaction removed them`);
      }
    }
    for (const d of log.discarded) {
      opts.onWarning(`recovery: ignored ${d.reason} in segment ${d.segmentId} from offset ${d.offset}`, 'BATPAK_RECOVERY_TAIL_CUT');
    }
    // Everything recovered goes into the resident (active) tier, so the duplicate checks below are resident
    // lookups. An id that also occurs in a file-served segment is not seen here (FORMAT.md § The index in two tiers).
    // The checkpoint's records become the active tier as they are (no object per entry) unless segments were
    // scanned before them; either way in global-sequence order: what was scanned first, the checkpoint's entries, the tail.
    const records = checkpoint?.checkpoint.records;
    const scannedBefore = scannedFirst?.events ?? [];
    let active: ResidentIndex;
    let lastCommittedAt = Math.max(prefix.lastCommittedAt, checkpoint?.lastCommittedAt ?? 0);
    const insertScanned = (events: readonly RecoveredEvent[]) => {
      for (const r of events) {
        const entry = entryFromRecovered(r);
        if (crossCheck && active.getResident(entry.eventId) !== undefined) {
          throw BatpakError.corruptSegment(segmentPath(r.segmentId), r.offset, `event ${entry.eventId} appears twice`);
        }
        active.insert(entry);
        lastCommittedAt = Math.max(lastCommittedAt, r.frame.committedAt);
      }
    };
    const duplicate = (e: { readonly segmentId: number; readonly offset: number; readonly eventId: string }) =>
      BatpakError.corruptSegment(segmentPath(e.segmentId), e.offset, `duplicate event id ${e.eventId}`);
    const listed = checkpoint?.checkpoint.count ?? 0;
    if (records !== undefined && scannedBefore.length === 0 && records.count === listed) {
      const adopted = ResidentIndex.fromRecords(records);
      if (adopted.duplicate >= 0) throw duplicate(records.entry(adopted.duplicate));
      active = adopted.index;
    } else {
      active = new ResidentIndex(listed + scannedBefore.length + log.events.length);
      insertScanned(scannedBefore);
      for (let i = 0; i < listed; i++) {
        const e = records!.entry(i);
        if (active.getResident(e.eventId) !== undefined) throw duplicate(e);
        active.insert(e);
      }
    }
    insertScanned(after.events);
    const newest = log.segments[log.segments.length - 1];
    // Segments wholly inside the checkpoint were not scanned: their committed length is the checkpoint's.
    for (const s of checkpoint?.whole ?? []) segments.add(s.id, s.path, s.committedEnd, undefined, s.crc);
    for (const s of log.segments) {
      if (s !== newest || opts.readOnly) segments.add(s.id, s.path, s.committedEnd, undefined, s.crc);
    }
    // A file found lying later is rebuilt by the keeper (writable) or only reported (read-only); until the
    // keeper exists, reports wait.
    const early: UntrustedIndexFile[] = [];
    let onUntrusted = (u: UntrustedIndexFile): void => void early.push(u);
    index = await TieredIndex.open(segments, prefix.files, (u) => onUntrusted(u), active);
    const tiered = index;
    // Before anything below cuts a torn tail or replaces a headerless segment the directory says held events.
    BatpakError.throwIfAborted(opts.signal, 'Store.open');
    const eventsBefore = (segmentId: number) => prefix.files.reduce((n, f) => n + (f.segmentId < segmentId ? f.file.header.eventCount : 0), 0);
    const damage = await assessDirectory(opts, {
      names,
      segmentIds: pending.segments.map((s) => s.id),
      compactions: pending.entries,
      loaded,
      index: tiered,
      removed,
      eventsBefore,
      checkpointFrom: prefix.start.lastSeen + 1,
    });
    refusePlaintextWriterByEvents(writerChecks, tiered.summary());
    refuseUnsignedWriter(writerChecks, signer, tiered.summary());
    let keyset: Keyset | undefined;
    let keyStore: KeyStore | undefined;
    if (opts.encryption !== undefined) {
      keyStore = opts.encryption.keyStore ?? new FileKeyStore(fs, join(dir, KEYSET_FILE));
      keyset = await Keyset.load(keyStore, opts.encryption.granularity);
      // Frames may reference generations the keyset no longer lists (a lost keyset): never re-mint them.
      for (const g of tiered.summary().generations.values()) keyset.noteGeneration(g.scope, g.generation);
    }
    let writer: SegmentWriter | undefined;
    let indexFiles: IndexFileKeeper | undefined;
    if (opts.readOnly) {
      await pinForReading(opts, segments, newest?.path);
      onUntrusted = (u) => opts.onWarning(`the index file of segment ${u.segmentId} is not usable (${u.reason}): answered from the segment (a writable open rebuilds it)`, 'BATPAK_INDEX_FILE_REBUILT');
    } else {
      const keeper = new IndexFileKeeper({ fs, dir, index: tiered, segments, activeSegmentId: () => writer!.active.id, onWarning: opts.onWarning, tier: tiered, cache, refused: prefix.refused });
      writer = await prepareWriter(opts, segments, newest, segmentPath, (id) => keeper.sealed(id));
      // Its first reconcile starts once the store is built (Store/Replica): a failed open writes nothing.
      indexFiles = keeper;
      onUntrusted = (u) => keeper.untrusted(u);
    }
    for (const w of rebuildWarnings) opts.onWarning(...w);
    for (const u of early) onUntrusted(u);
    return {
      opts,
      index,
      segments,
      writer,
      indexFiles,
      lock,
      nextGlobal: Math.max(index.lastGlobalSequence(), removed.maxSequence()) + 1,
      lastCommittedAt,
      keyset,
      keyStore,
      removed,
      compactionEntries: pending.entries,
      signer,
      damage,
    };
  } catch (err) {
    // Nothing opened here outlives a failed open (a read-only open may be retried at once).
    if (index !== undefined) await index.close().catch(() => undefined);
    else for (const f of prefix.files) await f.file.close().catch(() => undefined);
    await segments.closeAll();
    throw err;
  }
}

/** Two recoveries of consecutive runs of segments, as one. */
function joinLogs(a: RecoveredLogWithGaps, b: RecoveredLogWithGaps): RecoveredLogWithGaps {
  return {
    segments: [...a.segments, ...b.segments],
    events: [...a.events, ...b.events],
    seals: [...a.seals, ...b.seals],
    discarded: [...a.discarded, ...b.discarded],
    gaps: [...a.gaps, ...b.gaps],
    end: b.end,
  };
}

/** A reader holds every segment it indexed open, so a compaction elsewhere cannot swap a file under it. */
async function pinForReading(opts: ResolvedOptions, segments: SegmentSet, newestPath: string | undefined): Promise<void> {
  await segments.openAll();
  if (newestPath === undefined) return;
  // Best effort: do not serve frames a crashed writer left only in the page cache. A read-only
  // mount refuses the fsync; that is not a reason to refuse the read.
  try {
    const f = await opts.fs.open(newestPath);
    await f.fsync().finally(() => f.close());
  } catch (err) {
    opts.onWarning(`read-only open could not fsync ${newestPath}: ${(err as Error).message}`, 'BATPAK_READONLY_FSYNC_FAILED');
  }
}

type RecoveredSegment = Awaited<ReturnType<typeof recoverLog>>['segments'][number];

/** Makes the newest segment the active one (torn tail cut, made durable) or creates one; returns the writer. */
async function prepareWriter(opts: ResolvedOptions, segments: SegmentSet, newest: RecoveredSegment | undefined, segmentPath: (id: number) => string, sealed: (id: number) => void): Promise<SegmentWriter> {
  const { fs, dir } = opts;
  let active: ActiveSegment;
  if (newest !== undefined && newest.header !== undefined) {
    let file: FsFile | undefined;
    try {
      file = await fs.open(newest.path, { write: true, syncAppends: opts.sync === 'always', preallocate: opts.sync === 'always' });
      if (newest.fileSize !== newest.committedEnd) {
        // Cut the torn tail (or an incomplete batch) so new frames never land behind it.
        await file.truncate(newest.committedEnd);
      }
      // Make what recovery found durable before serving it: after a failed fsync (or a crash of
      // a sync 'none' writer) the page cache may hold frames no fsync covered (GAUNTLET-BUG-3).
      await file.fsync();
      await fs.syncDir(dir);
    } catch (err) {
      await file?.close().catch(() => undefined);
      throw ioError(err, `cannot prepare ${newest.path} for appending`, { file: newest.path });
    }
    active = { id: newest.id, path: newest.path, file, size: newest.committedEnd, crc: newest.crc };
  } else {
    const id = newest?.id ?? 1;
    if (newest !== undefined) {
      // A newest segment that never got its header: nothing was committed in it.
      try {
        await fs.remove(newest.path);
        await fs.syncDir(dir);
      } catch (err) {
        throw ioError(err, `cannot remove torn segment ${newest.path}`, { file: newest.path });
      }
    }
    active = await createSegment(fs, segmentPath(id), id, opts.now(), opts.sync === 'always');
  }
  segments.add(active.id, active.path, active.size, active.file);
  return new SegmentWriter(active, {
    fs,
    segmentPath,
    segmentMaxBytes: opts.segmentMaxBytes,
    sync: opts.sync === 'always',
    onRotate: (next, previous) => {
      segments.release(previous.id);
      segments.setSize(previous.id, previous.size);
      segments.setCrc(previous.id, previous.crc);
      segments.add(next.id, next.path, next.size, next.file);
      sealed(previous.id);
    },
  });
}
