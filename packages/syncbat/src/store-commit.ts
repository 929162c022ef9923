// Store commit: when a Core's effect backend and sinks all write to one @batpak/core store, each invocation's store
// appends, status facts and receipt are collected and committed as ONE appendBatch (INV-SYNCBAT-ATOMIC-INVOCATION).
// Invariant: nothing of an invocation reaches the store before its single commit, and a failed or denied
// invocation commits its facts and receipt but none of its staged appends.

import { BatpakError, cbin, Coordinate, encodeCanonical, type AppendReceipt, type BatchItem, type EventKind, type Store } from '@batpak/core';
import { SYNCBAT_OPERATION_STATUS_KIND, SYNCBAT_RECEIPT_KIND } from './kinds.js';
import { encodeReceiptEnvelope, type ReceiptEnvelope } from './receipt/envelope.js';
import { encodeOperationStatusFact, type OperationStatusFact } from './status/fact.js';
import { OPERATION_STATUS_SCOPE, operationStatusEntity } from './status/sink.js';
import { bindingOf, type StoreBinding } from './store-binding.js';
import { EffectError } from './effect-backend.js';

/** One store, and which of the three participants write to it. */
export interface StoreCommitPlan {
  readonly store: Store;
  /** Set when appends through the Ctx are staged (the backend is a StoreEffectBackend on this store). */
  readonly effects: Coordinate | undefined;
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
  return { store: stores[0]!, effects: e === null || e === undefined ? undefined : e.coordinate, receipts: r?.coordinate, status: s !== undefined };
}

/** An append the handler made through the Ctx, not yet committed: what read-your-writes sees. */
export interface StagedAppend {
  readonly kind: EventKind;
  readonly payload: Uint8Array;
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
  readonly #appends: StagedAppend[] = [];
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

  /** Refused (ERR_LIMIT_EXCEEDED) past MAX_STAGED_APPENDS, before anything is staged. */
  stageAppend(kind: EventKind, payload: Uint8Array): void {
    if (this.#appends.length >= MAX_STAGED_APPENDS) {
      throw new EffectError(`an invocation may stage at most ${MAX_STAGED_APPENDS} appends`, { code: 'ERR_LIMIT_EXCEEDED' });
    }
    // The store's own refusal, made here so a bad kind fails the call (as a direct append would), not the commit.
    if (kind.category === 0x0 || kind.category === 0xd) {
      throw new EffectError(`kind category 0x${kind.category.toString(16)} is reserved for the store (0x0 system, 0xD effect)`);
    }
    this.#appends.push(Object.freeze({ kind, payload }));
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
    };
    (fact.lifecycle === 'started' ? this.#head : this.#tail).push(item);
  }

  receipt(envelope: ReceiptEnvelope): void {
    this.#receiptAt = this.#tail.length;
    this.#tail.push({ coord: this.#plan.receipts!, kind: SYNCBAT_RECEIPT_KIND, payload: encodeReceiptEnvelope(envelope) });
  }

  /** Drops the terminal facts and receipt (to re-stage them after a refused commit); the Started fact stays. */
  resetTail(): void {
    this.#tail.length = 0;
    this.#receiptAt = -1;
  }

  /** One appendBatch: Started fact, the staged appends (raw, payload wrapped like StoreEffectBackend), terminal records. */
  async commit(): Promise<AppendReceipt | undefined> {
    const effects: BatchItem[] = this.#appends.map((a) => ({ coord: this.#plan.effects!, kind: a.kind, payload: encodeCanonical(cbin(a.payload)) }));
    const items = [...this.#head, ...effects, ...this.#tail];
    if (items.length === 0) return undefined;
    const receipts = await this.#plan.store.appendBatch(items);
    return this.#receiptAt < 0 ? undefined : receipts[this.#head.length + effects.length + this.#receiptAt];
  }
}
