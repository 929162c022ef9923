// The append path as one object: drafts queue in a batching queue, and each commit group goes through
// named steps — sequence and link → seal → encode frames → key fence → write and fsync → publish → settle.
// Invariant: an append is acknowledged only after its group is on disk (fsynced under sync 'always') and
// in the index; a group that fails before publishing is rejected whole — none of its events is indexed or acknowledged.

import { BatpakError, ioError } from '../errors.js';
import type { IndexEntry } from '../event-index/entry.js';
import type { MemoryIndex } from '../event-index/memory.js';
import type { Keyset } from '../keyset/keyset.js';
import type { KeyStore } from '../keyset/keystore.js';
import { sealDraft } from '../keyset/seal.js';
import { sealedProof, type ReceiptSigner, type SignedGroup } from '../receipt/sign.js';
import type { SegmentSet } from '../segment/set.js';
import type { SegmentWriter } from '../segment/writer.js';
import type { AppendReceipt, CommitStats } from '../types.js';
import { estimatedBytes, frameHeaderOf, type EventDraft, type ImportDraft, type Intent, type Settle } from './append-intent.js';
import type { Admission } from './admission.js';
import { BatchingQueue } from './batching-queue.js';
import { CommitStatistics } from './commit-stats.js';
import { traced, type AppendTraceContext, type CommitTraceContext } from './diagnostics.js';
import { encodeGroup, type EncodedGroup } from './encode-group.js';
import { sealGroup } from './seal-group.js';
import type { WarningSink } from './warnings.js';
import { sequenceGroup, settleReplay, type AcceptedIntent, type SequencedGroup } from './sequence-group.js';
import { baseReceipt } from './views.js';

/** Largest number of bytes one commit group writes; bigger queues split into several groups. */
export const MAX_GROUP_BYTES = 8 * 1024 * 1024;

/** The named parts an append pipeline is built from. */
export interface AppendParts {
  /** The store directory (named in trace contexts). */
  readonly dir: string;
  /** The event index: entity heads to link against, and where a landed group is published. */
  readonly index: MemoryIndex;
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
}

export class AppendPipeline {
  readonly #parts: AppendParts;
  readonly #queue: BatchingQueue<Intent>;
  readonly #stats = new CommitStatistics();
  #nextGlobal: number;
  #lastCommittedAt: number;

  constructor(parts: AppendParts, counters: { readonly nextGlobal: number; readonly lastCommittedAt: number }) {
    this.#parts = parts;
    this.#nextGlobal = counters.nextGlobal;
    this.#lastCommittedAt = counters.lastCommittedAt;
    this.#queue = new BatchingQueue<Intent>(
      { run: (intents) => this.#commitGroup(intents), reject: (intent, error) => intent.settle.reject(error) },
      MAX_GROUP_BYTES,
    );
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
    return this.#traced('append', [draft], () => this.submitOne(draft, expected, signal));
  }

  /** One event queued as it is: the store's own system events, which are never sealed. */
  submitOne(draft: EventDraft, expected: number | undefined, signal?: AbortSignal): Promise<AppendReceipt> {
    return this.#enqueue(estimatedBytes([draft]), signal, (settle) => ({ type: 'single', draft, expected, settle }));
  }

  /** Several events committed atomically (one group). */
  appendBatch(drafts: readonly EventDraft[], signal?: AbortSignal): Promise<AppendReceipt[]> {
    for (const d of drafts) this.#sealPayload(d);
    return this.#traced('appendBatch', drafts, () => this.#enqueue(estimatedBytes(drafts), signal, (settle) => ({ type: 'batch', drafts, settle })));
  }

  /** Imported events, identity kept, committed atomically (never sealed: that would change their hashes). */
  importEvents(items: readonly ImportDraft[]): Promise<AppendReceipt[]> {
    const drafts = items.map((it) => it.draft);
    return this.#traced('importEvents', drafts, () => this.#enqueue(estimatedBytes(drafts), undefined, (settle) => ({ type: 'import', items, settle })));
  }

  /**
   * Queues an intent once admission has room for its bytes (at once, in this turn, when it has: concurrent
   * appends still share a group); its bytes are released when it settles.
   */
  #enqueue<T>(bytes: number, signal: AbortSignal | undefined, make: (settle: Settle<T>) => Intent): Promise<T> {
    const submit = () =>
      new Promise<T>((resolve, reject) => {
        let settled = false;
        const release = () => {
          if (!settled) this.#parts.admission.release(bytes);
          settled = true;
        };
        const settle: Settle<T> = { resolve: (v) => (release(), resolve(v)), reject: (e) => (release(), reject(e)) };
        const intent = make(settle);
        this.#stats.queued(intent);
        this.#queue.submit(intent, bytes);
      });
    if (this.#parts.admission.tryAdmit(bytes)) return submit();
    return this.#parts.admission.wait(bytes, signal).then(submit);
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

  #sealPayload(draft: EventDraft): void {
    if (this.#parts.keyset !== undefined) sealDraft(this.#parts.keyset, draft);
  }

  /** One commit group, measured (Store.stats().commits) and traced on batpak:commit. */
  async #commitGroup(intents: readonly Intent[]): Promise<void> {
    const sample: CommitTraceContext = {
      store: this.#parts.dir,
      intents: intents.length,
      queueDepth: this.#queue.depth,
      queueWaitMs: this.#stats.waited(intents),
      events: 0,
      bytes: 0,
      writeMs: 0,
      fsyncMs: 0,
    };
    const run = () => this.#writeGroup(intents, sample);
    await traced('commit', () => sample, run);
    this.#stats.record(sample);
  }

