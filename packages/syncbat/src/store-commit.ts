// Store commit: when a Core's effect backend and sinks all write to one @batpak/core store, each invocation's store
// appends, status facts and receipt are collected and committed as ONE appendBatch (INV-SYNCBAT-ATOMIC-INVOCATION).
// Invariant: nothing of an invocation reaches the store before its single commit, and a failed or denied
// invocation commits its facts and receipt but none of its staged appends.

import { BatpakError, Coordinate, type AppendReceipt, type BatchItem, type EventKind, type Store } from '@batpak/core';
import { SYNCBAT_OPERATION_STATUS_KIND, SYNCBAT_RECEIPT_KIND } from './kinds.js';
import { encodeReceiptEnvelope, type ReceiptEnvelope } from './receipt/envelope.js';
import { encodeOperationStatusFact, type OperationStatusFact } from './status/fact.js';
import { OPERATION_STATUS_SCOPE, operationStatusEntity } from './status/sink.js';
import { bindingOf, type AppendCheck, type StoreBinding } from './store-binding.js';
import { EffectError } from './effect-backend.js';

/** One store, and which of the three participants write to it. */
export interface StoreCommitPlan {
  readonly store: Store;
  /** Set when appends through the Ctx are staged (the backend is a StoreEffectBackend on this store, or wraps one). */
  readonly effects: Coordinate | undefined;
  /** A wrapping backend's checks (stageAppendsThrough), run on each append before it is staged. */
  readonly checkAppend: AppendCheck | undefined;
  /** Set when receipts go into the commit (the receipt sink is a StoreReceiptSink on this store). */
  readonly receipts: Coordinate | undefined;
  readonly status: boolean;
}

/**
 * The commit plan of a Core, or undefined when its participants cannot share one commit: a custom (or subclassed)
 * receipt or status sink, or store-backed participants on different stores. A custom effect backend is allowed: its
 * effects are performed directly (perform-then-record) while facts and receipt still commit together.
 */
export function storeCommitPlan(backend: object | undefined, receiptSink: object | undefined, statusSink: object | undefined): StoreCommitPlan | undefined {
  const e = bindingOf(backend);
  const r = bindingOf(receiptSink);
  const s = bindingOf(statusSink);
  if (r === null || s === null) return undefined;
  const stores = [e, r, s].filter((b): b is StoreBinding => b !== undefined && b !== null).map((b) => b.store);
  if (stores.length === 0 || stores.some((st) => st !== stores[0])) return undefined;
  const bound = e === null || e === undefined ? undefined : e;
  return { store: stores[0]!, effects: bound?.coordinate, checkAppend: bound?.checkAppend, receipts: r?.coordinate, status: s !== undefined };
}

/** An append the handler made through the Ctx, not yet committed: what read-your-writes sees. */
export interface StagedAppend {
  readonly kind: EventKind;
  readonly payload: Uint8Array;
}

/** A staged append with the bytes it commits: `payload` is a view into `wrapped` (the msgpack bin around it). */
interface WrappedAppend extends StagedAppend {
  readonly wrapped: Uint8Array;
}

/** Store codes that refuse a batch before anything is written: the caller's items were unacceptable, not the disk. */
const REFUSALS: ReadonlySet<string> = new Set([
  'ERR_PAYLOAD_TOO_LARGE',
  'ERR_BATCH_TOO_LARGE',
  'ERR_INVALID_ARGUMENT',
  'ERR_INVALID_COORDINATE',
  'ERR_INVALID_KIND',
  'ERR_INVALID_PAYLOAD',
]);

/** Whether a failed commit was refused by the store's validation (nothing written) rather than failing to write. */
export function isCommitRefusal(err: unknown): boolean {
  return err instanceof BatpakError && REFUSALS.has(err.code);
}

/** Most appends one invocation may stage (the store commits them in one batch with the receipt). */
export const MAX_STAGED_APPENDS = 1024;

