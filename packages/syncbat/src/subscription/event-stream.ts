// The event-category stream: replay from the cursor, a watermark once caught up, then live events as they commit.
// Invariant: every event of the category is delivered once, in commit order; a watermark never skips an undelivered event.

import { BatpakError, type Store } from '@batpak/core';
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
 * The stream body. Pages through `store.query({ kind: { category }, after })`; when a page is empty, emits a
 * watermark at the store's last sequence *read before that query* (so nothing committed meanwhile is
 * skipped), then sleeps in `store.waitForSequence(after)`. Returns when the signal aborts.
 */
export async function* eventCategoryStream(p: EventStreamParams): AsyncGenerator<StreamItem, void, undefined> {
  const { store, route, signal } = p;
  const category = route.category;
  let after = p.after;
  let cursorBefore = p.cursorBefore;
  // Event-category streams start at 0, so a resumed stream still says "caught up" once (Rust behaviour).
  let lastWatermarked = 0n;
  const cursorAt = (sequence: bigint, wallMs: bigint) => encodeEventCursor(afterSequenceCursor(p.subscriptionId, category, sequence, wallMs));

  for (;;) {
    if (signal?.aborted === true) return;
    const visible = store.lastSequence;
    const page: { readonly eventId: string; readonly sequence: bigint; readonly wallMs: bigint; readonly shredded: boolean }[] = [];
    try {
      for await (const e of store.query({ kind: { category }, after, limit: p.pageSize, ...(signal === undefined ? {} : { signal }) })) {
        page.push({ eventId: e.header.eventId, sequence: e.header.globalSequence, wallMs: e.header.committedAt, shredded: e.shredded });
      }
    } catch (err) {
      if (isAbort(err, signal)) return;
      throw storeFailure(err);
    }
    for (const { eventId, sequence: seq, wallMs: ms, shredded } of page) {
      if (shredded) {
        // A crypto-shredded event is never shipped; the position still moves past it so order stays coherent.
        cursorBefore = cursorAt(seq, ms);
        after = seq;
        continue;
      }
      let payload: Uint8Array;
      let sequence: bigint;
      let wallMs: bigint;
      try {
        // The envelope carries the stored bytes, which only getRaw returns (ciphertext for a sealed event:
        // core has no plaintext raw read yet, and Rust without delivery-decrypt ships stored bytes too).
        const raw = await store.getRaw(eventId);
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
      after = sequence;
    }
    if (page.length > 0) continue;

    // Caught up to `visible`: every event of the category at or below it has been delivered.
    if (visible > lastWatermarked) {
      const cursorAfter = cursorAt(visible, await wallMsAt(store, visible));
      lastWatermarked = visible;
      after = visible;
      cursorBefore = cursorAfter;
      yield { kind: 'watermark', cursorAfter, globalSequence: visible };
      continue;
    }
    try {
      await store.waitForSequence(after, signal === undefined ? {} : { signal });
    } catch (err) {
      if (isAbort(err, signal)) return;
      throw storeFailure(err);
    }
  }
}
