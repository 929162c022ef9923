// Store: composes the layers into the public API. The append path is one pipeline — validate → (seal)
// → hash → sequence → encode frame → group-commit write + fsync → index → receipt; reads go through Fs.

import { join } from 'node:path';
import { walkAncestors as walk } from './chain/ancestry.js';
import { verifyChain as verify } from './chain/verify.js';
import type { EventDefinition } from './event.js';
import { BatpakError, ioError, typedIoError } from './errors.js';
import type { FsFile, FsLock } from './fs/fs.js';
import type { IndexEntry } from './event-index/entry.js';
import { MemoryIndex } from './event-index/memory.js';
import { isEventIdString } from './id.js';
import { SystemKinds, type EventKind } from './kind.js';
import { Keyset } from './keyset/keyset.js';
import { FileKeyStore, KEYSET_FILE, type KeyStore } from './keyset/keystore.js';
import { openPayload, sealDraft } from './keyset/seal.js';
import { scopeOfSelector, type ShredResult, type ShredSelector } from './keyset/scope.js';
import { encodePayload } from './payload.js';
import { blake3 } from './crypto/blake3.js';
import { eventIdToString, newEventId } from './id.js';
import { LOCK_FILE, segmentFileName } from './segment/format.js';
import { EventFlags } from './segment/frame.js';
import { SealChecker } from './receipt/seal-check.js';
import { findSeal, GroupCache, rebuildGroup, signedReceipt } from './receipt/original.js';
import { signerFromSeed, type ReceiptSigner } from './receipt/sign.js';
import { compareWithCommitted, malformedField, verifySignature, type ReceiptVerdict } from './receipt/verify.js';
import { GroupCommitter } from './segment/group-commit.js';
import { recoverLog } from './segment/recovery.js';
import { entryTrusted, RemovedSet, type CompactionEntry } from './compaction/log.js';
import { resolvePendingCompaction } from './compaction/swap.js';
import { compactSegments } from './store/compact.js';
import { SharedExclusiveLock } from './store/rwlock.js';
import { checkFilter } from './query-filter.js';
import { CHECKPOINT_FILE, encodeCheckpoint } from './event-index/checkpoint.js';
import { SegmentFlags, SEGMENT_HEADER_BYTES } from './segment/format.js';
import { bytesEqual, toHex } from './encoding/hex.js';
import type { EventFrame } from './segment/frame.js';
import { SegmentSet } from './segment/set.js';
import { createSegment, SegmentWriter } from './segment/writer.js';
import { batchDrafts, checkAppendOptions, checkExtensions, importDrafts, rawDraft, type ImportEvent, typedDraft, type AppendOptions, type BatchItem, type EventDraft } from './store/append.js';
import { resolveOptions, type ResolvedOptions, type StoreOptions } from './store/options.js';
import { prepareGroup, type Intent } from './store/commit-group.js';
import { replayOrConflict } from './store/idempotency.js';
import { plaintextEventsInScope } from './store/shred-plaintext.js';
import { checkCompactOptions, type CompactOptions, type CompactionResult } from './compaction/options.js';
import { loadCheckpoint } from './store/checkpoint-load.js';
import { assessDirectory, storeDirectoryNames } from './store/directory-evidence.js';
import { readPrefix } from './segment/read.js';
import { checkRegistry, describeReport, holdsSignedEvents, refusePlaintextWriterByEvents, refusePlaintextWriterByKeyset, refuseUnsignedWriter } from './store/open-checks.js';
import { policyPayload, SIGNING_POLICY_COORDINATE, type SigningPolicyDeclaration } from './receipt/policy.js';
import { entryFromRecovered } from './event-index/from-frame.js';
import { removeLeftoverTemps } from './store/leftovers.js';
import { openConsistent } from './store/read-only-open.js';
import { HeadStream, judge } from './attest/check.js';
import { checkLabel, signAttestation, type HeadAttestation } from './attest/statement.js';
import type { AttestOptions, VerifyChainOptions } from './attest/options.js';
import { writeSnapshot, type SnapshotOptions, type SnapshotResult, type SnapshotSource } from './snapshot/copy.js';
import { encodeCompactionLog, type RemovedEvent } from './compaction/log.js';

export type { CompactOptions, CompactionResult } from './compaction/options.js';
import { baseReceipt, coordinateOf, decodeStoredPayload, headerOf } from './store/views.js';
import type { AncestorWalk, AppendReceipt, EventHeader, ChainVerificationReport, DirectoryDamageReport, QueryFilter, RawEvent, StoredEvent, StoreStats } from './types.js';

/** Largest number of bytes one commit group writes; bigger queues split into several groups. */
const MAX_GROUP_BYTES = 8 * 1024 * 1024;

/** Where shred receipts go: the store's own system stream. */
const SHRED_COORDINATE = { entity: 'batpak:store', scope: 'batpak:shred' } as const;

/** Events a query reads ahead at most, and the bytes (at least one event is always read). */
const QUERY_READ_AHEAD = 256;
const QUERY_READ_AHEAD_BYTES = 4 * 1024 * 1024;

export class Store {
  readonly #opts: ResolvedOptions;
  readonly #index: MemoryIndex;
  readonly #segments: SegmentSet;
  readonly #writer: SegmentWriter | undefined;
  readonly #committer: GroupCommitter<Intent> | undefined;
  readonly #lock: FsLock | undefined;
  readonly #signer: ReceiptSigner | undefined;
  readonly #keyset: Keyset | undefined;
  readonly #keyStore: KeyStore | undefined;
  /** What committed compactions removed (from their records): explains gaps, verifies pruned seals. */
  readonly #removed: RemovedSet;
  readonly #maintenance = new SharedExclusiveLock();
  /** Rebuilt commit groups for receipt(): cleared when compaction moves frames. */
  readonly #groups = new GroupCache();
  /** The entries of compaction.log (committed compactions). */
  #compactionEntries: CompactionEntry[];
  /** Set when a compaction committed on disk but could not finish in-process: the next open finishes it. */
  #compactionUnfinished: string | undefined;
  /** What the directory showed at open (lost segments, a contradicting checkpoint): every verifyChain reports it. */
  readonly #damage: readonly DirectoryDamageReport[];
  #nextGlobal: number;
  #lastCommittedAt: number;
  #closing: Promise<void> | undefined;
  /** Callers of waitForSequence, woken after each commit (and rejected at close). */
  readonly #waiters = new Set<{ after: number; resolve: (seq: bigint) => void; reject: (err: unknown) => void }>();

