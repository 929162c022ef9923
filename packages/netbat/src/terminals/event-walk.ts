// `event.walk`: bounded hash-chain ancestry from one event, anchor first (Rust `hbat` EventWalkRequest/Ack).
// Invariant: entries follow prevHash links only — relation order, never commit-order pagination (INV-NETBAT-TERMINALS).

import { carray, type AncestorWalk, type Store } from '@batpak/core';
import { defineOperation, HandlerError, type Operation } from '@batpak/syncbat';
import { decodeRequest, storeFailure } from './handler-support.js';
import { STORE_EVENTS_READ, TERMINAL_MAX_PAGE, terminalRefs } from './names.js';
import { encodeWithin, fitSummaries } from './page.js';
import { eventSummarySpec, summaryOf, type EventSummary } from './summary.js';
import { eventIdOf, idBytes, messageCodec, readStruct, whex, wstruct, wuint } from './wire.js';

/** `event.walk.request`. */
export interface EventWalkRequest {
  readonly eventId: string;
  /** Most summaries to return, ≥ 1; capped at 1024 by the server. */
  readonly limit: number;
}

/** `event.walk.ack`: the anchor, then its parents, newest first. Empty when the anchor is unknown. */
export interface EventWalkAck {
  readonly entries: readonly EventSummary[];
}

export const eventWalkRequestCodec = messageCodec<EventWalkRequest>({
  schemaRef: 'event.walk.request',
  order: ['event_id_hex', 'limit'],
  fields: (v) => [
    ['event_id_hex', whex(idBytes(v.eventId))],
    ['limit', wuint(v.limit)],
  ],
  read(r) {
    const limit = r.u64('limit');
    return { eventId: eventIdOf(r, 'event_id_hex'), limit: limit > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(limit) };
  },
});

export const eventWalkAckCodec = messageCodec<EventWalkAck>({
  schemaRef: 'event.walk.ack',
  order: ['entries'],
  fields: (v) => [['entries', carray(v.entries.map((e) => wstruct(eventSummarySpec, e)))]],
  read: (r) => ({ entries: r.array('entries').map((e) => readStruct(eventSummarySpec, e)) }),
});

const encodeWalk = (entries: EventSummary[]): Uint8Array => eventWalkAckCodec.encode({ entries });

/** Inspect class; declares and records one read of the store's events. `maxOutputBytes` bounds the ack. */
export function eventWalkOperation(store: Store, maxOutputBytes: number): Operation {
  return defineOperation({
    name: 'event.walk',
    effectClass: 'inspect',
    ...terminalRefs('event.walk'),
    effects: { reads: [STORE_EVENTS_READ] },
    handler: async (input, ctx) => {
      const req = decodeRequest(eventWalkRequestCodec, input);
      if (req.limit === 0) throw HandlerError.invalidInput('limit must be greater than 0');
      await ctx.readEvent(STORE_EVENTS_READ);
      let walk: AncestorWalk;
      try {
        walk = await store.walkAncestors(req.eventId, { limit: Math.min(req.limit, TERMINAL_MAX_PAGE) });
      } catch (err) {
        throw storeFailure('walk ancestors', err);
      }
      const { kept, cut } = fitSummaries(walk.ancestors.map((e) => summaryOf(e.header, e.coordinate)), maxOutputBytes);
      return encodeWithin(kept, maxOutputBytes, encodeWalk, cut);
    },
  });
}
