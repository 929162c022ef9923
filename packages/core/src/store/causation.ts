// Causation and correlation: an event names the event that caused it and the conversation it belongs to
// in the store's reserved receipt extensions `batpak.causation` / `batpak.correlation` (16-byte event ids),
// so they are covered by the receipt cover and signature. Invariant: no new frame field, no format change.

import { fromHex, toHex } from '../encoding/hex.js';
import { BatpakError } from '../errors.js';
import type { IndexEntry } from '../event-index/entry.js';
import type { EventIndex } from '../event-index/event-index.js';
import { isEventIdString } from '../id.js';
import type { StoredEvent } from '../types.js';

export const CAUSATION_EXTENSION = 'batpak.causation';
export const CORRELATION_EXTENSION = 'batpak.correlation';

export interface CausalIds {
  /** The event that caused this one (an event id: 32 lowercase hex characters). */
  readonly causationId?: string;
  /** The conversation this event belongs to (an event id, usually its first cause's). */
  readonly correlationId?: string;
}

function checkId(v: unknown, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !isEventIdString(v)) throw BatpakError.invalidArgument(`${field} must be an event id (32 lowercase hex characters)`, { field });
  return v;
}

const NO_CAUSAL_IDS: CausalIds = Object.freeze({});

/** Validates causationId / correlationId of append options. */
export function checkCausalIds(o: CausalIds): CausalIds {
  // Most appends name neither: skip the two checks' object spreads (one shared, frozen answer).
  const c = o.causationId;
  const r = o.correlationId;
  if (c === undefined && r === undefined) return NO_CAUSAL_IDS;
  const causationId = checkId(c, 'causationId');
  const correlationId = checkId(r, 'correlationId');
  return { ...(causationId === undefined ? {} : { causationId }), ...(correlationId === undefined ? {} : { correlationId }) };
}

/** Caller extensions (already checked) plus the store's causal ones; undefined when there are none. */
export function withCausalIds(ext: ReadonlyMap<string, Uint8Array> | undefined, ids: CausalIds): ReadonlyMap<string, Uint8Array> | undefined {
  if (ids.causationId === undefined && ids.correlationId === undefined) return ext;
  const out = new Map(ext ?? []);
  if (ids.causationId !== undefined) out.set(CAUSATION_EXTENSION, fromHex(ids.causationId));
  if (ids.correlationId !== undefined) out.set(CORRELATION_EXTENSION, fromHex(ids.correlationId));
  return out;
}

/** The causal ids an index entry records (a malformed value — not 16 bytes — is not an id). */
export function causalIdsOf(e: Pick<IndexEntry, 'extensions'>): CausalIds {
  const c = e.extensions?.get(CAUSATION_EXTENSION);
  const r = e.extensions?.get(CORRELATION_EXTENSION);
  return {
    ...(c?.length === 16 ? { causationId: toHex(c) } : {}),
    ...(r?.length === 16 ? { correlationId: toHex(r) } : {}),
  };
}

/** A walk's `limit` option (walkAncestors, walkCausation): a positive integer, default unbounded. */
export function walkLimit(options: { readonly limit?: number }): number {
  const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(limit) || limit < 1) throw BatpakError.invalidArgument('limit must be a positive integer');
  return limit;
}

export type CausationBoundary = 'reached-root' | 'limit-reached' | 'missing-cause' | 'cycle';

export interface CausationWalk {
  /** The event itself, then its cause, its cause's cause, … */
  readonly events: StoredEvent[];
  /** Why the walk stopped; `eventId` names the cause that is missing, or the event met twice. */
  readonly boundary: { readonly kind: CausationBoundary; readonly eventId?: string };
}

/** Follows causation links back from `eventId` (included): the caller checked that it exists. */
export async function walkCausation(index: EventIndex, load: (e: IndexEntry) => Promise<StoredEvent>, eventId: string, limit: number): Promise<CausationWalk> {
  const events: StoredEvent[] = [];
  const seen = new Set<string>();
  let id: string | undefined = eventId;
  while (id !== undefined) {
    if (seen.has(id)) return { events, boundary: { kind: 'cycle', eventId: id } };
    const entry = await index.get(id);
    if (entry === undefined) return { events, boundary: { kind: 'missing-cause', eventId: id } };
    if (events.length >= limit) return { events, boundary: { kind: 'limit-reached' } };
    seen.add(id);
    events.push(await load(entry));
    id = causalIdsOf(entry).causationId;
  }
  return { events, boundary: { kind: 'reached-root' } };
}
