// SubscriptionRuntime: opens subscription streams from a registry over one store — the source netbat's SUB frames carry.
// Invariant: open() validates id, route and resume cursor before anything is delivered; failures carry a stream code.

import type { Store } from '@batpak/core';
import { beginningCursor, checkEventCursorRoute, decodeEventCursor, encodeEventCursor } from './cursor.js';
import { SubscriptionError } from './error.js';
import { eventCategoryStream, type StreamItem } from './event-stream.js';
import type { SubscriptionRegistry } from './registry.js';

export interface SubscriptionRuntimeConfig {
  /** Server-side cap on a client's window. Default 256. */
  readonly serverMaxWindow?: number;
  /** No longer used (the stream reads through store.subscribe, which reads ahead on its own); still validated. */
  readonly queryPageSize?: number;
}

export interface SubscriptionOpenRequest {
  readonly subscriptionId: string;
  /** Opaque cursor from an earlier delivery; absent = from the beginning. */
  readonly resumeCursor?: Uint8Array;
  /** Unacknowledged deliveries the client accepts; must be ≥ 1. */
  readonly clientWindow: number;
  /** Ends the stream (the iterator returns) when aborted. */
  readonly signal?: AbortSignal;
}

/** An opened stream: iterate it for deliveries; `window` is min(client window, server max, route capacity). */
export interface SubscriptionStream extends AsyncIterable<StreamItem> {
  readonly subscriptionId: string;
  readonly window: number;
}

function positive(value: number | undefined, fallback: number, reason: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw new SubscriptionError('invalid_config', reason);
  return v;
}

/**
 * Structurally a netbat `SubscriptionSource`: pass it as `createServer({ subscriptions: { source: runtime } })`.
 * netbat keeps the window and checks ACKs; this side owns replay, cursors and envelopes.
 */
export class SubscriptionRuntime {
  readonly #store: Store;
  readonly #registry: SubscriptionRegistry;
  readonly #maxWindow: number;
  readonly #pageSize: number;

  constructor(store: Store, registry: SubscriptionRegistry, config: SubscriptionRuntimeConfig = {}) {
    this.#store = store;
    this.#registry = registry;
    this.#maxWindow = positive(config.serverMaxWindow, 256, 'server max window is zero');
    this.#pageSize = positive(config.queryPageSize, 64, 'query page size is zero');
  }

  /** Throws SubscriptionError (`unknown_subscription`, `cursor_invalid`, `cursor_mismatch`, …) before any delivery. */
  open(request: SubscriptionOpenRequest): SubscriptionStream {
    const { subscriptionId, resumeCursor, clientWindow, signal } = request;
    const route = this.#registry.get(subscriptionId);
    if (route === undefined) throw new SubscriptionError('unknown_subscription', subscriptionId);
    const cursor = resumeCursor === undefined ? beginningCursor(subscriptionId, route.category) : decodeEventCursor(resumeCursor);
    checkEventCursorRoute(cursor, subscriptionId, route.category);
    if (!Number.isSafeInteger(clientWindow) || clientWindow <= 0) throw new SubscriptionError('invalid_config', 'client window is zero');
    const window = Math.min(clientWindow, this.#maxWindow, route.backpressureCapacity ?? this.#maxWindow);
    const params = {
      store: this.#store,
      subscriptionId,
      route,
      after: cursor.afterSequence ?? 0n,
      cursorBefore: encodeEventCursor(cursor),
      pageSize: this.#pageSize,
      signal,
    };
    return {
      subscriptionId,
      window,
      [Symbol.asyncIterator]: () => eventCategoryStream(params),
    };
  }
}