  private constructor(init: {
    opts: ResolvedOptions;
    index: MemoryIndex;
    segments: SegmentSet;
    writer: SegmentWriter | undefined;
    lock: FsLock | undefined;
    nextGlobal: number;
    lastCommittedAt: number;
    keyset: Keyset | undefined;
    keyStore: KeyStore | undefined;
    removed: RemovedSet;
    compactionEntries: CompactionEntry[];
    signer: ReceiptSigner | undefined;
    damage: readonly DirectoryDamageReport[];
  }) {
    this.#damage = init.damage;
    this.#opts = init.opts;
    this.#index = init.index;
    this.#segments = init.segments;
    this.#writer = init.writer;
    this.#lock = init.lock;
    this.#signer = init.signer;
    this.#nextGlobal = init.nextGlobal;
    this.#lastCommittedAt = init.lastCommittedAt;
    this.#keyset = init.keyset;
    this.#keyStore = init.keyStore;
    this.#removed = init.removed;
    this.#compactionEntries = init.compactionEntries;
    const writer = init.writer;
    this.#committer =
      writer === undefined
        ? undefined
        : new GroupCommitter<Intent>(
            {
              prepare: (intents) =>
                prepareGroup(
                  {
                    index: this.#index,
                    nextGlobal: this.#nextGlobal,
                    lastCommittedAt: this.#lastCommittedAt,
                    now: this.#opts.now(),
                    signer: this.#signer,
                    signingDowngradeAllowed: this.#opts.signingDowngradeAllowed,
                    onWarning: this.#opts.onWarning,
                    replay: (e, draft) => replayOrConflict(draft, e, { original: (x) => this.#originalReceipt(x), plaintext: (x) => this.#plaintext(x) }),
                    published: ({ segmentId, end, nextGlobal, lastCommittedAt }) => {
                      this.#segments.setSize(segmentId, end);
                      this.#nextGlobal = nextGlobal;
                      this.#lastCommittedAt = lastCommittedAt;
                      this.#wakeWaiters();
                    },
                  },
                  intents,
                ),
              // The key fence (INV-KEY-FENCE): a minted key is durable before any ciphertext under it
              // is written, let alone acknowledged; a failed flush leaves the keyset dirty for the next group.
              beforeWrite: async () => {
                if (this.#keyset?.dirty === true) await this.#keyset.flush(this.#keyStore!);
              },
              write: (frames) => writer.writeGroup(frames, this.#opts.now()),
              reject: (intent, error) => intent.settle.reject(error),
            },
            MAX_GROUP_BYTES,
          );
  }

  /** Opens (creating if needed) the store in `options.dir`. Writable opens take the directory lock. */
  static async open(options: StoreOptions): Promise<Store> {
    const opts = resolveOptions(options);
    checkRegistry(opts);
    if (opts.signingPolicy === 'required' && opts.signingKey === undefined && opts.signer === undefined) {
      throw new BatpakError('ERR_SIGNING_KEY_REQUIRED', "signingPolicy 'required' needs a signingKey (or a signer)");
    }
    // Every error leaving open is a BatpakError (INV-TYPED-ERRORS): an errno from any layer becomes one.
    try {
      return await Store.#open(opts);
    } catch (err) {
      throw typedIoError(err, `cannot open the store in ${opts.dir}`, { file: opts.dir });
    }
  }

  static async #open(opts: ResolvedOptions): Promise<Store> {
    const { fs, dir } = opts;
    let lock: FsLock | undefined;
    if (opts.readOnly) {
      const st = await fs.stat(dir).catch((err: unknown) => {
        throw ioError(err, `cannot stat ${dir}`, { file: dir });
      });
      if (st === null || !st.isDirectory) throw new BatpakError('ERR_NOT_FOUND', `no store directory at ${dir}`, { details: { file: dir } });
      // No lock: a compaction in another process may run meanwhile. The open reads pinned files only
      // (INV-READER-CONSISTENT); its "lock" is the pins, released at close.
      return openConsistent(fs, dir, (pinnedFs, pins) => Store.#openLocked({ ...opts, fs: pinnedFs }, pins));
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
      // Before any read: a killed writer's temp copies (a keyset's holds keys) go (INV-TEMP-CLEANUP).
      await removeLeftoverTemps(fs, dir);
      return await Store.#openLocked(opts, lock);
    } catch (err) {
      await lock?.release().catch(() => undefined);
      throw err;
    }
  }

  /** Opens without the writer lock, beside a live writer; sees what was committed at open. */
  static openReadOnly(dir: string, options: Omit<StoreOptions, 'dir' | 'readOnly'> = {}): Promise<Store> {
    return Store.open({ ...options, dir, readOnly: true });
  }

  static async #openLocked(opts: ResolvedOptions, lock: FsLock | undefined): Promise<Store> {
    const { fs, dir } = opts;
    const segmentPath = (id: number) => join(dir, segmentFileName(id));
    await refusePlaintextWriterByKeyset(opts);
    const pending = await resolvePendingCompaction(fs, dir, !opts.readOnly);
    const names = await storeDirectoryNames(fs, dir, opts.readOnly, pending.segments.length);
    // A checkpoint whose every entry matched its frame holds the index of a prefix of the log: only the
    // tail after it is scanned.
    const loaded = await loadCheckpoint(opts, pending.segments, pending.entries.length);
    const checkpoint = loaded.usable;
    const tail = checkpoint === undefined ? pending.segments : checkpoint.tail;
    const log = await recoverLog(fs, tail, checkpoint?.start);
    const signer = opts.signer ?? (opts.signingKey === undefined ? undefined : signerFromSeed(opts.signingKey));
    const verifyKeys = signer === undefined ? [...opts.trustedPublicKeys] : [signer.publicKey, ...opts.trustedPublicKeys];
    // Compaction's own record says which sequences it removed; a gap it does not explain is lost data.
    // Only a trusted entry (signed by a known key, or unsigned in a keyless store) turns links into gaps.
    const removed = new RemovedSet();
    for (const e of pending.entries) removed.addEntry(e, entryTrusted(e, verifyKeys), verifyKeys.length === 0);
    for (const gap of [...(checkpoint?.gaps ?? []), ...log.gaps]) {
      if (!removed.explains(gap.last, gap.next)) {
        throw new BatpakError(
          'ERR_CORRUPT_SEGMENT',
          `corrupt segment ${gap.file} at offset ${gap.offset}: global sequences ${gap.last + 1}..${gap.next - 1} are missing and no committed compaction removed them`,
          { details: { file: gap.file, offset: gap.offset } },
        );
      }
    }
    for (const d of log.discarded) {
      opts.onWarning(`recovery: ignored ${d.reason} in segment ${d.segmentId} from offset ${d.offset}`);
    }
    const index = new MemoryIndex((checkpoint?.checkpoint.entries.length ?? 0) + log.events.length);
    let lastCommittedAt = checkpoint?.lastCommittedAt ?? 0;
    for (const e of checkpoint?.checkpoint.entries ?? []) {
      if (index.has(e.eventId)) {
        const file = segmentPath(e.segmentId);
        throw new BatpakError('ERR_CORRUPT_SEGMENT', `corrupt segment ${file} at offset ${e.offset}: duplicate event id ${e.eventId}`, { details: { file, offset: e.offset } });
      }
      index.insert(e);
    }
    for (const r of log.events) {
      const entry = entryFromRecovered(r);
      if (checkpoint !== undefined && index.has(entry.eventId)) {
        throw new BatpakError('ERR_CORRUPT_SEGMENT', `corrupt segment ${segmentPath(r.segmentId)} at offset ${r.offset}: event ${entry.eventId} appears twice`, {
          details: { file: segmentPath(r.segmentId), offset: r.offset },
        });
      }
      index.insert(entry);
      lastCommittedAt = Math.max(lastCommittedAt, r.frame.committedAt);
    }
    // Before anything below cuts a torn tail or replaces a headerless segment the directory says held events.
    const damage = assessDirectory(opts, { names, segmentIds: pending.segments.map((s) => s.id), compactions: pending.entries, loaded, index, removed });
    refusePlaintextWriterByEvents(opts, index.all());
    refuseUnsignedWriter(opts, signer, index);
    let keyset: Keyset | undefined;
    let keyStore: KeyStore | undefined;
    if (opts.encryption !== undefined) {
      keyStore = opts.encryption.keyStore ?? new FileKeyStore(fs, join(dir, KEYSET_FILE));
      keyset = await Keyset.load(keyStore, opts.encryption.granularity);
      // Frames may reference generations the keyset no longer lists (a lost keyset): never re-mint them.
      for (const e of index.all()) if (e.encryption !== undefined) keyset.noteGeneration(e.encryption.scope, e.encryption.generation);
    }
    const segments = new SegmentSet(fs);
    let writer: SegmentWriter | undefined;
    const newest = log.segments[log.segments.length - 1];
    // Segments wholly inside the checkpoint were not scanned: their committed length is the checkpoint's.
    for (const s of checkpoint?.whole ?? []) segments.add(s.id, s.path, s.committedEnd, undefined, s.crc);
    for (const s of log.segments) {
      if (s !== newest || opts.readOnly) segments.add(s.id, s.path, s.committedEnd, undefined, s.crc);
    }
    // A reader holds every segment it indexed open, so a compaction elsewhere cannot swap a file under it.
    if (opts.readOnly) await segments.openAll();
    if (opts.readOnly && newest !== undefined) {
      // Best effort: do not serve frames a crashed writer left only in the page cache. A read-only
      // mount refuses the fsync; that is not a reason to refuse the read.
      try {
        const f = await fs.open(newest.path);
        await f.fsync().finally(() => f.close());
      } catch (err) {
        opts.onWarning(`read-only open could not fsync ${newest.path}: ${(err as Error).message}`);
      }
    }
    if (!opts.readOnly) {
      let active;
      if (newest !== undefined && newest.header !== undefined) {
        let file: FsFile | undefined;
        try {
          file = await fs.open(newest.path, { write: true });
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
        active = await createSegment(fs, segmentPath(id), id, opts.now());
      }
      segments.add(active.id, active.path, active.size, active.file);
      writer = new SegmentWriter(active, {
        fs,
        segmentPath,
        segmentMaxBytes: opts.segmentMaxBytes,
        sync: opts.sync === 'always',
        onRotate: (next, previous) => {
          segments.release(previous.id);
          segments.setSize(previous.id, previous.size);
          segments.setCrc(previous.id, previous.crc);
          segments.add(next.id, next.path, next.size, next.file);
        },
      });
    }
    const store = new Store({
      opts,
      index,
      segments,
      writer,
      lock,
      nextGlobal: Math.max(index.lastGlobalSequence(), removed.maxSequence()) + 1,
      lastCommittedAt,
      keyset,
      keyStore,
      removed,
      compactionEntries: pending.entries,
      signer,
      damage,
    });
    if (opts.chainVerification === 'recompute') {
      const report = await store.verifyChain();
      if (!report.intact) {
        await store.close();
        throw new BatpakError('ERR_CHAIN_VERIFICATION_FAILED', `chain verification failed at open: ${describeReport(report)}`, {
          details: { report },
        });
      }
    }
    return store;
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  /** Appends one typed event; resolves with its receipt once committed (fsynced by default). */
  async append<T>(coord: unknown, event: EventDefinition<T>, payload: T, options?: AppendOptions): Promise<AppendReceipt> {
    this.#assertWritable();
    const opts = checkAppendOptions(options);
    if (opts.payloadVersion !== undefined) throw new BatpakError('ERR_INVALID_ARGUMENT', 'payloadVersion applies to appendRaw; a typed append records its definition version');
    const draft = typedDraft(coord, event, payload, opts.idempotencyKey, this.#limits(), undefined, checkExtensions(opts.extensions));
    if (this.#keyset !== undefined) sealDraft(this.#keyset, draft);
    return this.#submitSingle(draft, opts);
  }

  /** Appends application bytes under a user kind (payload version 0, flagged raw). */
  async appendRaw(coord: unknown, kind: EventKind, bytes: Uint8Array, options?: AppendOptions): Promise<AppendReceipt> {
    this.#assertWritable();
    const opts = checkAppendOptions(options);
    const draft = rawDraft(coord, kind, bytes, opts.idempotencyKey, this.#limits(), undefined, checkExtensions(opts.extensions), opts.payloadVersion ?? 0);
    if (this.#keyset !== undefined) sealDraft(this.#keyset, draft);
    return this.#submitSingle(draft, opts);
  }

  /** Appends several events atomically: after any crash either all are visible or none. */
  async appendBatch(items: readonly BatchItem[]): Promise<AppendReceipt[]> {
    this.#assertWritable();
    const drafts = batchDrafts(items, { ...this.#limits(), batchMaxEvents: this.#opts.batchMaxEvents });
    if (this.#keyset !== undefined) for (const d of drafts) sealDraft(this.#keyset, d);
    let bytes = 0;
    for (const d of drafts) bytes += d.payload.length + 256;
    return new Promise<AppendReceipt[]>((resolve, reject) => {
      this.#committer!.submit({ type: 'batch', drafts, settle: { resolve, reject } }, bytes);
    });
  }

  /**
   * Imports events with their identity preserved — event id, coordinate, kind, payload bytes and content
   * hash — e.g. from a Rust batpak directory. Atomic per call (like appendBatch); an id that already
   * exists, or a content hash that is not blake3(payload), refuses the whole call. Each event gets this
   * store's next global sequence and is chained per entity as usual. Not allowed with payload encryption,
   * which would have to re-seal (and so re-hash) the payloads.
   */
  async importEvents(events: readonly ImportEvent[], options: { readonly signal?: AbortSignal } = {}): Promise<AppendReceipt[]> {
    this.#assertWritable();
    if (options.signal?.aborted === true) throw new BatpakError('ERR_ABORTED', 'importEvents was aborted', { cause: options.signal.reason });
    if (this.#keyset !== undefined) {
      throw new BatpakError('ERR_INVALID_ARGUMENT', 'importEvents keeps payload bytes and content hashes, so it cannot be used with payloadEncryption');
    }
    const items = importDrafts(events, { ...this.#limits(), batchMaxEvents: this.#opts.batchMaxEvents });
    let bytes = 0;
    for (const it of items) bytes += it.draft.payload.length + 256;
    return new Promise<AppendReceipt[]>((resolve, reject) => {
      this.#committer!.submit({ type: 'import', items, settle: { resolve, reject } }, bytes);
    });
  }

  #submitSingle(draft: EventDraft, opts: AppendOptions): Promise<AppendReceipt> {
    const expected = opts.expectedSequence === undefined ? undefined : Number(opts.expectedSequence);
    return new Promise<AppendReceipt>((resolve, reject) => {
      this.#committer!.submit({ type: 'single', draft, expected, settle: { resolve, reject } }, draft.payload.length + 256);
    });
  }

  #limits() {
    return { payloadMaxBytes: this.#opts.payloadMaxBytes, registry: this.#opts.registry, now: this.#opts.now() };
  }

  /** A committed event's receipt exactly as append returned it (signature and group proof included). */
  async #originalReceipt(current: IndexEntry): Promise<AppendReceipt> {
    if ((current.flags & EventFlags.SEALED) === 0) return baseReceipt(current);
    const members = {
      bySequence: (g: number) => this.#index.bySequence(g),
      removedLeaf: (g: number) => this.#removed.bySequence(g)?.leaf,
      baseReceipt,
    };
    const cached = this.#groups.find(current);
    if (cached !== undefined) return signedReceipt(current, cached, members);
    let entry = current;
    let seal;
    try {
      seal = await findSeal(this.#segments, entry);
    } catch (err) {
      // Compaction may have moved the event meanwhile: look again at its new place.
      const now = this.#index.get(current.eventId);
      if (now === undefined || (now.segmentId === entry.segmentId && now.offset === entry.offset)) throw err;
      entry = now;
      seal = await findSeal(this.#segments, entry);
    }
    const group = rebuildGroup(entry, seal, members);
    this.#groups.add(group);
    return signedReceipt(entry, group, members);
  }

  /**
   * The receipt of a committed event, exactly as append returned it — for a signed event, its
   * original group signature and proof, rebuilt from the seal on disk (no key needed). For a compliance
   * job or an exporter that needs receipts it did not keep.
   */
  async receipt(eventId: string): Promise<AppendReceipt> {
    this.#assertOpen();
    return this.#originalReceipt(this.#entry(eventId));
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  /** The decoded, upcast event. ERR_NOT_FOUND for an unknown id; ERR_PAYLOAD_SHREDDED after a shred. */
  async get<T = unknown>(eventId: string): Promise<StoredEvent<T>> {
    this.#assertOpen();
    const entry = this.#entry(eventId);
    const event = await this.#load(entry);
    if (event.shredded) {
      throw new BatpakError('ERR_PAYLOAD_SHREDDED', `the payload of event ${eventId} was shredded (its key was destroyed)`, { details: { eventId } });
    }
    return event as StoredEvent<T>;
  }

  /** The stored payload bytes exactly as on disk (ciphertext when sealed). */
  async getRaw(eventId: string): Promise<RawEvent> {
    this.#assertOpen();
    const { entry, frame } = await this.#readFrame(this.#entry(eventId));
    return { header: headerOf(entry), coordinate: coordinateOf(entry), bytes: new Uint8Array(frame.payload) };
  }

  /** Events in commit order matching every given filter field. */
  async *query(filter: QueryFilter = {}): AsyncIterable<StoredEvent> {
    this.#assertOpen();
    const f = checkFilter(filter);
    const list = f.entity === undefined ? this.#index.all() : this.#index.entityEvents(f.entity);
    let i = f.after === undefined ? 0 : MemoryIndex.firstAfter(list, Number(f.after));
    let yielded = 0;
    const aborted = () => filter.signal?.aborted === true;
    // Read ahead in growing steps: a `limit: 1` query reads one frame, a long scan reads runs of frames.
    let ahead = 8;
    while (i < list.length && yielded < f.limit) {
      if (aborted()) throw new BatpakError('ERR_ABORTED', 'query was aborted');
      const planned: IndexEntry[] = [];
      let plannedBytes = 0;
      const want = Math.min(ahead, f.limit - yielded);
      for (; i < list.length && planned.length < want && plannedBytes < QUERY_READ_AHEAD_BYTES; i++) {
        // After a compaction swap, iterate the old snapshot but read the current entry (or skip a dropped one).
        const e = this.#index.get(list[i]!.eventId);
        if (e === undefined) continue;
        if (f.scope !== undefined && e.scope !== f.scope) continue;
        if (f.kind !== undefined && !f.kind(e.kind)) continue;
        planned.push(e);
        plannedBytes += e.length;
      }
      ahead = Math.min(ahead * 2, QUERY_READ_AHEAD);
      const read = await this.#readAhead(planned);
      for (let k = 0; k < planned.length; k++) {
        if (aborted()) throw new BatpakError('ERR_ABORTED', 'query was aborted');
        this.#assertOpen();
        const e = this.#index.get(planned[k]!.eventId);
        if (e === undefined) continue;
        const r = read[k];
        // Bytes read ahead serve only if the event has not moved since (compaction relocates survivors).
        const usable = r !== undefined && r.segmentId === e.segmentId && r.offset === e.offset && r.length === e.length;
        yield usable ? this.#loadRead(e, r.bytes) ?? (await this.#load(e)) : await this.#load(e);
        yielded++;
        if (yielded >= f.limit) return;
      }
    }
  }

  /**
   * Reads the frames of `entries` (commit order) with one read per run of nearby frames. A run that
   * fails to read is left out: those events are read one by one, which reports the error properly.
   */
  async #readAhead(entries: readonly IndexEntry[]): Promise<({ segmentId: number; offset: number; length: number; bytes: Uint8Array } | undefined)[]> {
    const out: ({ segmentId: number; offset: number; length: number; bytes: Uint8Array } | undefined)[] = new Array(entries.length);
    if (entries.length < 2) return out;
    const groups: { i: number; segmentId: number; locs: { offset: number; length: number }[] }[] = [];
    for (let i = 0; i < entries.length; ) {
      const segmentId = entries[i]!.segmentId;
      let j = i + 1;
      while (j < entries.length && entries[j]!.segmentId === segmentId && entries[j]!.offset > entries[j - 1]!.offset) j++;
      groups.push({ i, segmentId, locs: entries.slice(i, j).map((e) => ({ offset: e.offset, length: e.length })) });
      i = j;
    }
    await Promise.all(
      groups.map(async ({ i, segmentId, locs }) => {
        try {
          const bytes = await this.#segments.readFrameRuns(segmentId, locs);
          for (let k = 0; k < locs.length; k++) out[i + k] = { segmentId, offset: locs[k]!.offset, length: locs[k]!.length, bytes: bytes[k]! };
        } catch {
          // Left undefined: read one by one.
        }
      }),
    );
    return out;
  }

  /** Like #load over bytes already read; undefined when they do not check (the caller re-reads). */
  #loadRead(entry: IndexEntry, bytes: Uint8Array): StoredEvent | undefined {
    let frame: EventFrame;
    try {
      frame = this.#segments.checkEventFrame(bytes, entry, entry.idBytes);
    } catch {
      return undefined;
    }
    return this.#decodeLoaded(entry, frame);
  }

  /** Follows prevHash links back from `eventId` (included) and reports why the walk stopped. */
  async walkAncestors(eventId: string, options: { readonly limit?: number } = {}): Promise<AncestorWalk> {
    this.#assertOpen();
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new BatpakError('ERR_INVALID_ARGUMENT', 'limit must be a positive integer');
    return walk({ index: this.#index, anchor: eventId, limit, load: (e) => this.#load(e) });
  }

  /**
   * Re-reads every committed frame and checks every content hash and link; a report, not a boolean.
   * With `expect`, also whether the store extends that attestation (`report.attestation`).
   */
  async verifyChain(options: VerifyChainOptions = {}): Promise<ChainVerificationReport> {
    this.#assertOpen();
    if (options.expect !== undefined && (typeof options.expect !== 'object' || options.expect === null)) {
      throw new BatpakError('ERR_INVALID_ARGUMENT', 'expect must be an attestation (attestationFromJSON parses one)', { details: { field: 'expect' } });
    }
    await this.#committer?.idle();
    return this.#maintenance.shared(async () => {
      const expect = options.expect;
      if (expect === undefined) return this.#verifyChain(options);
      const limit = typeof expect.globalSequence === 'bigint' ? expect.globalSequence : 0n;
      const stream = new HeadStream(limit, this.#trustedRemoved());
      const report = await this.#verifyChain(options, stream);
      const attestation = judge(expect, this.#verifyKeys(), stream);
      return { ...report, attestation, intact: report.intact && attestation.status === 'extends' };
    });
  }

  #verifyChain(
    options: { readonly signal?: AbortSignal | undefined; readonly onProgress?: ((done: number, total: number) => void) | undefined },
    stream?: HeadStream,
    snapshot: { segments: readonly SnapshotSource[]; committed: readonly IndexEntry[] } = this.#committedSnapshot(),
  ): Promise<ChainVerificationReport> {
    const removedLeaf = (g: number) => this.#removed.bySequence(g)?.leaf;
    return verify({
      fs: this.#segments.borrowingOpen(),
      segments: snapshot.segments,
      committed: snapshot.committed,
      removedHashes: this.#removed.hashes(),
      directoryDamage: this.#damage,
      signal: options.signal,
      onProgress: options.onProgress,
      tombstone: (eventId) => this.#removed.tombstone(eventId),
      seals: new SealChecker({
        keys: this.#verifyKeys(),
        requireSigned: this.#verifyKeys().length > 0 || holdsSignedEvents(this.#index),
        removedLeaf,
        removedHeaderLeaf: (g) => this.#removed.bySequence(g)?.headerLeaf,
      }),
      observe: stream === undefined ? undefined : (frame) => stream.frame(frame),
    }).then((report) => {
      stream?.finish();
      return report;
    });
  }

  /**
   * Checks a receipt against the committed event (every field, first disagreement named) and its
   * signature against this store's keys. Never throws for a bad receipt: the verdict says why.
   */
  async verifyReceipt(receipt: AppendReceipt): Promise<ReceiptVerdict> {
    this.#assertOpen();
    const bad = malformedField(receipt);
    if (bad !== undefined) return { status: 'invalid', reason: `${bad}: malformed` };
    const entry = this.#index.get(receipt.eventId);
    if (entry === undefined) return { status: 'invalid', reason: 'eventId: no committed event has this id' };
    const mismatch = compareWithCommitted(receipt, baseReceipt(entry));
    if (mismatch !== undefined) return mismatch;
    return verifySignature(receipt, this.#verifyKeys(), (entry.flags & EventFlags.SEALED) === 0);
  }

  /** Public keys whose signatures this store accepts: its own, then trustedPublicKeys. */
  #verifyKeys(): Uint8Array[] {
    const own = this.#signer?.publicKey;
    return own === undefined ? [...this.#opts.trustedPublicKeys] : [own, ...this.#opts.trustedPublicKeys];
  }

  #entry(eventId: string): IndexEntry {
    if (!isEventIdString(eventId)) {
      throw new BatpakError('ERR_INVALID_ARGUMENT', 'eventId must be 32 lowercase hex characters', { details: { field: 'eventId' } });
    }
    const entry = this.#index.get(eventId);
    if (entry === undefined) throw new BatpakError('ERR_NOT_FOUND', `no event ${eventId}`, { details: { eventId } });
    return entry;
  }

  /** The one read path for payloads: decrypts when sealed, marks shredded events instead of failing. */
  /** Reads an entry's frame; if compaction moved it meanwhile, reads it again at its new place. */
  async #readFrame(entry: IndexEntry): Promise<{ entry: IndexEntry; frame: EventFrame }> {
    const at = `${entry.segmentId}:${entry.offset}`;
    try {
      return { entry, frame: await this.#segments.readEventFrame(entry, entry.idBytes) };
    } catch (err) {
      const now = this.#index.get(entry.eventId);
      if (now === undefined || `${now.segmentId}:${now.offset}` === at) throw err;
      return { entry: now, frame: await this.#segments.readEventFrame(now, now.idBytes) };
    }
  }

  async #load(current: IndexEntry): Promise<StoredEvent> {
    const { entry, frame } = await this.#readFrame(current);
    return this.#decodeLoaded(entry, frame);
  }

  #decodeLoaded(entry: IndexEntry, frame: EventFrame): StoredEvent {
    const header = headerOf(entry);
    if (header.tombstone) return { header, coordinate: coordinateOf(entry), payload: undefined, shredded: false };
    const plain = openPayload(this.#keyset, entry, frame.payload);
    if (plain === 'shredded') return { header, coordinate: coordinateOf(entry), payload: undefined, shredded: true };
    return { header, coordinate: coordinateOf(entry), payload: decodeStoredPayload(entry, plain, this.#opts.registry), shredded: false };
  }

  // -------------------------------------------------------------------------------------------
  // Head attestations and snapshots (FORMAT.md § Head attestations, § Snapshot)

  /** The segments and committed events as of now, taken in one synchronous step (a consistent prefix). */
  #committedSnapshot(): { segments: SnapshotSource[]; committed: IndexEntry[] } {
    const segments = this.#segments.ids().map((id) => ({ id, path: this.#segments.path(id), committedEnd: this.#segments.size(id) }));
    return { segments, committed: this.#index.all().slice() };
  }

  /** Records of events compaction removed, from entries this store's keys trust (a head may include them). */
  #trustedRemoved(): RemovedEvent[] {
    const keys = this.#verifyKeys();
    return this.#compactionEntries.filter((e) => entryTrusted(e, keys)).flatMap((e) => e.removed);
  }

  /**
   * A signed statement of the log as it is now: its last global sequence, event count and head hash
   * (FORMAT.md § Head attestations). The log is verified first — a store that is not intact is refused
   * (ERR_CHAIN_VERIFICATION_FAILED). Needs the signing key (ERR_SIGNING_KEY_REQUIRED); works read-only.
   */
  async attest(options: AttestOptions = {}): Promise<HeadAttestation> {
    this.#assertOpen();
    const signer = this.#signer;
    if (signer === undefined) throw new BatpakError('ERR_SIGNING_KEY_REQUIRED', 'attest needs a store opened with a signingKey (or a signer)');
    const label = options.label ?? '';
    checkLabel(label);
    const through = options.through;
    if (through !== undefined && (typeof through !== 'bigint' || through < 0n)) {
      throw new BatpakError('ERR_INVALID_ARGUMENT', 'through must be a non-negative bigint', { details: { field: 'through' } });
    }
    await this.#committer?.idle();
    return this.#maintenance.shared(() => {
      const snapshot = this.#committedSnapshot();
      const last = BigInt(snapshot.committed[snapshot.committed.length - 1]?.globalSequence ?? 0);
      if (through !== undefined && through > last) {
        throw new BatpakError('ERR_INVALID_ARGUMENT', `through ${through} is past the last committed global sequence ${last}`, { details: { field: 'through' } });
      }
      return this.#attestSnapshot(signer, snapshot, options, label, through);
    });
  }

  async #attestSnapshot(
    signer: ReceiptSigner,
    snapshot: { segments: readonly SnapshotSource[]; committed: readonly IndexEntry[] },
    options: { readonly signal?: AbortSignal | undefined; readonly onProgress?: ((done: number, total: number) => void) | undefined },
    label: string,
    through?: bigint,
  ): Promise<HeadAttestation> {
    const last = snapshot.committed[snapshot.committed.length - 1]?.globalSequence ?? 0;
    const stream = new HeadStream(through ?? BigInt(last), this.#trustedRemoved());
    const report = await this.#verifyChain(options, stream, snapshot);
    if (!report.intact) {
      throw new BatpakError('ERR_CHAIN_VERIFICATION_FAILED', `refusing to attest a store that does not verify: ${describeReport(report)}`, { details: { report } });
    }
    const c = stream.commitment;
    return signAttestation(signer, { globalSequence: c.globalSequence, eventCount: c.eventCount, head: c.head, attestedAt: BigInt(this.#opts.now()), label });
  }

  /**
   * Copies a consistent committed prefix of the store into `destDir` (which must not exist) while
   * writers go on; the copy opens as a store and verifies. Crash-safe: built in `<destDir>.snapshot-partial`
   * and renamed at the end. Returns what it copied and, with a signing key, an attestation of exactly that.
   * The keyset (kept in the directory) is copied as it is at the end, so a shredded scope stays shredded.
   */
  async snapshot(destDir: string, options: SnapshotOptions = {}): Promise<SnapshotResult> {
    this.#assertOpen();
    if (typeof destDir !== 'string' || destDir === '') throw new BatpakError('ERR_INVALID_ARGUMENT', 'destDir must be a non-empty path', { details: { field: 'destDir' } });
    const label = options.label ?? '';
    checkLabel(label);
    // No wait for in-flight appends: the copy is the committed prefix as of now, writers go on.
    // Shared with verifyChain, exclusive with compaction: no segment is swapped or removed mid-copy.
    return this.#maintenance.shared(async () => {
      const snap = this.#committedSnapshot();
      const keyset = this.#keyset;
      const ownKeyset = keyset !== undefined && this.#opts.encryption?.keyStore === undefined;
      let attestation: HeadAttestation | undefined;
      let bytes = 0;
      for (const s of snap.segments) bytes += s.committedEnd;
      await writeSnapshot({
        fs: this.#opts.fs,
        dest: destDir,
        segments: snap.segments,
        compactionLog: this.#compactionEntries.length === 0 ? undefined : encodeCompactionLog(this.#compactionEntries),
        keyset: ownKeyset ? () => keyset.image() : undefined,
        signal: options.signal,
        onProgress: options.onProgress,
        check: async (copied, dir) => {
          // 1. The copied bytes hold exactly the committed events of the snapshot (and, signed, attest them).
          const copy = { segments: copied, committed: snap.committed };
          if (this.#signer !== undefined) {
            attestation = await this.#attestSnapshot(this.#signer, copy, { signal: options.signal }, label);
          } else {
            const report = await this.#verifyChain({ signal: options.signal }, undefined, copy);
            if (!report.intact) throw new BatpakError('ERR_CHAIN_VERIFICATION_FAILED', `the snapshot copy does not verify: ${describeReport(report)}`, { details: { report } });
          }
          // 2. The copy opens on its own as that store: a source file another process replaced
          //    mid-copy (a writer's compaction beside a read-only store) cannot publish a broken copy.
          await this.#checkCopyOpens(dir, snap.committed, attestation, options.signal);
        },
      });
      return {
        dir: destDir,
        globalSequence: BigInt(snap.committed[snap.committed.length - 1]?.globalSequence ?? 0),
        events: BigInt(snap.committed.length),
        segments: snap.segments.length,
        bytes: BigInt(bytes),
        attestation,
      };
    });
  }

  /** Opens a snapshot copy read-only and checks it is the expected store; ERR_CHAIN_VERIFICATION_FAILED if not. */
  async #checkCopyOpens(dir: string, committed: readonly IndexEntry[], attestation: HeadAttestation | undefined, signal: AbortSignal | undefined): Promise<void> {
    const fail = (why: string, cause?: unknown): never => {
      throw new BatpakError('ERR_CHAIN_VERIFICATION_FAILED', `the snapshot copy ${why}`, cause === undefined ? {} : { cause });
    };
    let copy: Store;
    try {
      const registry = this.#opts.registry;
      copy = await Store.openReadOnly(dir, { fs: this.#opts.fs, trustedPublicKeys: this.#verifyKeys(), ...(registry === undefined ? {} : { registry }), checkpoint: 'off', onWarning: () => undefined });
    } catch (err) {
      return fail(`does not open as a store: ${(err as Error).message}`, err);
    }
    try {
      const last = committed[committed.length - 1]?.globalSequence ?? 0;
      if (copy.lastSequence !== BigInt(last) || copy.stats().events !== BigInt(committed.length)) {
        fail(`opens with ${copy.stats().events} events up to ${copy.lastSequence}, not ${committed.length} up to ${last}`);
      }
      const report = await copy.verifyChain({ ...(signal === undefined ? {} : { signal }), ...(attestation === undefined ? {} : { expect: attestation }) });
      if (!report.intact) fail(`opened as a store does not verify: ${describeReport(report)}${report.attestation?.reason === undefined ? '' : ` (${report.attestation.reason})`}`);
    } finally {
      await copy.close();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Crypto-shred

  /**
   * Destroys the key of the selected scope and flushes the keyset durably, then appends a system
   * event recording which scope was shredded (never the key), chained and signed like any event.
   * Says what it did: 'destroyed' (with the shred event's receipt), 'already-shredded' (the scope had a
   * key, none is live) or 'never-keyed' (nothing was ever sealed under it — often a typo in the selector);
   * `plaintextEvents` counts events of the scope written before encryption was enabled, which no shred erases.
   * The selector must match the configured granularity.
   */
  async shredScope(selector: ShredSelector): Promise<ShredResult> {
    this.#assertWritable();
    const keyset = this.#keyset;
    if (keyset === undefined) {
      throw new BatpakError('ERR_ENCRYPTION_NOT_CONFIGURED', 'shredScope needs a store opened with payloadEncryption');
    }
    const scope = scopeOfSelector(keyset.granularity, selector);
    // Destroy first, synchronously: an append sealed after this point gets a new key generation.
    const destroyed = keyset.destroy(scope);
    await keyset.flush(this.#keyStore!, { force: true });
    // Entity scopes need only that entity's events; the other granularities look at all of them.
    const candidates = keyset.granularity === 'entity' ? this.#index.entityEvents(new TextDecoder().decode(scope.subarray(1))) : this.#index.all();
    const plaintextEvents = plaintextEventsInScope(candidates, keyset.granularity, scope);
    const base = { granularity: keyset.granularity, scope: toHex(scope), destroyed, plaintextEvents };
    if (destroyed === 0) return { ...base, status: keyset.everKeyed(scope) ? 'already-shredded' : 'never-keyed' };
    const now = this.#opts.now();
    const receipt = await this.#appendSystem(SHRED_COORDINATE, SystemKinds.SHRED, { granularity: keyset.granularity, scope: toHex(scope), shreddedAt: now });
    return { ...base, status: 'destroyed', receipt };
  }

  /** An event's plaintext payload bytes (decrypted when sealed), for comparing an idempotent repeat. */
  async #plaintext(current: IndexEntry): Promise<Uint8Array | 'shredded'> {
    const { entry, frame } = await this.#readFrame(current);
    return openPayload(this.#keyset, entry, frame.payload);
  }

  /**
   * Records, signed with this store's key, whether unsigned appends may follow (a writer without the key,
   * opened with `allowUnsignedAfterSigned`). verifyChain accepts unsigned events only after a verified
   * `'allowed'` declaration and until a later `'refused'` one. ERR_SIGNING_KEY_REQUIRED without a key.
   */
  async declareSigningPolicy(policy: SigningPolicyDeclaration): Promise<AppendReceipt> {
    this.#assertWritable();
    const v = (policy as { unsignedAppends?: unknown } | null)?.unsignedAppends;
    if (v !== 'allowed' && v !== 'refused') {
      throw new BatpakError('ERR_INVALID_ARGUMENT', "unsignedAppends must be 'allowed' or 'refused'", { details: { field: 'unsignedAppends' } });
    }
    if (this.#signer === undefined) throw new BatpakError('ERR_SIGNING_KEY_REQUIRED', 'only the key holder can declare a signing policy: open the store with its signingKey (or signer)');
    return this.#appendSystem(SIGNING_POLICY_COORDINATE, SystemKinds.SIGNING_POLICY, policyPayload({ unsignedAppends: v }, this.#opts.now()));
  }

  /** Appends one of the store's own (plaintext, never shreddable) system events through the pipeline. */
  #appendSystem(coord: { readonly entity: string; readonly scope: string }, kind: number, value: unknown): Promise<AppendReceipt> {
    const id = newEventId(this.#opts.now());
    const payload = encodePayload(value);
    const draft: EventDraft = {
      entity: coord.entity,
      scope: coord.scope,
      kind,
      id,
      eventId: eventIdToString(id),
      payload,
      contentHash: blake3(payload),
      payloadVersion: 1,
      flags: 0,
      keyed: false,
    };
    return this.#submitSingle(draft, {});
  }

  // -------------------------------------------------------------------------------------------
  // Compaction

  /**
   * Rewrites the sealed segments (never the active one) into one: 'merge' keeps everything,
   * 'retention' keeps events for which keep(event) is true, 'tombstone' replaces events for which
   * drop(event) is true by tombstones that keep their chain position. Survivors keep their exact bytes
   * and content hashes, so old receipts still verify. System events and shredded events (which cannot
   * be judged) are always kept; no key is ever destroyed. Appends continue meanwhile.
   */
  async compact(options: CompactOptions): Promise<CompactionResult> {
    this.#assertWritable();
    const strategy = checkCompactOptions(options);
    return this.#maintenance.exclusive(() =>
      compactSegments(
        {
          opts: this.#opts,
          index: this.#index,
          segments: this.#segments,
          activeSegmentId: this.#writer!.active.id,
          keyset: this.#keyset,
          signer: this.#signer,
          removed: this.#removed,
          groups: this.#groups,
          entries: this.#compactionEntries,
          unfinished: this.#compactionUnfinished,
          recorded: (entries) => {
            this.#compactionEntries = entries;
          },
          leftUnfinished: (compactionId) => {
            this.#compactionUnfinished = compactionId;
          },
        },
        strategy,
        options.signal,
        options.onProgress,
      ),
    );
  }

  /** The header of an entity's latest committed event (from the index, no disk read), if any. */
  head(entity: string): EventHeader | undefined {
    this.#assertOpen();
    if (typeof entity !== 'string') throw new BatpakError('ERR_INVALID_ARGUMENT', 'entity must be a string');
    const e = this.#index.head(entity);
    return e === undefined ? undefined : headerOf(e);
  }

  /** Global sequence of the latest committed event (0n for an empty store). */
  get lastSequence(): bigint {
    return BigInt(this.#index.lastGlobalSequence());
  }

  /**
   * Resolves with the latest global sequence once an event with a sequence greater than `after` is
   * committed (at once if one already is). For live tails: query({ after }) then wait, repeat.
   */
  waitForSequence(after: bigint, options: { readonly signal?: AbortSignal } = {}): Promise<bigint> {
    this.#assertOpen();
    if (typeof after !== 'bigint' || after < 0n) throw new BatpakError('ERR_INVALID_ARGUMENT', 'after must be a non-negative bigint');
    const last = this.#index.lastGlobalSequence();
    if (BigInt(last) > after) return Promise.resolve(BigInt(last));
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(new BatpakError('ERR_ABORTED', 'waitForSequence was aborted', { cause: signal.reason }));
    return new Promise<bigint>((resolve, reject) => {
      const waiter = {
        after: Number(after),
        resolve: (seq: bigint) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(seq);
        },
        reject: (err: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = () => {
        this.#waiters.delete(waiter);
        waiter.reject(new BatpakError('ERR_ABORTED', 'waitForSequence was aborted', { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  #wakeWaiters(): void {
    if (this.#waiters.size === 0) return;
    const last = this.#index.lastGlobalSequence();
    for (const w of this.#waiters) {
      if (last > w.after) {
        this.#waiters.delete(w);
        w.resolve(BigInt(last));
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  /** Flushes and fsyncs everything accepted so far (a no-op cost under sync 'always'). */
  async sync(): Promise<void> {
    this.#assertWritable();
    await this.#committer!.idle();
    await this.#writer!.sync();
  }

  stats(): StoreStats {
    this.#assertOpen();
    return {
      events: BigInt(this.#index.size),
      segments: this.#segments.count,
      bytes: BigInt(this.#segments.totalBytes()),
      ...(this.#keyset === undefined ? {} : { keys: this.#keyset.liveCount }),
    };
  }

  /** The signing public key (32 bytes), or undefined for a keyless store. */
  get publicKey(): Uint8Array | undefined {
    return this.#signer?.publicKey;
  }

  get readOnly(): boolean {
    return this.#opts.readOnly;
  }

  get dir(): string {
    return this.#opts.dir;
  }

  /** Waits for in-flight appends, syncs, closes files and releases the lock. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #doClose(): Promise<void> {
    for (const w of this.#waiters) w.reject(new BatpakError('ERR_STORE_CLOSED', 'the store was closed while waiting'));
    this.#waiters.clear();
    let failure: unknown;
    try {
      await this.#committer?.idle();
      if (this.#writer !== undefined && this.#writer.failure === undefined) {
        await this.#writer.sync();
        await this.#writeCheckpoint();
      }
    } catch (err) {
      failure = err;
    }
    if (this.#writer !== undefined) await this.#writer.active.file.close().catch(() => undefined);
    await this.#segments.closeAll();
    await this.#lock?.release().catch(() => undefined);
    if (failure !== undefined) throw ioError(failure, 'close could not sync the store');
  }

  /**
   * Writes the cold-start checkpoint (everything is synced: close only). A failure costs a slower next
   * open, never data: the scan is the fallback, so it is a warning.
   */
  async #writeCheckpoint(): Promise<void> {
    if (this.#opts.checkpoint === 'off' || this.#index.size === 0) return;
    try {
      const segments = [];
      let lastInCompacted = false;
      const lastSegment = this.#index.all()[this.#index.size - 1]!.segmentId;
      const active = this.#writer!.active;
      for (const id of this.#segments.ids()) {
        const header = await (await this.#segments.handle(id)).readAt(0, SEGMENT_HEADER_BYTES);
        if (header.length !== SEGMENT_HEADER_BYTES) return;
        if (id === lastSegment) lastInCompacted = (((header[6]! << 8) | header[7]!) & SegmentFlags.COMPACTED) !== 0;
        const crc = id === active.id ? active.crc : this.#segments.crc(id);
        if (crc === undefined) return;
        segments.push({ id, committedEnd: id === active.id ? active.size : this.#segments.size(id), header, crc });
      }
      const image = encodeCheckpoint({
        segments,
        lastSeen: Math.max(this.#index.lastGlobalSequence(), this.#removed.maxSequence()),
        lastInCompacted,
        lastCommittedAt: this.#lastCommittedAt,
        compactions: this.#compactionEntries.length,
        entries: [...this.#index.all()],
      });
      const path = join(this.#opts.dir, CHECKPOINT_FILE);
      // A store opened and closed without changes leaves its directory untouched (a refused import,
      // a read-mostly job): same image, no write.
      const current = (await this.#opts.fs.stat(path)) === null ? undefined : await readPrefix(this.#opts.fs, path).catch(() => undefined);
      if (current !== undefined && bytesEqual(current, image)) return;
      await this.#opts.fs.writeFileAtomic(path, image);
    } catch (err) {
      this.#opts.onWarning(`could not write the cold-start checkpoint: ${(err as Error).message}`);
    }
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new BatpakError('ERR_STORE_CLOSED', 'the store is closed');
  }

  #assertWritable(): void {
    this.#assertOpen();
    if (this.#opts.readOnly) throw new BatpakError('ERR_READ_ONLY', 'the store was opened read-only');
  }
}

