// Store: the public API, composed of the store's modules — open (store/open.ts), append (store/append-pipeline.ts),
// read (store/read.ts), verify, attest and snapshot, shred (store/shred.ts), waiters, checkpoint, compaction.
// Invariant: Store holds the shared parts and the lifecycle; every public method checks the store is open
// (and writable, for writes) before it delegates, and close settles every waiter and in-flight append.

import type { EventDefinition } from './event.js';
import type { EventLog } from './event-log.js';
import { BatpakError } from './errors.js';
import type { FsLock } from './fs/fs.js';
import type { MemoryIndex } from './event-index/memory.js';
import type { EventKind } from './kind.js';
import type { Keyset } from './keyset/keyset.js';
import type { ShredResult, ShredSelector } from './keyset/scope.js';
import { GroupCache } from './receipt/original.js';
import type { ReceiptSigner } from './receipt/sign.js';
import type { ReceiptVerdict } from './receipt/verify.js';
import type { CompactionEntry, RemovedSet } from './compaction/log.js';
import { checkCompactOptions, type CompactOptions, type CompactionResult } from './compaction/options.js';
import type { SegmentSet } from './segment/set.js';
import type { SegmentWriter } from './segment/writer.js';
import type { SigningPolicyDeclaration } from './receipt/policy.js';
import type { AttestOptions, VerifyChainOptions } from './attest/options.js';
import type { HeadAttestation } from './attest/statement.js';
import type { SnapshotOptions, SnapshotResult } from './snapshot/copy.js';
import { batchDrafts, checkAppendOptions, checkExtensions, importDrafts, rawDraft, typedDraft, type AppendOptions, type BatchItem, type ImportEvent } from './store/append.js';
import { closeStore } from './store/close.js';
import { compactSegments } from './store/compact.js';
import { composeModules, type StoreModules } from './store/compose.js';
import { checkProjectArgs, type ProjectionDefinition, type ProjectOptions, type ProjectionResult } from './store/project.js';
import { openStore, type OpenedStore } from './store/open.js';
import { describeReport } from './store/open-checks.js';
import type { ResolvedOptions, StoreOptions } from './store/options.js';
import { SharedExclusiveLock } from './store/rwlock.js';
import { declareSigningPolicy, shredScope } from './store/shred.js';
import { headerOf } from './store/views.js';
import type { AncestorWalk, AppendReceipt, EventHeader, ChainVerificationReport, QueryFilter, RawEvent, StoredEvent, StoreStats } from './types.js';

export type { CompactOptions, CompactionResult } from './compaction/options.js';

export class Store implements EventLog {
  readonly #opts: ResolvedOptions;
  readonly #index: MemoryIndex;
  readonly #segments: SegmentSet;
  readonly #writer: SegmentWriter | undefined;
  readonly #lock: FsLock | undefined;
  readonly #signer: ReceiptSigner | undefined;
  readonly #keyset: Keyset | undefined;
  /** What committed compactions removed (from their records): explains gaps, verifies pruned seals. */
  readonly #removed: RemovedSet;
  /** Shared by verifyChain, attest and snapshot; exclusive for compaction. */
  readonly #maintenance = new SharedExclusiveLock();
  /** Rebuilt commit groups for receipt(): cleared when compaction moves frames. */
  readonly #groups = new GroupCache();
  /** The entries of compaction.log (committed compactions). */
  #compactionEntries: CompactionEntry[];
  /** Set when a compaction committed on disk but could not finish in-process: the next open finishes it. */
  #compactionUnfinished: string | undefined;
  #closing: Promise<void> | undefined;
  /** The modules Store delegates to (store/compose.ts wires them). */
  readonly #m: StoreModules;

