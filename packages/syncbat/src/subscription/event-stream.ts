// The event-category stream: replay from the cursor, a watermark once caught up, then live events as they commit.
// Invariant: every event of the category is delivered once, in commit order; a watermark never skips an undelivered event.

import { BatpakError, type Store, type StoredEvent } from '@batpak/core';
import { afterSequenceCursor, encodeEventCursor } from './cursor.js';
import { encodeEventStreamEnvelope } from './envelope.js';
import { SubscriptionError } from './error.js';
import type { EventCategoryRoute } from './registry.js';

/** One delivery, shaped like netbat's SubscriptionItem so a SUB_EVENT / SUB_WATERMARK frame carries it as is. */
export type StreamItem =
  | {
      readonly kind: 'event';
      readonly cursorBefore: Uint8Array;
      readonly cursorAfter: Uint8Array;
      readonly schemaRef: string;
      /** Canonical EventStreamEnvelopeV1 bytes. */
      readonly payload: Uint8Array;
      readonly globalSequence: bigint;
    }
  | { readonly kind: 'watermark'; readonly cursorAfter: Uint8Array; readonly globalSequence: bigint };

export interface EventStreamParams {
  readonly store: Store;
  readonly subscriptionId: string;
  readonly route: EventCategoryRoute;
  /** Exclusive resume point (0n = from the first event). */
  readonly after: bigint;
  /** Encoded resume cursor (or the beginning cursor): the first delivery's `cursorBefore`. */
  readonly cursorBefore: Uint8Array;
  /** Unused since the stream reads through store.subscribe (which reads ahead on its own); kept for callers. */
  readonly pageSize: number;
  readonly signal: AbortSignal | undefined;
}

function isAbort(err: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (err instanceof BatpakError && err.code === 'ERR_ABORTED');
}

function storeFailure(err: unknown): SubscriptionError {
  return new SubscriptionError('store', `store error: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** Commit time of the event at `sequence` (watermark metadata only; 0 if it cannot be read). */
async function wallMsAt(store: Store, sequence: bigint): Promise<bigint> {
  try {
    for await (const e of store.query({ after: sequence - 1n, limit: 1 })) return e.header.committedAt;
  } catch {
    // Metadata only: an unreadable event must not end the stream here; the next page read will say why.
  }
  return 0n;
}

/**
 * The stream body, over `store.subscribe({ kinds: [{ category }], after })`: each event as it is delivered, and
 * a watermark whenever the subscription reports it caught up (onCaughtUp, at the last sequence committed when
 * it looked, so nothing committed meanwhile is skipped) past the last watermark. Returns when the signal aborts.
 */
export async function* eventCategoryStream(p: EventStreamParams): AsyncGenerator<StreamItem, void, undefined> {
  const { store, route, signal } = p;
  const category = route.category;
  let cursorBefore = p.cursorBefore;
  // Event-category streams start at 0, so a resumed stream still says "caught up" once (Rust behaviour).
  let lastWatermarked = 0n;
  const cursorAt = (sequence: bigint, wallMs: bigint) => encodeEventCursor(afterSequenceCursor(p.subscriptionId, category, sequence, wallMs));
  // The position the subscription last reported caught up at, and a wake-up for the loop below.
  let caughtUp = 0n;
  let wake: (() => void) | undefined;
  const onCaughtUp = (position: bigint) => {
    caughtUp = position;
    wake?.();
  };
  // Ends the subscription when this stream ends early (its consumer stopped), even while it waits for commits.
  const stop = new AbortController();
  const until = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
  let events: AsyncIterator<StoredEvent>;
  try {
    events = store.subscribe({ kinds: [{ category }], after: p.after, onCaughtUp, signal: until })[Symbol.asyncIterator]();
  } catch (err) {
    throw storeFailure(err);
  }
  let pending: Promise<IteratorResult<StoredEvent>> | undefined;
  try {
    for (;;) {
      pending ??= events.next();
      const caught = new Promise<'caught-up'>((resolve) => (wake = () => resolve('caught-up')));
      if (caughtUp > lastWatermarked) wake!();
      let next: IteratorResult<StoredEvent> | 'caught-up';
      try {
        next = await Promise.race([pending, caught]);
      } catch (err) {
        if (isAbort(err, signal)) return;
        throw storeFailure(err);
      }
      if (next === 'caught-up') {
        // Caught up to `visible`: every event of the category at or below it has been delivered.
        const visible = caughtUp;
        if (visible <= lastWatermarked) continue;
        const cursorAfter = cursorAt(visible, await wallMsAt(store, visible));
        lastWatermarked = visible;
        cursorBefore = cursorAfter;
        yield { kind: 'watermark', cursorAfter, globalSequence: visible };
        continue;
      }
      pending = undefined;
      // A subscription ends only on our signal or the store's close, which (as ever) is a store failure here.
      if (next.done === true) {
        if (signal?.aborted === true) return;
        throw storeFailure(BatpakError.storeClosed('the store was closed'));
      }
      const e = next.value;
      if (e.shredded) {
        // A crypto-shredded event is never shipped; the position still moves past it so order stays coherent.
        cursorBefore = cursorAt(e.header.globalSequence, e.header.committedAt);
        continue;
      }
      let payload: Uint8Array;
      let sequence: bigint;
      let wallMs: bigint;
      try {
        // The envelope carries the stored bytes, which only getRaw returns (ciphertext for a sealed event:
        // core has no plaintext raw read yet, and Rust without delivery-decrypt ships stored bytes too).
        const raw = await store.getRaw(e.header.eventId);
        sequence = raw.header.globalSequence;
        wallMs = raw.header.committedAt;
        payload = encodeEventStreamEnvelope({
          subscriptionId: p.subscriptionId,
          event: raw,
          ...(route.innerEventPayloadSchemaRef === undefined ? {} : { innerEventPayloadSchemaRef: route.innerEventPayloadSchemaRef }),
        });
      } catch (err) {
        throw storeFailure(err);
      }
      const cursorAfter = cursorAt(sequence, wallMs);
      yield { kind: 'event', cursorBefore, cursorAfter, schemaRef: route.wirePayloadSchemaRef, payload, globalSequence: sequence };
      cursorBefore = cursorAfter;
    }
  } finally {
    wake = undefined;
    stop.abort();
    pending?.catch(() => undefined);
    await events.return?.();
  }
}
