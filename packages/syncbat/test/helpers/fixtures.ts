// Test doubles shared by the syncbat suites: a capturing receipt sink, a recording effect backend, a SimFs store.
// Invariant: doubles record what they were asked to do and never invent outcomes of their own.

import { Coordinate, Store, type EventKind } from '@batpak/core';
import { SimFs } from '@batpak/core/testing';
import {
  CoreBuilder,
  EffectError,
  StoreEffectBackend,
  StoreReceiptSink,
  defineOperation,
  type EffectBackend,
  type OperationStatusFact,
  type OperationStatusSink,
  type ReceiptEnvelope,
  type ReceiptSink,
  type RecordedReceipt,
} from '../../src/index.js';

export class CapturingSink implements ReceiptSink {
  readonly seen: ReceiptEnvelope[] = [];
  fail: string | undefined;

  recordReceipt(envelope: ReceiptEnvelope): RecordedReceipt {
    if (this.fail !== undefined) throw new Error(this.fail);
    this.seen.push(envelope);
    return { envelope };
  }
}

export class CapturingStatusSink implements OperationStatusSink {
  readonly facts: OperationStatusFact[] = [];
  failOn: OperationStatusFact['lifecycle'] | undefined;

  recordFact(fact: OperationStatusFact): void {
    if (fact.lifecycle === this.failOn) throw new Error(`status sink refused ${fact.lifecycle}`);
    this.facts.push(fact);
  }
}

export type Axis = 'append' | 'read' | 'query' | 'emit' | 'control';

/** Implements every axis; `reject` makes one axis fail, `delayMs` makes every effect slow. */
export class RecordingBackend implements EffectBackend {
  readonly appends: { kind: EventKind; payload: Uint8Array }[] = [];
  readonly reads: string[] = [];
  readonly queries: string[] = [];
  readonly emits: string[] = [];
  readonly controls: string[] = [];

  constructor(
    readonly reject?: Axis,
    readonly delayMs = 0,
  ) {}

  async #step(axis: Axis): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.reject === axis) throw new EffectError(`backend rejected ${axis}`);
  }

  async appendEvent(kind: EventKind, payload: Uint8Array): Promise<void> {
    await this.#step('append');
    this.appends.push({ kind, payload });
  }
  async readEvent(category: string): Promise<void> {
    await this.#step('read');
    this.reads.push(category);
  }
  async queryProjection(id: string): Promise<void> {
    await this.#step('query');
    this.queries.push(id);
  }
  async emitReceipt(kind: string): Promise<void> {
    await this.#step('emit');
    this.emits.push(kind);
  }
  async useHostControl(id: string): Promise<void> {
    await this.#step('control');
    this.controls.push(id);
  }
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

export async function simStore(seed = 1, options: { signingKey?: Uint8Array } = {}): Promise<Store> {
  return Store.open({ dir: '/s', fs: new SimFs(seed), ...options });
}

/** Resolves with the rejection of `p`, failing the test if it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Array.fromAsync for Node 20. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * A Core with one `persist` operation, `orders.place`, whose handler appends its input as one event to orders/shop
 * and returns it; effects and receipts are committed to `store` (receipts under receipts/shop).
 */
export function persistCore(store: Store) {
  return new CoreBuilder()
    .register(
      defineOperation({
        name: 'orders.place',
        effectClass: 'persist',
        effects: { appends: ['evt.1001'] },
        handler: async (input, ctx) => {
          await ctx.appendEvent({ category: 1, typeId: 1 }, input);
          return input;
        },
      }),
    )
    .effectBackend(new StoreEffectBackend(store, new Coordinate('orders', 'shop')))
    .receiptSink(new StoreReceiptSink(store, new Coordinate('receipts', 'shop')))
    .build();
}