/** One invocation's pending commit. */
export class InvocationCommit {
  readonly #plan: StoreCommitPlan;
  readonly #head: BatchItem[] = [];
  readonly #appends: WrappedAppend[] = [];
  readonly #tail: BatchItem[] = [];
  #receiptAt = -1;

  constructor(plan: StoreCommitPlan) {
    this.#plan = plan;
  }

  get plan(): StoreCommitPlan {
    return this.#plan;
  }

  /** Staged appends so far, in order (frozen copies). */
  get appends(): readonly StagedAppend[] {
    return this.#appends;
  }

  /**
   * Stages a copy of `payload` (the caller's bytes, copied once, straight into the wrapped payload the commit writes).
   * Refused (ERR_LIMIT_EXCEEDED) past MAX_STAGED_APPENDS, before anything is staged.
   */
  stageAppend(kind: EventKind, given: Uint8Array): void {
    if (this.#appends.length >= MAX_STAGED_APPENDS) {
      throw new EffectError(`an invocation may stage at most ${MAX_STAGED_APPENDS} appends`, { code: 'ERR_LIMIT_EXCEEDED' });
    }
    // The store's own refusal, made here so a bad kind fails the call (as a direct append would), not the commit.
    if (kind.category === 0x0 || kind.category === 0xd) {
      throw new EffectError(`kind category 0x${kind.category.toString(16)} is reserved for the store (0x0 system, 0xD effect)`);
    }
    const wrapped = wrapBin(given);
    const payload = wrapped.subarray(wrapped.length - given.length);
    // A wrapping backend's own refusal (a payload schema, say), as its appendEvent would have made it.
    const check = this.#plan.checkAppend;
    if (check !== undefined) {
      try {
        check(kind, payload);
      } catch (err) {
        throw err instanceof EffectError ? err : new EffectError(err instanceof Error ? err.message : String(err), { cause: err });
      }
    }
    this.#appends.push(Object.freeze({ kind, payload, wrapped }));
  }

  /** Drops the staged appends: a failed or denied invocation commits none of them. */
  dropAppends(): void {
    this.#appends.length = 0;
  }

