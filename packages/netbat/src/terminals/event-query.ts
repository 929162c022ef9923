// `event.query`: one bounded page of payload-free summaries in commit order, with a resume point (Rust `hbat` EventQueryRequest/Ack).
// Invariant: pages never overlap or skip — the next page starts strictly after `next_after_global_sequence` of this one (INV-NETBAT-TERMINALS).

import { BatpakError, carray, Coordinate, type EventKind, type QueryFilter, type Store } from '@batpak/core';
import { defineOperation, HandlerError, type Operation } from '@batpak/syncbat';
import { decodeRequest, storeFailure } from './handler-support.js';
import { STORE_EVENTS_READ, TERMINAL_MAX_PAGE, terminalRefs } from './names.js';
import { encodeWithin, fitSummaries } from './page.js';
import { eventSummarySpec, summaryOf, type EventSummary } from './summary.js';
import { messageCodec, readStruct, wbool, woptStr, woptUint, wstruct, wuint } from './wire.js';

/** `event.query.request`. Absent filters match everything on their axis. */
export interface EventQueryRequest {
  /** Exact entity. */
  readonly entity?: string;
  /** Exact scope. */
  readonly scope?: string;
  /** An exact kind, or `{ category }` for a whole category. */
  readonly kind?: EventKind | { readonly category: number };
  /** Exclusive resume point: only events with a global sequence strictly greater. */
  readonly after?: bigint;
  /** Page size, ≥ 1; capped at 1024 by the server. */
  readonly limit: number;
}

/** `event.query.ack`. */
export interface EventQueryAck {
  readonly entries: readonly EventSummary[];
  /** Pass as the next request's `after`; absent when the page is empty. */
  readonly nextAfter?: bigint;
  /** The page filled (by count or by bytes) and another page may exist. */
  readonly truncated: boolean;
}

function wireError(message: string): BatpakError {
  return new BatpakError('ERR_INVALID_ARGUMENT', `event.query.request: ${message}`);
}

export const eventQueryRequestCodec = messageCodec<EventQueryRequest>({
  schemaRef: 'event.query.request',
  order: ['entity', 'scope', 'kind_category', 'kind_type_id', 'after_global_sequence', 'limit'],
  fields: (v) => [
    ['entity', woptStr(v.entity)],
    ['scope', woptStr(v.scope)],
    ['kind_category', woptUint(v.kind?.category)],
    ['kind_type_id', woptUint(v.kind !== undefined && 'typeId' in v.kind ? v.kind.typeId : undefined)],
    ['after_global_sequence', woptUint(v.after)],
    ['limit', wuint(v.limit)],
  ],
  read(r) {
    const entity = r.optStr('entity');
    const scope = r.optStr('scope');
    const category = r.optUint('kind_category', 0xff);
    const typeId = r.optUint('kind_type_id', 0xffff);
    const after = r.optU64('after_global_sequence');
    const limit = r.u64('limit');
    if (typeId !== undefined && category === undefined) throw wireError('kind_type_id requires kind_category');
    if (category !== undefined && category > 0xf) throw wireError(`kind_category must fit in 4 bits, got ${category}`);
    if (typeId !== undefined && typeId > 0xfff) throw wireError(`kind_type_id must fit in 12 bits, got ${typeId}`);
    const kind = category === undefined ? undefined : typeId === undefined ? { category } : { category, typeId };
    return {
      ...(entity === undefined ? {} : { entity }),
      ...(scope === undefined ? {} : { scope }),
      ...(kind === undefined ? {} : { kind }),
      ...(after === undefined ? {} : { after }),
      limit: limit > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(limit),
    };
  },
});

export const eventQueryAckCodec = messageCodec<EventQueryAck>({
  schemaRef: 'event.query.ack',
  order: ['entries', 'next_after_global_sequence', 'truncated'],
  fields: (v) => [
    ['entries', carray(v.entries.map((e) => wstruct(eventSummarySpec, e)))],
    ['next_after_global_sequence', woptUint(v.nextAfter)],
    ['truncated', wbool(v.truncated)],
  ],
  read(r) {
    const next = r.optU64('next_after_global_sequence');
    return {
      entries: r.array('entries').map((e) => readStruct(eventSummarySpec, e)),
      ...(next === undefined ? {} : { nextAfter: next }),
      truncated: r.bool('truncated'),
    };
  },
});

/** Rust validates filter strings as coordinate parts: a malformed one is the caller's mistake, not an empty page. */
function checkFilterStrings(req: EventQueryRequest): void {
  try {
    if (req.entity !== undefined) new Coordinate(req.entity, 'netbat-query');
    if (req.scope !== undefined) new Coordinate('netbat:query', req.scope);
  } catch (err) {
    throw HandlerError.invalidInput(`${req.entity !== undefined ? 'entity' : 'scope'}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function encodePage(entries: EventSummary[], truncated: boolean): Uint8Array {
  const last = entries[entries.length - 1];
  return eventQueryAckCodec.encode({ entries, ...(last === undefined ? {} : { nextAfter: last.globalSequence }), truncated });
}

/** Inspect class; declares and records one read of the store's events. `maxOutputBytes` bounds the ack. */
export function eventQueryOperation(store: Store, maxOutputBytes: number): Operation {
  return defineOperation({
    name: 'event.query',
    effectClass: 'inspect',
    ...terminalRefs('event.query'),
    effects: { reads: [STORE_EVENTS_READ] },
    handler: async (input, ctx) => {
      const req = decodeRequest(eventQueryRequestCodec, input);
      if (req.limit === 0) throw HandlerError.invalidInput('limit must be greater than 0');
      checkFilterStrings(req);
      await ctx.readEvent(STORE_EVENTS_READ);
      const limit = Math.min(req.limit, TERMINAL_MAX_PAGE);
      const filter: QueryFilter = {
        ...(req.entity === undefined ? {} : { entity: req.entity }),
        ...(req.scope === undefined ? {} : { scope: req.scope }),
        ...(req.kind === undefined ? {} : { kind: req.kind }),
        ...(req.after === undefined ? {} : { after: req.after }),
        // One more than the page: its presence is what `truncated` reports.
        limit: limit + 1,
        signal: ctx.signal,
      };
      const found: EventSummary[] = [];
      try {
        for await (const e of store.query(filter)) found.push(summaryOf(e.header, e.coordinate));
      } catch (err) {
        throw storeFailure('query', err);
      }
      const more = found.length > limit;
      const { kept, cut } = fitSummaries(found.slice(0, limit), maxOutputBytes);
      return encodeWithin(kept, maxOutputBytes, encodePage, more || cut);
    },
  });
}
