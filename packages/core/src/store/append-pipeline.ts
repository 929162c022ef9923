// The append path as one object: drafts queue in a batching queue, and each commit group goes through
// named steps — sequence and link → seal → encode frames (prepared while the previous group is being
// written) → key fence → write and fsync → publish → settle.
// Invariant: an append is acknowledged only after its group is on disk (fsynced under sync 'always') and
// in the index; a group that fails before publishing is rejected whole — none of its events is indexed or acknowledged.

import { BatpakError, ioError } from '../errors.js';
import type { IndexEntry } from '../event-index/entry.js';
import type { EventIndex } from '../event-index/event-index.js';
import type { Keyset } from '../keyset/keyset.js';
import type { KeyStore } from '../keyset/keystore.js';
import { sealDraftUnhashed } from '../keyset/seal.js';
import { hashSealed } from './sealed-hashes.js';
import { sealedProof, type ReceiptSigner, type SignedGroup } from '../receipt/sign.js';
import type { AppendHint } from '../fs/fs.js';
import type { SegmentSet } from '../segment/set.js';
import type { SegmentWriter } from '../segment/writer.js';
import type { AppendReceipt, CommitStats } from '../types.js';
import { estimatedBytes, FRAME_OVERHEAD_ESTIMATE, IndexedEvent, type EventDraft, type ImportDraft, type Intent, type SequencedEvent, type Settle } from './append-intent.js';
import type { Admission } from './admission.js';
import { performance } from 'node:perf_hooks';
import { BatchingQueue, PrecedingGroupFailed } from './batching-queue.js';
import { CommitStatistics } from './commit-stats.js';
import { isTraced, traced, type AppendTraceContext, type CommitTraceContext } from './diagnostics.js';
import { encodeGroup, type EncodedGroup } from './encode-group.js';
import { sealGroup } from './seal-group.js';
import type { WarningSink } from './warnings.js';
import { SealedIdResolver, type SealedIds } from './sealed-ids.js';
import { sequenceGroup, settleReplay, type AcceptedIntent, type RefusedIntent, type SequencedGroup } from './sequence-group.js';
import { baseReceipt } from './views.js';

/**
 * How long writers awaiting their receipts may keep the event loop from turning with groups written alone: each such
 * group lands in a microtask, so their next appends follow without a turn (no timer, no socket is served meanwhile).
 * Past it, the next group is not alone and goes through the thread pool, whose completion is a turn: a pool round
 * trip (~0.1 ms) per budget. Groups of appends that arrived on their own are never alone (NOT_ALONE), small or not.
 */
const CHAIN_BUDGET_MS = 10;
const ALONE: AppendHint = Object.freeze({ alone: true });
/** Every other group: appends may arrive while it is written, so the Fs keeps it off the calling thread. */
const NOT_ALONE: AppendHint = Object.freeze({ alone: false });

const notAlone = (): AppendHint => NOT_ALONE;

/** Largest number of bytes one commit group writes; bigger queues split into several groups. */
export const MAX_GROUP_BYTES = 8 * 1024 * 1024;

/** The named parts an append pipeline is built from. */
export interface AppendParts {
  /** The store directory (named in trace contexts). */
  readonly dir: string;
  /** The event index: entity heads to link against, and where a landed group is published. */
  readonly index: EventIndex;
  /** Payload keys (with payload encryption): drafts are sealed under them, minted keys fenced before writes. */
  readonly keyset: Keyset | undefined;
  readonly keyStore: KeyStore | undefined;
  /** Signs each group (a signed store); undefined in a keyless store. */
  readonly signer: ReceiptSigner | undefined;
  readonly signingDowngradeAllowed: boolean;
  /** Appends groups to the active segment, fsyncs, rotates. */
  readonly writer: SegmentWriter;
  /** The readable segments: their committed ends move as groups land. */
  readonly segments: SegmentSet;
  /** The store clock (Unix ms). */
  readonly now: () => number;
  readonly onWarning: WarningSink;
  /** An idempotent repeat of a committed event: its original receipt, or ERR_IDEMPOTENCY_CONFLICT. */
  readonly replay: (entry: IndexEntry, draft: EventDraft) => Promise<AppendReceipt>;
  /** Called after each group lands (its events are readable): wakes waitForSequence callers. */
  readonly landed: () => void;
  /** Bounds the bytes of appends accepted and not yet settled (maxQueuedBytes). */
  readonly admission: Admission;
  /** The index's sealed tier, when it has one: ids an intent names are looked up there before it is sequenced. */
  readonly sealed?: SealedIds | undefined;
  /** How long writers awaiting their receipts may keep the event loop from turning (default CHAIN_BUDGET_MS). */
  readonly chainBudgetMs?: number;
}