  private constructor(o: OpenedStore) {
    this.#opts = o.opts;
    this.#index = o.index;
    this.#segments = o.segments;
    this.#writer = o.writer;
    this.#lock = o.lock;
    this.#signer = o.signer;
    this.#keyset = o.keyset;
    this.#removed = o.removed;
    this.#compactionEntries = o.compactionEntries;
    this.#m = composeModules(o, {
      groups: this.#groups,
      maintenance: this.#maintenance,
      assertOpen: () => this.#assertOpen(),
      compactionEntries: () => this.#compactionEntries,
      openReadOnly: (dir, options) => Store.openReadOnly(dir, options),
    });
  }

  /** Opens (creating if needed) the store in `options.dir`. Writable opens take the directory lock. */
  static open(options: StoreOptions): Promise<Store> {
    return openStore(options, (opened) => Store.#compose(opened));
  }

  /** Opens without the writer lock, beside a live writer; sees what was committed at open. */
  static openReadOnly(dir: string, options: Omit<StoreOptions, 'dir' | 'readOnly'> = {}): Promise<Store> {
    return Store.open({ ...options, dir, readOnly: true });
  }

  /** The store over what an open recovered; with chainVerification 'recompute', verified before use. */
  static async #compose(opened: OpenedStore): Promise<Store> {
    const store = new Store(opened);
    if (opened.opts.chainVerification === 'recompute') {
      const report = await store.verifyChain();
      if (!report.intact) {
        await store.close();
        throw new BatpakError('ERR_CHAIN_VERIFICATION_FAILED', `chain verification failed at open: ${describeReport(report)}`, { details: { report } });
      }
    }
    return store;
  }

  // -------------------------------------------------------------------------------------------
  // Writes (store/append.ts validates, store/append-pipeline.ts commits)

  /** Appends one typed event; resolves with its receipt once committed (fsynced by default). */
  async append<T>(coord: unknown, event: EventDefinition<T>, payload: T, options?: AppendOptions): Promise<AppendReceipt> {
    this.#assertWritable();
    const opts = checkAppendOptions(options);
    if (opts.payloadVersion !== undefined) throw BatpakError.invalidArgument('payloadVersion applies to appendRaw; a typed append records its definition version');
    const draft = typedDraft({ coord, definition: event, payload, idempotencyKey: opts.idempotencyKey, limits: this.#limits(), extensions: checkExtensions(opts.extensions) });
    return this.#m.pipeline!.appendOne(draft, expectedOf(opts));
  }

  /** Appends application bytes under a user kind (payload version 0, flagged raw). */
  async appendRaw(coord: unknown, kind: EventKind, bytes: Uint8Array, options?: AppendOptions): Promise<AppendReceipt> {
    this.#assertWritable();
    const opts = checkAppendOptions(options);
    const draft = rawDraft({ coord, kind, bytes, idempotencyKey: opts.idempotencyKey, limits: this.#limits(), extensions: checkExtensions(opts.extensions), payloadVersion: opts.payloadVersion ?? 0 });
    return this.#m.pipeline!.appendOne(draft, expectedOf(opts));
  }

  /** Appends several events atomically: after any crash either all are visible or none. */
  async appendBatch(items: readonly BatchItem[]): Promise<AppendReceipt[]> {
    this.#assertWritable();
    const drafts = batchDrafts(items, { ...this.#limits(), batchMaxEvents: this.#opts.batchMaxEvents });
    return this.#m.pipeline!.appendBatch(drafts);
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
    if (options.signal?.aborted === true) throw BatpakError.aborted('importEvents', options.signal.reason);
    if (this.#keyset !== undefined) {
      throw BatpakError.invalidArgument('importEvents keeps payload bytes and content hashes, so it cannot be used with payloadEncryption');
    }
    const items = importDrafts(events, { ...this.#limits(), batchMaxEvents: this.#opts.batchMaxEvents });
    return this.#m.pipeline!.importEvents(items);
  }

  #limits() {
    return { payloadMaxBytes: this.#opts.payloadMaxBytes, registry: this.#opts.registry, now: this.#opts.now() };
  }

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
    return this.#m.projector.aroundShred(selector, (removeFiles) => shredScope(this.#m.system, selector, removeFiles));
  }

  /**
   * Records, signed with this store's key, whether unsigned appends may follow (a writer without the key,
   * opened with `allowUnsignedAfterSigned`). verifyChain accepts unsigned events only after a verified
   * `'allowed'` declaration and until a later `'refused'` one. ERR_SIGNING_KEY_REQUIRED without a key.
   */
  async declareSigningPolicy(policy: SigningPolicyDeclaration): Promise<AppendReceipt> {
    this.#assertWritable();
    return declareSigningPolicy(this.#m.system, policy);
  }

  // -------------------------------------------------------------------------------------------
  // Reads (store/read.ts) and checks (store/verify.ts, store/attest-snapshot.ts)

  /**
   * The receipt of a committed event, exactly as append returned it — for a signed event, its
   * original group signature and proof, rebuilt from the seal on disk (no key needed). For a compliance
   * job or an exporter that needs receipts it did not keep.
   */
  async receipt(eventId: string): Promise<AppendReceipt> {
    this.#assertOpen();
    return this.#m.reader.originalReceipt(this.#m.reader.entry(eventId));
  }

  /** The decoded, upcast event. ERR_NOT_FOUND for an unknown id; ERR_PAYLOAD_SHREDDED after a shred. */
  async get<T = unknown>(eventId: string): Promise<StoredEvent<T>> {
    this.#assertOpen();
    return this.#m.reader.get<T>(eventId);
  }

  /** The stored payload bytes exactly as on disk (ciphertext when sealed). */
  async getRaw(eventId: string): Promise<RawEvent> {
    this.#assertOpen();
    return this.#m.reader.getRaw(eventId);
  }

  /** Events in commit order matching every given filter field. */
  async *query(filter: QueryFilter = {}): AsyncIterable<StoredEvent> {
    this.#assertOpen();
    yield* this.#m.reader.query(filter);
  }

  /** Follows prevHash links back from `eventId` (included) and reports why the walk stopped. */
  async walkAncestors(eventId: string, options: { readonly limit?: number } = {}): Promise<AncestorWalk> {
    this.#assertOpen();
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(limit) || limit < 1) throw BatpakError.invalidArgument('limit must be a positive integer');
    return this.#m.reader.walkAncestors(eventId, limit);
  }

  /**
   * Re-reads every committed frame and checks every content hash and link; a report, not a boolean.
   * With `expect`, also whether the store extends that attestation (`report.attestation`).
   */
  async verifyChain(options: VerifyChainOptions = {}): Promise<ChainVerificationReport> {
    this.#assertOpen();
    return this.#m.verifier.verifyChain(options);
  }

  /**
   * Checks a receipt against the committed event (every field, first disagreement named) and its
   * signature against this store's keys. Never throws for a bad receipt: the verdict says why.
   */
  async verifyReceipt(receipt: AppendReceipt): Promise<ReceiptVerdict> {
    this.#assertOpen();
    return this.#m.verifier.verifyReceipt(receipt);
  }

  /**
   * A signed statement of the log as it is now: its last global sequence, event count and head hash
   * (FORMAT.md § Head attestations). The log is verified first — a store that is not intact is refused
   * (ERR_CHAIN_VERIFICATION_FAILED). Needs the signing key (ERR_SIGNING_KEY_REQUIRED); works read-only.
   */
  async attest(options: AttestOptions = {}): Promise<HeadAttestation> {
    this.#assertOpen();
    return this.#m.attest.attest(options);
  }

  /**
   * Copies a consistent committed prefix of the store into `destDir` (which must not exist) while
   * writers go on; the copy opens as a store and verifies. Crash-safe: built in `<destDir>.snapshot-partial`
   * and renamed at the end (FORMAT.md § Snapshot). Returns what it copied and, with a signing key, an
   * attestation of exactly that. The keyset (kept in the directory) is copied as it is at the end, so a
   * shredded scope stays shredded.
   */
  async snapshot(destDir: string, options: SnapshotOptions = {}): Promise<SnapshotResult> {
    this.#assertOpen();
    return this.#m.attest.snapshot(destDir, options);
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
    return this.#maintenance.exclusive(() => this.#m.projector.invalidating((removeFiles) =>
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
          touched: removeFiles,
        },
        strategy,
        options.signal,
        options.onProgress,
      ),
    ));
  }

  // Projections (store/project.ts) -----------------------------------------------------------

  /**
   * The entity's events folded by `projection`: 'consistent' (default) covers every event committed before
   * the call, `{ maxLagMs }` may serve a cached state that old. A damaged frame fails, typed (README § Projections).
   */
  async project<S>(projection: ProjectionDefinition<S>, entity: string, options?: ProjectOptions): Promise<ProjectionResult<S>> {
    this.#assertOpen();
    return this.#m.projector.project(projection, entity, checkProjectArgs(projection, entity, options));
  }

  /** The state now, then each time it changes (latest wins); ends quietly on `signal` or close. */
  watchProjection<S>(projection: ProjectionDefinition<S>, entity: string, options: { readonly signal?: AbortSignal } = {}): AsyncIterable<ProjectionResult<S>> {
    this.#assertOpen();
    return this.#m.projector.watch(projection, entity, options.signal);
  }

  /** The header of an entity's latest committed event (from the index, no disk read), if any. */
  head(entity: string): EventHeader | undefined {
    this.#assertOpen();
    if (typeof entity !== 'string') throw BatpakError.invalidArgument('entity must be a string');
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
    if (typeof after !== 'bigint' || after < 0n) throw BatpakError.invalidArgument('after must be a non-negative bigint');
    return this.#m.waiters.wait(after, this.#index.lastGlobalSequence(), options.signal);
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  /** Flushes and fsyncs everything accepted so far (a no-op cost under sync 'always'). */
  async sync(): Promise<void> {
    this.#assertWritable();
    await this.#m.pipeline!.idle();
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

  /** Waits for in-flight appends, syncs, writes the checkpoint, closes files and releases the lock. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= closeStore({
      opts: this.#opts,
      index: this.#index,
      segments: this.#segments,
      removed: this.#removed,
      writer: this.#writer,
      lock: this.#lock,
      modules: this.#m,
      compactions: () => this.#compactionEntries.length,
    });
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw BatpakError.storeClosed('the store is closed');
  }

  #assertWritable(): void {
    this.#assertOpen();
    if (this.#opts.readOnly) throw new BatpakError('ERR_READ_ONLY', 'the store was opened read-only');
  }
}

/** An append's expectedSequence as the pipeline compares it (undefined: no expectation). */
function expectedOf(opts: AppendOptions): number | undefined {
  return opts.expectedSequence === undefined ? undefined : Number(opts.expectedSequence);
}
