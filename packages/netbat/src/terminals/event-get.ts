// `event.get`: one committed event by id — header fields, coordinate and payload bytes (Rust `hbat` EventGetRequest/Ack).
// Invariant: payload_hex is the payload as written: stored bytes, or for a sealed raw event its plaintext; never ciphertext passed off as payload (INV-NETBAT-TERMINALS).

import { cint, type EventKind, type RawEvent, type Store } from '@batpak/core';
import { defineOperation, HandlerError, type Operation } from '@batpak/syncbat';
import { encodeHex } from '../hex.js';
import { decodeRequest, storeFailure } from './handler-support.js';
import { PAYLOAD_DECRYPT_CAPABILITY, STORE_EVENTS_READ, terminalRefs } from './names.js';
import { eventIdOf, idBytes, messageCodec, whex, woptHex, wstr, wuint } from './wire.js';

/** `event.get.request` — wire `{ event_id_hex: String }`. */
export interface EventGetRequest {
  /** 32 hex characters. */
  readonly eventId: string;
}

/** `event.get.ack`. */
export interface EventGetAck {
  readonly eventId: string;
  readonly sequence: bigint;
  /** Commit time in microseconds (core keeps milliseconds: always a multiple of 1000). */
  readonly timestampUs: bigint;
  /** The event id: core events are self-correlated. */
  readonly correlationId: string;
  readonly causationId?: string;
  readonly kind: EventKind;
  readonly entity: string;
  readonly scope: string;
  readonly payload: Uint8Array;
  /** blake3 of the stored payload bytes (ciphertext when sealed). */
  readonly contentHash: Uint8Array;
}

export const eventGetRequestCodec = messageCodec<EventGetRequest>({
  schemaRef: 'event.get.request',
  order: ['event_id_hex'],
  fields: (v) => [['event_id_hex', whex(idBytes(v.eventId))]],
  read: (r) => ({ eventId: eventIdOf(r, 'event_id_hex') }),
});

export const eventGetAckCodec = messageCodec<EventGetAck>({
  schemaRef: 'event.get.ack',
  order: [
    'event_id_hex',
    'sequence',
    'timestamp_us',
    'correlation_id_hex',
    'causation_id_hex',
    'kind_category',
    'kind_type_id',
    'entity',
    'scope',
    'payload_hex',
    'content_hash_hex',
  ],
  fields: (v) => [
    ['event_id_hex', whex(idBytes(v.eventId))],
    ['sequence', wuint(v.sequence)],
    ['timestamp_us', cint(v.timestampUs)],
    ['correlation_id_hex', whex(idBytes(v.correlationId))],
    ['causation_id_hex', woptHex(v.causationId === undefined ? undefined : idBytes(v.causationId))],
    ['kind_category', wuint(v.kind.category)],
    ['kind_type_id', wuint(v.kind.typeId)],
    ['entity', wstr(v.entity)],
    ['scope', wstr(v.scope)],
    ['payload_hex', whex(v.payload)],
    ['content_hash_hex', whex(v.contentHash)],
  ],
  read(r) {
    const causation = r.optHex('causation_id_hex', 16);
    return {
      eventId: eventIdOf(r, 'event_id_hex'),
      sequence: r.u64('sequence'),
      timestampUs: r.i64('timestamp_us'),
      correlationId: eventIdOf(r, 'correlation_id_hex'),
      ...(causation === undefined ? {} : { causationId: encodeHex(causation) }),
      kind: { category: r.uint('kind_category', 0xf), typeId: r.uint('kind_type_id', 0xfff) },
      entity: r.str('entity'),
      scope: r.str('scope'),
      payload: r.hex('payload_hex'),
      contentHash: r.hex('content_hash_hex', 32),
    };
  },
});

/**
 * The payload bytes a client can use. Unsealed: the stored bytes. Sealed: core's plaintext read, which
 * gives bytes only for raw events (every `bank.commit` event is raw); a sealed typed event is refused
 * rather than answered with ciphertext, and a shredded one fails with ERR_PAYLOAD_SHREDDED.
 */
async function payloadOf(store: Store, raw: RawEvent): Promise<Uint8Array> {
  if (!raw.header.encrypted) return raw.bytes;
  let payload: unknown;
  try {
    payload = (await store.get(raw.header.eventId)).payload;
  } catch (err) {
    throw storeFailure('read event', err);
  }
  if (payload instanceof Uint8Array) return payload;
  throw HandlerError.failed(`read event: event ${raw.header.eventId} is sealed and typed; its plaintext is only available decoded (store.get), not as bytes`);
}

/**
 * Inspect class; declares and records one read of the store's events before reading. On an encrypted store
 * it answers plaintext, so it also requires {@link PAYLOAD_DECRYPT_CAPABILITY}.
 */
export function eventGetOperation(store: Store): Operation {
  const encrypted = store.stats().keys !== undefined;
  return defineOperation({
    name: 'event.get',
    effectClass: 'inspect',
    ...terminalRefs('event.get'),
    effects: { reads: [STORE_EVENTS_READ] },
    ...(encrypted ? { requiresCapabilities: [PAYLOAD_DECRYPT_CAPABILITY] } : {}),
    handler: async (input, ctx) => {
      const { eventId } = decodeRequest(eventGetRequestCodec, input);
      await ctx.readEvent(STORE_EVENTS_READ);
      let raw: RawEvent;
      try {
        raw = await store.getRaw(eventId);
      } catch (err) {
        throw storeFailure('read event', err);
      }
      const h = raw.header;
      return eventGetAckCodec.encode({
        eventId: h.eventId,
        sequence: h.globalSequence,
        timestampUs: h.committedAt * 1000n,
        correlationId: h.eventId,
        kind: h.kind,
        entity: raw.coordinate.entity,
        scope: raw.coordinate.scope,
        payload: await payloadOf(store, raw),
        contentHash: h.contentHash,
      });
    },
  });
}