/** One commit group on its way through the pipeline: prepared (steps 1–3), then written, then landed or failed. */
interface CommitGroup {
  readonly sequenced: SequencedGroup;
  readonly signed: SignedGroup | undefined;
  readonly encoded: EncodedGroup;
  readonly sample: CommitTraceContext;
  /** Refusals not yet settled: they read the in-flight group's state, so they wait until it has landed. */
  refusals: readonly RefusedIntent[];
  /** Some of its intents arrived from outside a landing's turn (see #chained): its write keeps the thread pool. */
  readonly arrived: boolean;
  /** Where the group's first frame landed, once written. */
  at: { segmentId: number; offset: number } | undefined;
  /** Its index entries and receipts, built while its write is in flight (entries placed once it lands). */
  built: BuiltGroup | undefined;
}

/**
 * A group's index entries (offsets counted from the group's first byte, segment unknown) and its callers'
 * receipts, which name no place on disk. Built before the group lands; published and handed out only after.
 */
interface BuiltGroup {
  readonly entries: IndexedEvent[];
  readonly receipts: AppendReceipt[][];
}

function settleRefusals(refused: readonly RefusedIntent[]): void {
  for (const r of refused) r.intent.settle.reject(r.error);
}

/** A group sequenced after one that failed fails with that failure's code, saying so. */
function precedingFailure(error: PrecedingGroupFailed): BatpakError {
  const cause = ioError(error.cause, 'append failed');
  return new BatpakError(cause.code, `append failed: ${error.message}`, { cause, details: cause.details });
}

export class AppendPipeline {
  readonly #parts: AppendParts;
  readonly #queue: BatchingQueue<Intent, CommitGroup>;
  readonly #stats = new CommitStatistics();
  readonly #ids: SealedIdResolver;
  #nextGlobal: number;
  #lastCommittedAt: number;
  /**
   * Set while the turn of the event loop in which a group landed lasts (cleared by a setImmediate): an append
   * submitted then is its callers' next step (a closed loop of writers awaiting their receipts), not a new arrival.
   */
  #chained = false;
  #chainEnd: (() => void) | undefined;
  /** When the current run of such turns began (performance.now()): the event loop has not turned since. */
  #chainSince = 0;
  /** An append was submitted outside such a turn since the last group was prepared from the whole queue. */
  #arrived = false;

