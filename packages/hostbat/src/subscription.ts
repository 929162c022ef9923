// SubscriptionDescriptor: a declared (not served) subscription a module exports — folded into H_module and H_interface.
// Invariant: ids follow syncbat's `name.vN` grammar; event categories 0, 0xD and ≥ 16 are refused; the payload role follows the source.

import { Coordinate, cstr, cstruct, cuint, type CanonicalValue } from '@batpak/core';
import { findSubscriptionIdViolation } from '@batpak/syncbat';
import { HostError } from './errors.js';
import { isU32, projectionIdViolation } from './grammar.js';
import type { SchemaRole } from './schema.js';

/** The transport a declared subscription needs; named in H_interface, served by netbat's NETBAT/2. */
export const SUBSCRIPTION_WIRE_REQUIRES = 'NETBAT/2-streaming';

export type SubscriptionSource =
  | { readonly kind: 'event-category'; readonly category: number }
  | { readonly kind: 'entity-stream'; readonly coordinate: Coordinate | { readonly entity: string; readonly scope: string } }
  | { readonly kind: 'projection'; readonly projectionId: string }
  | { readonly kind: 'receipt-stream'; readonly receiptKind: string }
  | { readonly kind: 'operation-status'; readonly operation: string };

export type SubscriptionDelivery = 'cursor-at-least-once';

export interface BackpressurePolicy {
  readonly kind: 'bounded-queue';
  /** u32: deliveries that may be unacknowledged before the consumer is too slow. */
  readonly capacity: number;
}

export interface SubscriptionDescriptorInit {
  readonly id: string;
  readonly source: SubscriptionSource;
  /** Must resolve to exactly one schema of the role the source requires. */
  readonly payloadSchemaRef: string;
  /** Default (and only) `cursor-at-least-once`. */
  readonly delivery?: SubscriptionDelivery;
  readonly backpressure: BackpressurePolicy;
}

export interface SubscriptionDescriptor {
  readonly id: string;
  readonly source: SubscriptionSource;
  readonly payloadSchemaRef: string;
  readonly delivery: SubscriptionDelivery;
  readonly backpressure: BackpressurePolicy;
}

function checkedSource(source: SubscriptionSource): SubscriptionSource {
  switch (source?.kind) {
    case 'event-category': {
      const c = source.category;
      if (typeof c !== 'number' || !Number.isInteger(c)) throw new TypeError('event category must be an integer');
      if (c < 0 || c >= 16 || c === 0 || c === 0xd) throw new HostError({ kind: 'subscription_reserved_category', category: c });
      return Object.freeze({ kind: 'event-category', category: c });
    }
    case 'entity-stream': {
      const { entity, scope } = source.coordinate;
      // Coordinate validates (BatpakError ERR_INVALID_COORDINATE), as Rust's typed Coordinate already is.
      return Object.freeze({ kind: 'entity-stream', coordinate: new Coordinate(entity, scope) });
    }
    case 'projection': {
      const id = source.projectionId;
      if (typeof id !== 'string') throw new TypeError('projection id must be a string');
      const bad = projectionIdViolation(id);
      if (bad !== undefined) throw new HostError({ kind: 'subscription_invalid_projection_id', id, detail: bad });
      return Object.freeze({ kind: 'projection', projectionId: id });
    }
    case 'receipt-stream':
      if (typeof source.receiptKind !== 'string') throw new TypeError('receipt kind must be a string');
      return Object.freeze({ kind: 'receipt-stream', receiptKind: source.receiptKind });
    case 'operation-status':
      if (typeof source.operation !== 'string') throw new TypeError('operation must be a string');
      return Object.freeze({ kind: 'operation-status', operation: source.operation });
    default:
      throw new TypeError('subscription source kind must be event-category, entity-stream, projection, receipt-stream or operation-status');
  }
}

/** Validates and freezes a declaration; throws HostError `ERR_SUBSCRIPTION_*` (or BatpakError for a bad coordinate). */
export function subscriptionDescriptor(init: SubscriptionDescriptorInit): SubscriptionDescriptor {
  if (typeof init.id !== 'string') throw new TypeError('subscription id must be a string');
  const bad = findSubscriptionIdViolation(init.id);
  if (bad !== undefined) throw new HostError({ kind: 'subscription_invalid_id', id: init.id, detail: bad });
  const source = checkedSource(init.source);
  if (typeof init.payloadSchemaRef !== 'string') throw new TypeError('payloadSchemaRef must be a string');
  const delivery = init.delivery ?? 'cursor-at-least-once';
  if (delivery !== 'cursor-at-least-once') throw new TypeError('delivery must be cursor-at-least-once');
  const bp = init.backpressure;
  if (bp?.kind !== 'bounded-queue' || !isU32(bp.capacity)) throw new TypeError('backpressure must be { kind: "bounded-queue", capacity: u32 }');
  return Object.freeze({
    id: init.id,
    source,
    payloadSchemaRef: init.payloadSchemaRef,
    delivery,
    backpressure: Object.freeze({ kind: 'bounded-queue', capacity: bp.capacity }),
  });
}

/** Event and entity streams carry event payloads, receipt streams receipts, the rest subscription payloads. */
export function requiredPayloadRole(source: SubscriptionSource): SchemaRole {
  switch (source.kind) {
    case 'event-category':
    case 'entity-stream':
      return 'event-payload';
    case 'receipt-stream':
      return 'receipt-payload';
    case 'projection':
    case 'operation-status':
      return 'subscription-payload';
  }
}

export function sourceView(source: SubscriptionSource): CanonicalValue {
  switch (source.kind) {
    case 'event-category':
      return cstruct([['kind', cstr(source.kind)], ['category', cuint(source.category)]]);
    case 'entity-stream':
      return cstruct([
        ['kind', cstr(source.kind)],
        ['coordinate', cstruct([['entity', cstr(source.coordinate.entity)], ['scope', cstr(source.coordinate.scope)]])],
      ]);
    case 'projection':
      return cstruct([['kind', cstr(source.kind)], ['projection_id', cstr(source.projectionId)]]);
    case 'receipt-stream':
      return cstruct([['kind', cstr(source.kind)], ['receipt_kind', cstr(source.receiptKind)]]);
    case 'operation-status':
      return cstruct([['kind', cstr(source.kind)], ['operation', cstr(source.operation)]]);
  }
}

export function backpressureView(bp: BackpressurePolicy): CanonicalValue {
  return cstruct([['kind', cstr(bp.kind)], ['capacity', cuint(bp.capacity)]]);
}

/** A subscription declaration as folded into H_module (README, fingerprint table): {id, source, payload_schema_ref, delivery, backpressure}. */
export function subscriptionView(s: SubscriptionDescriptor): CanonicalValue {
  return cstruct([
    ['id', cstr(s.id)],
    ['source', sourceView(s.source)],
    ['payload_schema_ref', cstr(s.payloadSchemaRef)],
    ['delivery', cstr(s.delivery)],
    ['backpressure', backpressureView(s.backpressure)],
  ]);
}

/** Plain JSON of a declaration (the coordinate as {entity, scope}). */
export function subscriptionJson(s: SubscriptionDescriptor): SubscriptionDescriptor {
  const source = s.source.kind === 'entity-stream' ? { kind: s.source.kind, coordinate: { entity: s.source.coordinate.entity, scope: s.source.coordinate.scope } } : s.source;
  return { id: s.id, source, payloadSchemaRef: s.payloadSchemaRef, delivery: s.delivery, backpressure: s.backpressure };
}
