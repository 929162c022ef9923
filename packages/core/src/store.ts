// Store: the public API, composed of the store's modules — open (store/open.ts), append (store/append-pipeline.ts),
// read (store/read.ts), verify, attest and snapshot, shred (store/shred.ts), waiters, checkpoint, compaction.
// Invariant: Store holds the shared parts and the lifecycle; every public method checks the store is open
// (and writable, for writes) before it delegates, and close settles every waiter and in-flight append.

import type { EventDefinition } from './event.js';
import type { EventLog } from './event-log.js';
import { BatpakError } from './errors.js';
import type { FsLock } from './fs/fs.js';
import type { TieredIndex } from './event-index/tiered-index.js';
import type { EventKind } from './kind.js';
import type { Keyset } from './keyset/keyset.js';
import type { ShredResult, ShredSelector } from './keyset/scope.js';
import { GroupCache } from './receipt/original.js';
import type { ReceiptSigner } from './receipt/sign.js';
import type { ReceiptVerdict } from './receipt/verify.js';
import type { RemovedSet } from './compaction/log.js';
import { checkCompactOptions, type CompactOptions, type CompactionResult } from './compaction/options.js';
import type { SegmentSet } from './segment/set.js';
import type { SegmentWriter } from './segment/writer.js';
import type { SigningPolicyDeclaration } from './receipt/policy.js';
import type { AttestOptions, VerifyChainOptions } from './attest/options.js';
import type { HeadAttestation } from './attest/statement.js';
import type { SnapshotOptions, SnapshotResult } from './snapshot/copy.js';
import { batchDrafts, checkAppendOptions, draftExtensions, expectedOf, importDrafts, rawDraft, typedDraft, type AppendOptions, type BatchItem, type ImportEvent } from './store/append.js';
import type { StorePressure } from './store/admission.js';
import { closeStore } from './store/close.js';
import { Replica, type ReplicaOptions } from './store/replica.js';
import { replicationFrames, type ReplicationFrames } from './store/replica-frames.js';
import { CompactionState } from './store/compact.js';
import { checkConsumerOptions, listConsumers, openConsumer, type Consumer, type ConsumerInfo, type ConsumerOptions } from './store/consumer.js';
import { composeModules, type StoreModules } from './store/compose.js';
import { checkProjectArgs, type ProjectionDefinition, type ProjectOptions, type ProjectionResult } from './store/project.js';
import { openStore, type OpenedStore } from './store/open.js';
import { refuseUnverified } from './store/open-checks.js';
import type { ResolvedOptions, StoreOptions } from './store/options.js';
import { SharedExclusiveLock } from './store/rwlock.js';
import { traced } from './store/diagnostics.js';
import { declareSigningPolicy, shredScope } from './store/shred.js';
import { checkSubscribeOptions, subscribe, type SubscribeOptions } from './store/subscribe.js';
import { entityHead, statsOf } from './store/views.js';
import { checkReaction, react, type ReactionHandler } from './store/react.js';
import { walkCausation, walkLimit, type CausationWalk } from './store/causation.js';
import { rewrittenSince } from './store/index-files.js';
import type { AncestorWalk, AppendReceipt, EventHeader, ChainVerificationReport, QueryFilter, RawEvent, StoredEvent, StoreStats } from './types.js';

export type { CompactOptions, CompactionResult } from './compaction/options.js';

export class Store implements EventLog {
  readonly #opts: ResolvedOptions;
  readonly #index: TieredIndex;
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
  /** compaction.log's entries, and a compaction committed on disk that the next open must finish. */
  readonly #compactions: CompactionState;
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
    this.#compactions = new CompactionState(o.compactionEntries);
    this.#m = composeModules(o, {
      groups: this.#groups,
      maintenance: this.#maintenance,
      assertOpen: () => this.#assertOpen(),
      compactionEntries: () => this.#compactions.entries,
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

  /**
   * Opens (creating if needed) a read replica in `dir`: it appends a primary's commit groups exactly as
   * the primary wrote them (`replica.apply(frames)`, frames from the primary's `replicationFrames`),
   * refusing anything the primary's `publicKeys` did not sign (README § Replicas).
   */
  static openReplica(dir: string, options: ReplicaOptions): Promise<Replica> {
    return Replica.open(dir, options);
  }

