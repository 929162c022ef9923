// EventSummary: the payload-free view of one event that `event.query` and `event.walk` return (Rust `hbat::bank::EventSummary`).
// Invariant: a summary never carries payload bytes — only metadata the index already exposes (INV-NETBAT-TERMINALS).

import type { Coordinate, EventHeader, EventKind } from '@batpak/core';
import { encodeHex } from '../hex.js';
import { idBytes, wuint, whex, woptHex, wstr, type StructSpec } from './wire.js';

/** `event.query.summary`. */
export interface EventSummary {
  readonly eventId: string;
  readonly globalSequence: bigint;
  /** Commit time, Unix ms. */
  readonly wallMs: bigint;
  /** The event's entity sequence (core keeps no HLC logical counter; this is its per-entity ordering). */
  readonly clock: number;
  /** Core events are self-correlated: the event id (as in syncbat's stream envelope). */
  readonly correlationId: string;
  /** Core records no causation: always absent from the store, kept for wire parity. */
  readonly causationId?: string;
  readonly kind: EventKind;
  readonly entity: string;
  readonly scope: string;
  /** blake3 of the stored payload bytes (ciphertext when sealed). */
  readonly contentHash: Uint8Array;
}

const U32_MAX = 0xffff_ffff;

export const eventSummarySpec: StructSpec<EventSummary> = {
  schemaRef: 'event.query.summary',
  order: [
    'event_id_hex',
    'global_sequence',
    'wall_ms',
    'clock',
    'correlation_id_hex',
    'causation_id_hex',
    'kind_category',
    'kind_type_id',
    'entity',
    'scope',
    'content_hash_hex',
  ],
  fields: (v) => [
    ['event_id_hex', whex(idBytes(v.eventId))],
    ['global_sequence', wuint(v.globalSequence)],
    ['wall_ms', wuint(v.wallMs)],
    ['clock', wuint(v.clock)],
    ['correlation_id_hex', whex(idBytes(v.correlationId))],
    ['causation_id_hex', woptHex(v.causationId === undefined ? undefined : idBytes(v.causationId))],
    ['kind_category', wuint(v.kind.category)],
    ['kind_type_id', wuint(v.kind.typeId)],
    ['entity', wstr(v.entity)],
    ['scope', wstr(v.scope)],
    ['content_hash_hex', whex(v.contentHash)],
  ],
  read(r) {
    const causation = r.optHex('causation_id_hex', 16);
    return {
      eventId: encodeHex(r.hex('event_id_hex', 16)),
      globalSequence: r.u64('global_sequence'),
      wallMs: r.u64('wall_ms'),
      clock: r.uint('clock', U32_MAX),
      correlationId: encodeHex(r.hex('correlation_id_hex', 16)),
      ...(causation === undefined ? {} : { causationId: encodeHex(causation) }),
      kind: { category: r.uint('kind_category', 0xf), typeId: r.uint('kind_type_id', 0xfff) },
      entity: r.str('entity'),
      scope: r.str('scope'),
      contentHash: r.hex('content_hash_hex', 32),
    };
  },
};

/** The summary of a stored event (its header and coordinate; the payload is never looked at). */
export function summaryOf(header: EventHeader, coordinate: Coordinate): EventSummary {
  return {
    eventId: header.eventId,
    globalSequence: header.globalSequence,
    wallMs: header.committedAt,
    clock: Number(header.entitySequence > BigInt(U32_MAX) ? BigInt(U32_MAX) : header.entitySequence),
    correlationId: header.eventId,
    kind: { category: header.kind.category, typeId: header.kind.typeId },
    entity: coordinate.entity,
    scope: coordinate.scope,
    contentHash: header.contentHash,
  };
}