  constructor(parts: AppendParts, counters: { readonly nextGlobal: number; readonly lastCommittedAt: number }) {
    this.#parts = parts;
    this.#nextGlobal = counters.nextGlobal;
    this.#lastCommittedAt = counters.lastCommittedAt;
    this.#queue = new BatchingQueue<Intent, CommitGroup>(
      {
        prepare: (intents, inFlight) => this.#prepare(intents, inFlight),
        write: (group) => this.#write(group),
        land: (group) => this.#land(group),
        fail: (group, error) => this.#fail(group, error),
        reject: (intent, error) => intent.settle.reject(error),
      },
      MAX_GROUP_BYTES,
    );
    this.#ids = new SealedIdResolver(parts.index, parts.sealed, () => this.#queue.kick());
  }

  /** The latest commit time written (the floor the next group's times start from). */
  get lastCommittedAt(): number {
    return this.#lastCommittedAt;
  }

  /** Histograms of the commit groups written so far (Store.stats().commits). */
  commitStats(): CommitStats {
    return this.#stats.snapshot();
  }

  /** Resolves when every append submitted so far has been written (or failed). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** One user event: sealed now (so a shred after this call cannot reach it), then queued. */
  appendOne(draft: EventDraft, expected: number | undefined, signal?: AbortSignal): Promise<AppendReceipt> {
    this.#sealPayload(draft);
    // Untraced (the usual case), no context closures or draft list are made: this runs once per event.
    if (!isTraced('append')) return this.submitOne(draft, expected, signal);
    return this.#traced('append', [draft], () => this.submitOne(draft, expected, signal));
  }

  /** One event queued as it is: the store's own system events, which are never sealed. */
  submitOne(draft: EventDraft, expected: number | undefined, signal?: AbortSignal): Promise<AppendReceipt> {
    const bytes = draft.payload.length + FRAME_OVERHEAD_ESTIMATE;
    // Admitted at once (the usual case): queued in this turn without the intent-making closure of #enqueue.
    if (this.#parts.admission.tryAdmit(bytes)) {
      return new Promise<AppendReceipt>((resolve, reject) => this.#submit({ type: 'single', draft, expected, settle: this.#settle1(bytes, resolve, reject), queuedAt: performance.now() }, bytes));
    }
    return this.#enqueue(bytes, signal, (settle, queuedAt) => ({ type: 'single', draft, expected, settle, queuedAt }));
  }

  /** Several events committed atomically (one group). */
  appendBatch(drafts: readonly EventDraft[], signal?: AbortSignal): Promise<AppendReceipt[]> {
    for (const d of drafts) this.#sealPayload(d);
    const enqueue = () => this.#enqueue(estimatedBytes(drafts), signal, (settle: Settle<AppendReceipt[]>, queuedAt) => ({ type: 'batch', drafts, settle, queuedAt }));
    return isTraced('append') ? this.#traced('appendBatch', drafts, enqueue) : enqueue();
  }

  /** Imported events, identity kept, committed atomically (never sealed: that would change their hashes). */
  importEvents(items: readonly ImportDraft[]): Promise<AppendReceipt[]> {
    const drafts = items.map((it) => it.draft);
    return this.#traced('importEvents', drafts, () => this.#enqueue(estimatedBytes(drafts), undefined, (settle, queuedAt) => ({ type: 'import', items, settle, queuedAt })));
  }

  /**
   * Queues an intent once admission has room for its bytes (at once, in this turn, when it has: concurrent
   * appends still share a group); its bytes are released when it settles.
   */
  #enqueue<T>(bytes: number, signal: AbortSignal | undefined, make: (settle: Settle<T>, queuedAt: number) => Intent): Promise<T> {
    const submit = () => new Promise<T>((resolve, reject) => this.#submit(make(this.#settle1(bytes, resolve, reject), performance.now()), bytes));
    if (this.#parts.admission.tryAdmit(bytes)) return submit();
    return this.#parts.admission.wait(bytes, signal).then(submit);
  }

  /** An intent's settle: its admitted `bytes` are released once, when it settles either way. */
  #settle1<T>(bytes: number, resolve: (v: T) => void, reject: (e: unknown) => void): Settle<T> {
    const admission = this.#parts.admission;
    let settled = false;
    return {
      resolve: (v) => {
        if (!settled) admission.release(bytes);
        settled = true;
        resolve(v);
      },
      reject: (e) => {
        if (!settled) admission.release(bytes);
        settled = true;
        reject(e);
      },
    };
  }

  #submit(intent: Intent, bytes: number): void {
    // Its ids' lookups in the sealed tier start now; it keeps its place in the queue meanwhile.
    this.#ids.start(intent);
    if (!this.#chained) this.#arrived = true;
    this.#queue.submit(intent, bytes);
  }

  /** Traces a user append on batpak:append (a no-op without a subscriber). */
  #traced<T>(operation: AppendTraceContext['operation'], drafts: readonly EventDraft[], run: () => Promise<T>): Promise<T> {
    const context = (): AppendTraceContext => ({
      operation,
      store: this.#parts.dir,
      events: drafts.map((d) => ({ entity: d.entity, scope: d.scope, kind: d.kind, eventId: d.eventId })),
    });
    return traced('append', context, run);
  }

  /** Seals now; the ciphertext's content hash waits for its group (#prepare, hashSealed), hashed with the group's others. */
  #sealPayload(draft: EventDraft): void {
    if (this.#parts.keyset !== undefined) sealDraftUnhashed(this.#parts.keyset, draft);
  }

  /**
   * Steps 1–3, synchronous CPU work: sequence and link (against committed state and the group in flight,
   * as if it had landed), seal, encode. Runs while the previous group's write and fsync are in flight.
   */
  #prepare(queued: readonly Intent[], inFlight: CommitGroup | undefined): { group: CommitGroup; taken: number } {
    const p = this.#parts;
    // Only intents whose ids were looked up under the current epoch are sequenced; the first that was not
    // (new, or a seal moved entries since) ends the group and waits for its lookups (which kick the queue).
    let ready = 0;
    while (ready < queued.length && this.#ids.isCurrent(queued[ready]!)) ready++;
    if (ready < queued.length) this.#ids.start(queued[ready]!);
    while (ready < queued.length && this.#ids.isCurrent(queued[ready]!)) ready++;
    if (ready === 0) return { group: undefined as unknown as CommitGroup, taken: 0 };
    const intents = queued.slice(0, ready);
    // Sealed payloads get their content hashes before sequencing reads any (a chain link is the previous event's hash).
    if (p.keyset !== undefined) hashSealed(intents);
    const base = inFlight?.sequenced;
    // 1. Sequence and link (idempotent replays of committed keys settle here; refusals when the group is sure to be written).
    let sequenced = sequenceGroup(
      {
        index: p.index,
        committed: (intent, eventId) => this.#ids.committed(intent, eventId),
        failure: (intent) => this.#ids.failure(intent),
        nextGlobal: base?.nextGlobal ?? this.#nextGlobal,
        lastCommittedAt: base?.lastCommittedAt ?? this.#lastCommittedAt,
        now: p.now(),
        replay: p.replay,
        inFlight: base,
      },
      intents,
    );
    const mine = intents.slice(0, sequenced.taken);
    const sample: CommitTraceContext = {
      store: p.dir,
      intents: mine.length,
      queueDepth: this.#queue.depth,
      queueWaitMs: this.#stats.waited(mine),
      events: 0,
      bytes: 0,
      writeMs: 0,
      fsyncMs: 0,
    };
    // The group's events in log order, listed once for sealing and encoding.
    let events = sequenced.accepted.length === 1 ? sequenced.accepted[0]!.events : sequenced.accepted.flatMap((a) => a.events);
    // 2. Seal: one signature over the group's covers and header digest.
    const signed = this.#seal(sequenced, events);
    if (sequenced.accepted.length === 0) events = [];
    if (sequenced.accepted.length === 0 && sequenced.heads.size > 0) {
      // The signer refused the group: it lands nothing, so the group behind it must not build on it.
      sequenced = { ...sequenced, heads: new Map(), ids: new Set(), nextGlobal: base?.nextGlobal ?? this.#nextGlobal, lastCommittedAt: base?.lastCommittedAt ?? this.#lastCommittedAt };
    }
    // 3. Encode the frames.
    const encoded = encodeGroup(events, signed);
    sample.events = encoded.lengths.length;
    sample.bytes = encoded.bytes;
    const group: CommitGroup = { sequenced, signed, encoded, sample, refusals: sequenced.refused, arrived: this.#arrived, at: undefined, built: undefined };
    if (sequenced.taken === queued.length) this.#arrived = false;
    // Refusals read the in-flight group's state: they wait until it has landed (a failure fails them too).
    if (inFlight === undefined) {
      settleRefusals(group.refusals);
      group.refusals = [];
    }
    return { group, taken: sequenced.taken };
  }

  /** Steps 4–5, traced on batpak:commit: the key fence, then write and fsync. Called once every earlier group has landed. */
  #write(group: CommitGroup): Promise<void> {
    return traced('commit', () => group.sample, () => this.#writeGroup(group));
  }

  async #writeGroup(group: CommitGroup): Promise<void> {
    const p = this.#parts;
    settleRefusals(group.refusals);
    group.refusals = [];
    const { encoded, sample } = group;
    // Nothing to write (every intent was refused, replayed or waits on a key): only retries settle, at landing.
    if (encoded.chunks.length === 0) return;
    try {
      // 4. The key fence (INV-KEY-FENCE): a minted key is durable before any ciphertext under it is
      //    written, let alone acknowledged; a failed flush leaves the keyset dirty for the next group.
      if (p.keyset?.dirty === true) await p.keyset.flush(p.keyStore!);
      // 5. Write and fsync (the writer cuts a failed group back off the file). The write is issued when writeGroup
      //    returns (unless it rotates first): the entries and receipts are built while it is in flight, on a thread
      //    that would otherwise wait. Nothing built is published or handed out before the write has succeeded.
      //    A group of writers awaiting their receipts may be written alone, on the calling thread (#hint).
      const written = p.writer.writeGroup(encoded.chunks, p.now(), sample, group.arrived ? notAlone : this.#hint);
      // A microtask later: the queue starts this write just before it lands the group ahead, whose callers get
      // their receipts first.
      await Promise.resolve();
      group.built = this.#buildOrLater(group);
      group.at = await written;
    } catch (error) {
      sample.error = ioError(error, 'append failed');
      throw sample.error;
    }
  }

  /** Steps 6–7 of a written group: publish to the index, then settle. */
  #land(group: CommitGroup): void {
    const { sequenced, encoded, signed, at } = group;
    this.#stats.record(group.sample);
    if (at === undefined) {
      this.#settleRetries(sequenced);
      return;
    }
    // 6. Publish to the index and move the committed end and counters.
    const receipts = this.#publish(sequenced, group.built ?? this.#build(sequenced, encoded, signed), encoded, at);
    // 7. Settle: callers get their receipts, waiters wake, retries of keys in this group are answered.
    this.#settle(sequenced, receipts);
  }

  /** A group that will never be written: every intent still waiting on it is rejected. */
  #fail(group: CommitGroup, error: unknown): void {
    const err =
      error instanceof PrecedingGroupFailed
        ? precedingFailure(error)
        : ioError(error, 'append failed');
    group.sample.error ??= err;
    const s = group.sequenced;
    for (const r of group.refusals) r.intent.settle.reject(err);
    for (const a of s.accepted) a.intent.settle.reject(err);
    for (const w of s.waiting) w.intent.settle.reject(err);
  }

  /** Step 2. A group the signer refuses (and may not downgrade) is rejected here and writes nothing. */
  #seal(group: SequencedGroup, events: readonly SequencedEvent[]): SignedGroup | undefined {
    const p = this.#parts;
    const signed = sealGroup(p, events);
    if (!(signed instanceof BatpakError)) return signed;
    for (const a of group.accepted) a.intent.settle.reject(signed);
    group.accepted = [];
    return undefined;
  }

  /** The group's entries and receipts, or undefined when building throws: it is built again at landing, where a failure fails the group. */
  #buildOrLater(group: CommitGroup): BuiltGroup | undefined {
    try {
      return this.#build(group.sequenced, group.encoded, group.signed);
    } catch {
      return undefined;
    }
  }

  /** Index entries (offsets from the group's first byte) and receipts of a group, in log order. */
  #build(group: SequencedGroup, encoded: EncodedGroup, signed: SignedGroup | undefined): BuiltGroup {
    const entries: IndexedEvent[] = new Array(encoded.lengths.length);
    const accepted = group.accepted;
    const receipts: AppendReceipt[][] = new Array(accepted.length);
    let offset = 0;
    let leaf = 0;
    // Loops, not nested maps: a closure per intent is an allocation per event in a group of single appends.
    for (let i = 0; i < accepted.length; i++) {
      const events = accepted[i]!.events;
      const mine: AppendReceipt[] = new Array(events.length);
      for (let j = 0; j < events.length; j++) {
        const length = encoded.lengths[leaf]!;
        const entry = new IndexedEvent(events[j]!, -1, offset, length);
        offset += length;
        entries[leaf] = entry;
        mine[j] =
          signed === undefined
            ? baseReceipt(entry)
            : baseReceipt(entry, { signature: signed.signature, keyId: signed.keyIdHex, groupProof: sealedProof(signed.tree, signed.headerDigest, leaf) });
        leaf++;
      }
      receipts[i] = mine;
    }
    return { entries, receipts };
  }

  /** Step 6: index entries placed at the frames' places, then the segment's committed end and the counters. */
  #publish(group: SequencedGroup, built: BuiltGroup, encoded: EncodedGroup, at: { segmentId: number; offset: number }): AppendReceipt[][] {
    const p = this.#parts;
    for (const entry of built.entries) {
      entry.segmentId = at.segmentId;
      entry.offset += at.offset;
      p.index.insert(entry);
    }
    p.segments.setSize(at.segmentId, at.offset + encoded.bytes);
    this.#nextGlobal = group.nextGlobal;
    this.#lastCommittedAt = group.lastCommittedAt;
    return built.receipts;
  }

  /** Step 7. */
  #settle(group: SequencedGroup, receipts: readonly AppendReceipt[][]): void {
    group.accepted.forEach((a: AcceptedIntent, i) => {
      const r = receipts[i]!;
      if (a.intent.type === 'single') a.intent.settle.resolve(r[0]!);
      else a.intent.settle.resolve(r);
    });
    this.#parts.landed();
    this.#markChained();
    this.#settleRetries(group);
  }

  /**
   * The hint a group's write gets when all of it was submitted in a landing's turn (writers awaiting their receipts,
   * who can do nothing meanwhile). Alone (the Fs may block the loop for its flush) when nothing is queued behind it
   * and no group before it is still to land (whose callers would wait for this flush). A group with appends that
   * arrived on their own (requests from sockets, timers) is never alone, however small, so the appends arriving
   * during its flush join the next group instead of each waiting for a blocking flush of its own.
   * Once such turns have kept the loop from turning for CHAIN_BUDGET_MS, no group is alone until the loop has turned.
   */
  readonly #hint = (): AppendHint => {
    const alone = this.#queue.depth === 0 && !this.#queue.startingBehind;
    return alone && performance.now() - this.#chainSince < (this.#parts.chainBudgetMs ?? CHAIN_BUDGET_MS) ? ALONE : NOT_ALONE;
  };

  #markChained(): void {
    this.#chained = true;
    if (this.#chainEnd !== undefined) return;
    this.#chainSince = performance.now();
    this.#chainEnd = () => {
      this.#chained = false;
      this.#chainEnd = undefined;
    };
    setImmediate(this.#chainEnd);
  }

  /** A keyed retry queued behind its own key in this group: the original's receipt, or why it failed. */
  #settleRetries(group: SequencedGroup): void {
    for (const w of group.waiting) {
      // Its group landed before this one: the entry is resident, unless a seal moved it to the sealed tier since.
      const resident = this.#parts.index.getResident(w.eventId);
      const entry = resident !== undefined ? Promise.resolve(resident) : this.#parts.index.get(w.eventId);
      settleReplay(
        w.intent.settle,
        entry.then((e) => {
          if (e === undefined) throw new BatpakError('ERR_IO', 'the append this idempotent retry waited for failed');
          return this.#parts.replay(e, w.intent.draft);
        }),
      );
    }
  }
}
