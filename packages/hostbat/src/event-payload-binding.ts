// EventPayloadBinding: "appends of event kind K carry payloads of event-payload schema S" — declared per module.
// Invariant: bindings are keyed by the raw u16 kind; the host refuses two different schemas for one kind.

import { cstr, cstruct, cuint, type CanonicalValue, type EventKind } from '@batpak/core';
import { HostError } from './errors.js';
import { isU16 } from './grammar.js';

export interface EventPayloadBinding {
  /** Raw u16: category in the high 4 bits, type id in the low 12. */
  readonly kind: number;
  readonly payloadSchemaRef: string;
}

/** `{ category, typeId }` or a raw u16 → the raw u16 (TypeError on anything else). */
export function rawKind(kind: EventKind | number): number {
  if (typeof kind === 'number') {
    if (!isU16(kind)) throw new TypeError(`event kind must be a u16, got ${kind}`);
    return kind;
  }
  const { category, typeId } = kind ?? {};
  if (!Number.isInteger(category) || category < 0 || category > 0xf || !Number.isInteger(typeId) || typeId < 0 || typeId > 0xfff) {
    throw new TypeError('event kind must be { category: 0..15, typeId: 0..4095 } or a u16');
  }
  return (category << 12) | typeId;
}

/** Throws HostError `ERR_EVENT_PAYLOAD_BINDING_INVALID` for an empty schema ref. */
export function eventPayloadBinding(kind: EventKind | number, payloadSchemaRef: string): EventPayloadBinding {
  const raw = rawKind(kind);
  if (typeof payloadSchemaRef !== 'string') throw new TypeError('payload schema ref must be a string');
  if (payloadSchemaRef.length === 0) throw new HostError({ kind: 'event_payload_binding_invalid', eventKind: raw, detail: 'payload schema reference is empty' });
  return Object.freeze({ kind: raw, payloadSchemaRef });
}

export function bindingView(b: EventPayloadBinding): CanonicalValue {
  return cstruct([['kind', cuint(b.kind)], ['payload_schema_ref', cstr(b.payloadSchemaRef)]]);
}