  fact(fact: OperationStatusFact): void {
    const item: BatchItem = {
      coord: new Coordinate(operationStatusEntity(fact.operation), OPERATION_STATUS_SCOPE),
      kind: SYNCBAT_OPERATION_STATUS_KIND,
      payload: encodeOperationStatusFact(fact),
      transferPayload: true,
    };
    (fact.lifecycle === 'started' ? this.#head : this.#tail).push(item);
  }

  /** Stages the receipt; `payload`, when given, is the envelope's canonical bytes (already encoded by the caller). */
  receipt(envelope: ReceiptEnvelope, payload: Uint8Array = encodeReceiptEnvelope(envelope)): void {
    this.#receiptAt = this.#tail.length;
    this.#tail.push({ coord: this.#plan.receipts!, kind: SYNCBAT_RECEIPT_KIND, payload, transferPayload: true });
  }

  /** Drops the terminal facts and receipt (to re-stage them after a refused commit); the Started fact stays. */
  resetTail(): void {
    this.#tail.length = 0;
    this.#receiptAt = -1;
  }

  /**
   * One appendBatch: Started fact, the staged appends (raw, payload wrapped like StoreEffectBackend), terminal records.
   * Resolves with `settled` of the receipt's append receipt (undefined without a receipt), or with `failed` of the
   * store's error (either may throw: the promise then rejects with that).
   */
  commit<R>(settled: (receipt: AppendReceipt | undefined) => R, failed: (err: unknown) => R): Promise<R> {
    return new Promise<R>((resolve, reject) =>
      this.commitThen(
        (receipt) => {
          try {
            resolve(settled(receipt));
          } catch (err) {
            reject(err);
          }
        },
        (error) => {
          try {
            resolve(failed(error));
          } catch (err) {
            reject(err);
          }
        },
      ),
    );
  }

  /**
   * The same appendBatch without a promise of its own: exactly one of `settled` (with the receipt's append receipt,
   * or undefined) and `failed` (with the store's error) is called, once, from the commit's settlement (at once when
   * there is nothing to commit). Neither may throw. A completed dispatch settles from here, so between the store's
   * settlement and the dispatch's there is no promise (under the checkout scope's async hooks each costs a hook).
   */
  commitThen(settled: (receipt: AppendReceipt | undefined) => void, failed: (err: unknown) => void): void {
    const head = this.#head;
    const appends = this.#appends;
    const tail = this.#tail;
    const items: BatchItem[] = [];
    for (let i = 0; i < head.length; i++) items.push(head[i]!);
    const coord = this.#plan.effects!;
    for (let i = 0; i < appends.length; i++) items.push({ coord, kind: appends[i]!.kind, payload: appends[i]!.wrapped, transferPayload: true });
    for (let i = 0; i < tail.length; i++) items.push(tail[i]!);
    if (items.length === 0) {
      settled(undefined);
      return;
    }
    submitInTurn(this.#plan.store, { items, pick: this.#receiptAt < 0 ? -1 : head.length + appends.length + this.#receiptAt, settled, failed });
  }
}

/** `encodeCanonical(cbin(payload))` without the value tree: a msgpack bin8/16/32 header, then the bytes. */
function wrapBin(payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const head = n <= 0xff ? 2 : n <= 0xffff ? 3 : 5;
  const out = new Uint8Array(head + n);
  if (head === 2) {
    out[0] = 0xc4;
    out[1] = n;
  } else if (head === 3) {
    out[0] = 0xc5;
    out[1] = n >>> 8;
    out[2] = n & 0xff;
  } else {
    out[0] = 0xc6;
    out[1] = n >>> 24;
    out[2] = (n >>> 16) & 0xff;
    out[3] = (n >>> 8) & 0xff;
    out[4] = n & 0xff;
  }
  out.set(payload, head);
  return out;
}

interface PendingCommit {
  readonly items: BatchItem[];
  /** Index in `items` of the receipt whose append receipt the commit resolves with; -1 for none. */
  readonly pick: number;
  /** Exactly one of the two is called, once (commitThen's contract: neither throws). */
  readonly settled: (receipt: AppendReceipt | undefined) => void;
  readonly failed: (err: unknown) => void;
}

/**
 * Calls `p.settled`. A throw breaks commitThen's contract: it is rethrown on its own (an uncaught exception, as a bug
 * should be), so it cannot leave the other invocations of a merged group unsettled.
 */
function succeed(p: PendingCommit, receipt: AppendReceipt | undefined): void {
  try {
    p.settled(receipt);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

/** Calls `p.failed` (its throw rethrown on its own, as succeed's). */
function fail(p: PendingCommit, error: unknown): void {
  try {
    p.failed(error);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

/** Per store: the invocations that reached their commit during the current event-loop turn (submitted at its end). */
const turns = new WeakMap<Store, PendingCommit[]>();

/**
 * Per store: the invocations that reached their commit in the microtasks of a turn in which one of this store's commits
 * landed (submitted by the landing's own process.nextTick, once those microtasks have run).
 */
const ticks = new WeakMap<Store, PendingCommit[]>();

/**
 * Stores one of whose commits is landing: set when the commit settles, cleared once the microtasks queued meanwhile
 * have run (a process.nextTick), so only what runs on from that settlement sees it, not a later callback of the turn.
 */
const landing = new WeakSet<Store>();

/**
 * Most events one merged batch carries: under the store's default `batchMaxEvents` (4096); a store opened with a
 * lower limit refuses the merged batch, and its invocations are then committed one batch each.
 */
export const MAX_MERGED_EVENTS = 4096;

/**
 * Notes that a commit of `store` landed: the invocations its callers start from its settlement are not arrivals. The
 * one nextTick that ends the landing also submits them (one tick per landing, not a second one per batch): ticks queued
 * during the microtasks run after all of them, so every invocation that runs on from the settlement has joined by then.
 */
function landed(store: Store): void {
  if (landing.has(store)) return;
  landing.add(store);
  process.nextTick(() => {
    landing.delete(store);
    const batch = ticks.get(store);
    if (batch === undefined) return;
    ticks.delete(store);
    submitSplit(store, batch);
  });
}

/**
 * Submits the invocations that reach their commit in the current event-loop turn at the end of that turn, as one
 * appendBatch (up to MAX_MERGED_EVENTS events): the store's group commit then takes them in one group, and one batch
 * costs the store far less than one per invocation. A merged batch is atomic as a whole, so each invocation in it
 * still commits all or nothing (INV-SYNCBAT-ATOMIC-INVOCATION). Without the turn, invocations started by different I/O
 * callbacks (one per socket) reach the store one callback apart: the first opens a group of one and the rest wait a
 * whole fsync for the next.
 *
 * Invocations that reach their commit in the microtasks of one of the store's commits settling (callers that awaited
 * their receipts and dispatch again) are submitted as soon as those microtasks have run (process.nextTick), still in
 * the landing's turn of the event loop. The store counts appends submitted in a landing's turn as its writers' next
 * steps, not as arrivals, and may write such a group on the calling thread (AppendHint.alone); submitted by a
 * setImmediate they would arrive in the next turn, and a single dispatch in flight would pay a thread-pool round trip
 * per commit. Invocations started from I/O callbacks or timers (requests from sockets) still wait for the turn's end.
 */
function submitInTurn(store: Store, commit: PendingCommit): void {
  // Joining a batch already waiting keeps the invocations' order (a landing's batch opens only when none waits).
  let pending = ticks.get(store) ?? turns.get(store);
  if (pending === undefined) {
    const batch: PendingCommit[] = (pending = []);
    if (landing.has(store)) {
      // Submitted by the landing's nextTick (see landed).
      ticks.set(store, batch);
    } else {
      turns.set(store, batch);
      setImmediate(() => {
        turns.delete(store);
        submitSplit(store, batch);
      });
    }
  }
  pending.push(commit);
}

/** The pending invocations as merged batches of up to MAX_MERGED_EVENTS events each. */
function submitSplit(store: Store, batch: readonly PendingCommit[]): void {
  let from = 0;
  let events = 0;
  for (let i = 0; i < batch.length; i++) {
    const n = batch[i]!.items.length;
    if (i > from && events + n > MAX_MERGED_EVENTS) {
      submitMerged(store, batch.slice(from, i));
      from = i;
      events = 0;
    }
    events += n;
  }
  submitMerged(store, from === 0 ? batch : batch.slice(from));
}

/** One appendBatch for `group`; when the store refuses it (nothing written), each invocation is retried alone. */
function submitMerged(store: Store, group: readonly PendingCommit[]): void {
  if (group.length === 1) {
    submitOne(store, group[0]!);
    return;
  }
  const items: BatchItem[] = [];
  for (const p of group) for (const item of p.items) items.push(item);
  const settle = (receipts: AppendReceipt[]): void => {
    landed(store);
    let at = 0;
    for (const p of group) {
      succeed(p, p.pick < 0 ? undefined : receipts[at + p.pick]);
      at += p.items.length;
    }
  };
  // A refusal names one invocation's item (or the merged size): the others must not fail for it.
  const refused = (err: unknown): void => {
    if (isCommitRefusal(err)) for (const p of group) submitOne(store, p);
    else for (const p of group) fail(p, err);
  };
  try {
    store.appendBatch(items).then(settle, refused);
  } catch (err) {
    refused(err);
  }
}

function submitOne(store: Store, p: PendingCommit): void {
  try {
    store.appendBatch(p.items).then(
      (receipts) => {
        landed(store);
        succeed(p, p.pick < 0 ? undefined : receipts[p.pick]);
      },
      (err: unknown) => fail(p, err),
    );
  } catch (err) {
    fail(p, err);
  }
}