  /** One commit group, top to bottom. Every intent of `intents` is settled when this returns. */
  async #writeGroup(intents: readonly Intent[], sample: CommitTraceContext): Promise<void> {
    const p = this.#parts;
    // 1. Sequence and link against committed state (refusals and idempotent replays settle here).
    const group = sequenceGroup({ index: p.index, nextGlobal: this.#nextGlobal, lastCommittedAt: this.#lastCommittedAt, now: p.now(), replay: p.replay }, intents);
    // 2. Seal: one signature over the group's covers and header digest.
    const signed = this.#seal(group);
    // 3. Encode the frames.
    const encoded = encodeGroup(group.accepted.flatMap((a) => a.events), signed);
    if (encoded.frames.length === 0) {
      // Nothing to write (every intent was refused or replayed): only retries waiting on this group settle.
      this.#settleRetries(group);
      return;
    }
    try {
      // 4. The key fence (INV-KEY-FENCE): a minted key is durable before any ciphertext under it is
      //    written, let alone acknowledged; a failed flush leaves the keyset dirty for the next group.
      if (p.keyset?.dirty === true) await p.keyset.flush(p.keyStore!);
      // 5. Write and fsync (the writer cuts a failed group back off the file).
      const at = await p.writer.writeGroup(encoded.frames, p.now(), sample);
      sample.events = encoded.eventFrames.length;
      for (const f of encoded.frames) sample.bytes += f.length;
      // 6. Publish to the index and move the committed end and counters.
      const receipts = this.#publish(group, encoded, signed, at);
      // 7. Settle: callers get their receipts, waiters wake, retries of keys in this group are answered.
      this.#settle(group, receipts);
    } catch (error) {
      const err = ioError(error, 'append failed');
      sample.error = err;
      for (const a of group.accepted) a.intent.settle.reject(err);
      for (const w of group.waiting) w.intent.settle.reject(err);
    }
  }

  /** Step 2. A group the signer refuses (and may not downgrade) is rejected here and writes nothing. */
  #seal(group: SequencedGroup): SignedGroup | undefined {
    const p = this.#parts;
    const signed = sealGroup(p, group.accepted.flatMap((a) => a.events));
    if (!(signed instanceof BatpakError)) return signed;
    for (const a of group.accepted) a.intent.settle.reject(signed);
    group.accepted = [];
    return undefined;
  }

  /** Step 6: index entries at the frames' places, then the segment's committed end and the counters. */
  #publish(group: SequencedGroup, encoded: EncodedGroup, signed: SignedGroup | undefined, at: { segmentId: number; offset: number }): AppendReceipt[][] {
    const p = this.#parts;
    let offset = at.offset;
    let leaf = 0;
    const receipts = group.accepted.map((a) =>
      a.events.map((ev) => {
        const d = ev.draft;
        const length = encoded.eventFrames[leaf]!.length;
        const entry: IndexEntry = { eventId: d.eventId, idBytes: d.id, ...frameHeaderOf(ev), segmentId: at.segmentId, offset, length };
        offset += length;
        p.index.insert(entry);
        const receipt =
          signed === undefined
            ? baseReceipt(entry)
            : baseReceipt(entry, { signature: signed.signature, keyId: signed.keyIdHex, groupProof: sealedProof(signed.tree, signed.headerDigest, leaf) });
        leaf++;
        return receipt;
      }),
    );
    let end = at.offset;
    for (const f of encoded.frames) end += f.length;
    p.segments.setSize(at.segmentId, end);
    this.#nextGlobal = group.nextGlobal;
    this.#lastCommittedAt = group.lastCommittedAt;
    return receipts;
  }

  /** Step 7. */
  #settle(group: SequencedGroup, receipts: readonly AppendReceipt[][]): void {
    group.accepted.forEach((a: AcceptedIntent, i) => {
      const r = receipts[i]!;
      if (a.intent.type === 'single') a.intent.settle.resolve(r[0]!);
      else a.intent.settle.resolve(r);
    });
    this.#parts.landed();
    this.#settleRetries(group);
  }

  /** A keyed retry queued behind its own key in this group: the original's receipt, or why it failed. */
  #settleRetries(group: SequencedGroup): void {
    for (const w of group.waiting) {
      const e = this.#parts.index.get(w.eventId);
      if (e === undefined) w.intent.settle.reject(new BatpakError('ERR_IO', 'the append this idempotent retry waited for failed'));
      else settleReplay(w.intent.settle, this.#parts.replay(e, w.intent.draft));
    }
  }
}
