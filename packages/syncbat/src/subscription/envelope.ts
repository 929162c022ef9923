// EventStreamEnvelopeV1: the canonical bytes a SUB_EVENT carries for one committed event.
// Invariant: field order and skip-if-absent rules follow Rust; ids are u128 `bin`, hashes and payload are byte arrays.

import { cbin, cbytesArray, cint, cstr, cstruct, cuint, encodeCanonical, fromHex, type CanonicalValue, type RawEvent } from '@batpak/core';

export interface EventEnvelopeInput {
  readonly subscriptionId: string;
  readonly event: RawEvent;
  readonly innerEventPayloadSchemaRef?: string;
}

/**
 * Canonical EventStreamEnvelopeV1. Mapped from a @batpak/core event: `correlation_id` = the event id (core
 * events are self-correlated, as Rust's default), no `causation_id`; `timestamp_us` and `hlc_wall_ms` both
 * come from `committedAt` (ms); `prev_hash` is the chain link; `event_hash` is omitted (core keeps none);
 * `payload` is the stored payload bytes.
 */
export function encodeEventStreamEnvelope(input: EventEnvelopeInput): Uint8Array {
  const { header, coordinate, bytes } = input.event;
  const id = fromHex(header.eventId, 'eventId');
  const raw = ((header.kind.category & 0xf) << 12) | (header.kind.typeId & 0xfff);
  const fields: [string, CanonicalValue][] = [
    ['schema_version', cuint(1)],
    ['subscription_id', cstr(input.subscriptionId)],
    ['event_id', cbin(id)],
    ['correlation_id', cbin(id)],
    ['entity', cstr(coordinate.entity)],
    ['scope', cstr(coordinate.scope)],
    ['event_kind_raw', cuint(raw)],
    ['event_category', cuint(header.kind.category)],
    ['payload_version', cuint(header.payloadVersion)],
    ['timestamp_us', cint(header.committedAt * 1000n)],
    ['hlc_wall_ms', cuint(header.committedAt)],
    ['global_sequence', cuint(header.globalSequence)],
    ['content_hash', cbytesArray(header.contentHash)],
    ['prev_hash', cbytesArray(header.prevHash)],
  ];
  if (input.innerEventPayloadSchemaRef !== undefined) fields.push(['inner_event_payload_schema_ref', cstr(input.innerEventPayloadSchemaRef)]);
  fields.push(['payload', cbytesArray(bytes)]);
  return encodeCanonical(cstruct(fields));
}