  /** The store over what an open recovered; with chainVerification 'recompute', verified before use. */
  static async #compose(opened: OpenedStore): Promise<Store> {
    const store = new Store(opened);
    if (opened.opts.chainVerification === 'recompute') await refuseUnverified(store);
    await opened.indexFiles?.reconcile();
    return store;
  }

  // Writes (store/append.ts validates, store/append-pipeline.ts commits) --------------------------

  /** Appends one typed event; resolves with its receipt once committed (fsynced by default). */
  async append<T>(coord: BatchItem['coord'], event: EventDefinition<T>, payload: T, options?: AppendOptions): Promise<AppendReceipt> {
    this.#assertWritable();
    const opts = checkAppendOptions(options);
    if (opts.payloadVersion !== undefined) throw BatpakError.invalidArgument('payloadVersion applies to appendRaw; a typed append records its definition version');
    const draft = typedDraft({ coord, definition: event, payload, idempotencyKey: opts.idempotencyKey, limits: this.#m.delivery.limits(), extensions: draftExtensions(opts) });
    return this.#m.pipeline!.appendOne(draft, expectedOf(opts), opts.signal);
  }

  /** Appends application bytes under a user kind (payload version 0, flagged raw). */
  async appendRaw(coord: BatchItem['coord'], kind: EventKind, bytes: Uint8Array, options?: AppendOptions): Promise<AppendReceipt> {
    this.#assertWritable();
    const opts = checkAppendOptions(options);
    const draft = rawDraft({ coord, kind, bytes, idempotencyKey: opts.idempotencyKey, limits: this.#m.delivery.limits(), extensions: draftExtensions(opts), payloadVersion: opts.payloadVersion ?? 0 });
    return this.#m.pipeline!.appendOne(draft, expectedOf(opts), opts.signal);
  }

  /** Appends several events atomically: after any crash either all are visible or none. */
  async appendBatch(items: readonly BatchItem[], options: { readonly signal?: AbortSignal } = {}): Promise<AppendReceipt[]> {
    this.#assertWritable();
    const drafts = batchDrafts(items, this.#m.delivery.limits());
    return this.#m.pipeline!.appendBatch(drafts, checkAppendOptions(options).signal);
  }

  /**
   * Imports events keeping id, coordinate, kind, payload bytes and content hash (e.g. from Rust batpak), atomically;
   * a known id or a wrong hash refuses the call. New global sequences and links; not with payload encryption.
   */
  async importEvents(events: readonly ImportEvent[], options: { readonly signal?: AbortSignal } = {}): Promise<AppendReceipt[]> {
    this.#assertWritable();
    if (options.signal?.aborted === true) throw BatpakError.aborted('importEvents', options.signal.reason);
    if (this.#keyset !== undefined) {
      throw BatpakError.invalidArgument('importEvents keeps payload bytes and content hashes, so it cannot be used with payloadEncryption');
    }
    const items = importDrafts(events, this.#m.delivery.limits());
    return this.#m.pipeline!.importEvents(items);
  }

  /**
   * Destroys the scope's key durably, then appends a signed system event naming the scope (never the key).
   * Returns 'destroyed' (with that receipt), 'already-shredded' or 'never-keyed' (often a typo), and
   * `plaintextEvents`: events written before encryption, which no shred erases (README § Crypto-shredding).
   */
  async shredScope(selector: ShredSelector): Promise<ShredResult> {
    this.#assertWritable();
    return traced('shred', () => ({ store: this.dir, selector }), () => this.#m.projector.aroundShred(selector, (removeFiles) => shredScope(this.#m.system, selector, removeFiles)));
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

  // Reads (store/read.ts) and checks (store/verify.ts, store/attest-snapshot.ts) ------------------

  /**
   * The receipt of a committed event, exactly as append returned it — for a signed event, its
   * original group signature and proof, rebuilt from the seal on disk (no key needed). For a compliance
   * job or an exporter that needs receipts it did not keep.
   */
  async receipt(eventId: string): Promise<AppendReceipt> {
    this.#assertOpen();
    return this.#m.reader.originalReceipt(await this.#m.reader.entry(eventId));
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

  /**
   * The event's frame bytes as stored and, when it ends its signed commit group, that group's seal
   * frame: what a replica applies (`Replica.apply`). Ciphertext stays ciphertext; no key is involved.
   */
  async replicationFrames(eventId: string): Promise<ReplicationFrames> {
    this.#assertOpen();
    // Shared with verify/attest, exclusive for compaction: the frame cannot move while it is read.
    return this.#maintenance.shared(async () => replicationFrames(this.#segments, await this.#m.reader.entry(eventId)));
  }

  /** Events in commit order matching every given filter field. */
  async *query(filter: QueryFilter = {}): AsyncIterable<StoredEvent> {
    this.#assertOpen();
    yield* this.#m.reader.query(filter);
  }

  /** Follows prevHash links back from `eventId` (included) and reports why the walk stopped. */
  async walkAncestors(eventId: string, options: { readonly limit?: number } = {}): Promise<AncestorWalk> {
    this.#assertOpen();
    return this.#m.reader.walkAncestors(eventId, walkLimit(options));
  }

  /** Follows causationId links back from `eventId` (included) and reports why the walk stopped. */
  async walkCausation(eventId: string, options: { readonly limit?: number } = {}): Promise<CausationWalk> {
    this.#assertOpen();
    return walkCausation(this.#index, (e) => this.#m.reader.load(e), (await this.#m.reader.entry(eventId)).eventId, walkLimit(options));
  }

  /**
   * Re-reads every committed frame and checks every content hash and link; a report, not a boolean.
   * With `expect`, also whether the store extends that attestation (`report.attestation`).
   */
  async verifyChain(options: VerifyChainOptions = {}): Promise<ChainVerificationReport> {
    this.#assertOpen();
    return traced('verify', () => ({ store: this.dir, operation: 'verifyChain' as const }), () => this.#m.verifier.verifyChain(options));
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
   * Copies a consistent committed prefix into `destDir` (must not exist) while writers go on, crash-safe
   * (FORMAT.md § Snapshot); with a signing key, also an attestation of exactly that. Shredded stays shredded.
   */
  async snapshot(destDir: string, options: SnapshotOptions = {}): Promise<SnapshotResult> {
    this.#assertOpen();
    return this.#m.attest.snapshot(destDir, options);
  }

  // Compaction ------------------------------------------------------------------------------------

  /**
   * Rewrites the sealed segments into one: 'merge', 'retention' (keep(event)) or 'tombstone' (drop(event)).
   * Survivors keep their bytes, so old receipts verify; system and shredded events are kept. Appends go on.
   */
  async compact(options: CompactOptions): Promise<CompactionResult> {
    this.#assertWritable();
    const strategy = checkCompactOptions(options);
    const parts = { opts: this.#opts, index: this.#index, segments: this.#segments, keyset: this.#keyset, signer: this.#signer, removed: this.#removed, groups: this.#groups };
    // Sources: every segment below the active one once the lock is held, including any that rotated out (and maybe
    // into the sealed tier) while this waited. Each is complete: a group is published before the next one's write
    // can rotate (BatchingQueue lands a group in the same turn its successor's write starts, and a rotation awaits).
    const run = () =>
      this.#m.projector.invalidating((touched) =>
        this.#compactions.run({ ...parts, activeSegmentId: this.#writer!.active.id, touched }, strategy, options.signal, options.onProgress),
      );
    const rewritten = rewrittenSince(this.#segments);
    return this.#maintenance.exclusive(() => traced('compact', () => ({ store: this.dir, strategy: strategy.kind }), run)).finally(() => this.#m.indexFiles?.reconcile(rewritten()));
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
    return entityHead(this.#index, entity);
  }

  /** Global sequence of the latest committed event (0n for an empty store). */
  get lastSequence(): bigint {
    return BigInt(this.#index.lastGlobalSequence());
  }

  /** Resolves with the latest global sequence once one greater than `after` is committed (at once if one is). */
  waitForSequence(after: bigint, options: { readonly signal?: AbortSignal } = {}): Promise<bigint> {
    this.#assertOpen();
    if (typeof after !== 'bigint' || after < 0n) throw BatpakError.invalidArgument('after must be a non-negative bigint');
    return this.#m.waiters.wait(after, this.#index.lastGlobalSequence(), options.signal);
  }

  // Delivery (store/subscribe.ts) -----------------------------------------------------------------

  /** Committed events after `after`, then live commits: each once, in commit order; pulled; ends on signal or close. */
  subscribe(options: SubscribeOptions = {}): AsyncIterable<StoredEvent> {
    this.#assertOpen();
    return subscribe(this.#m.delivery, checkSubscribeOptions(options));
  }

  /** A durable consumer: `{ event, ack }` after its acked cursor, at-least-once, in order; one holder per name. */
  async consumer(name: string, options: ConsumerOptions = {}): Promise<Consumer> {
    this.#assertWritable();
    return openConsumer(this.#m.delivery, checkConsumerOptions(name, options));
  }

  /** Runs reaction `name` until signal or close: `tx` appends commit with its advance, once per event across crashes. */
  async react(name: string, options: ConsumerOptions, handler: ReactionHandler, run: { readonly signal?: AbortSignal } = {}): Promise<void> {
    this.#assertWritable();
    return react(this.#m.delivery, checkReaction(name, options, handler), handler, run.signal);
  }

  /** Every consumer with a cursor, with its acknowledged position and lag. */
  async consumers(): Promise<ConsumerInfo[]> {
    this.#assertOpen();
    return listConsumers(this.#m.delivery);
  }

  // Lifecycle -------------------------------------------------------------------------------------

  /** Appends accepted, not yet committed (intents, bytes), against maxQueuedBytes; and those waiting for room. */
  pressure(): StorePressure {
    this.#assertOpen();
    return this.#m.admission.pressure();
  }

  /** Flushes and fsyncs everything accepted so far (a no-op cost under sync 'always'). */
  async sync(): Promise<void> {
    this.#assertWritable();
    await this.#m.pipeline!.idle();
    await this.#writer!.sync();
  }

  stats(): StoreStats {
    this.#assertOpen();
    return statsOf(this.#index, this.#segments, this.#keyset, this.#m.pipeline?.commitStats());
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
      compactions: () => this.#compactions.entries.length,
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

