// SubscriptionRegistry: subscription id → route. Routes are validated on insert, ids are unique.
// Invariant: only validated routes are served; a route's wire schema ref always fits netbat's SUB_EVENT grammar.

import { SubscriptionError } from './error.js';
import { findSubscriptionIdViolation } from './id.js';

/** Every event of one 4-bit category, in commit order. */
export interface EventCategoryRoute {
  readonly kind: 'event-category';
  /** 0..15. (Like Rust, syncbat does not refuse the reserved 0x0 and 0xD here.) */
  readonly category: number;
  /** The `payload-schema-ref` of every SUB_EVENT: lowercase `[a-z0-9._-]`, at most 256 bytes. */
  readonly wirePayloadSchemaRef: string;
  /** Carried inside each envelope as `inner_event_payload_schema_ref`. */
  readonly innerEventPayloadSchemaRef?: string;
  /** Clamp on the delivery window for this route; must be ≥ 1. */
  readonly backpressureCapacity?: number;
}

/** Route kinds this runtime serves (entity, receipt, projection and status streams are later work). */
export type SubscriptionRoute = EventCategoryRoute;

const MAX_WIRE_SCHEMA_REF_BYTES = 256;

function routeProblem(route: SubscriptionRoute): string | undefined {
  if (typeof route !== 'object' || route === null || route.kind !== 'event-category') return 'unsupported route kind';
  if (!Number.isInteger(route.category) || route.category < 0 || route.category > 0xf) return 'event category out of range';
  const ref = route.wirePayloadSchemaRef;
  if (typeof ref !== 'string' || ref.length === 0) return 'wire payload schema ref is empty';
  if (new TextEncoder().encode(ref).length > MAX_WIRE_SCHEMA_REF_BYTES) return 'wire payload schema ref is too long';
  if (/\s/.test(ref)) return 'wire payload schema ref contains whitespace';
  if (!/^[a-z0-9._-]+$/.test(ref)) return 'wire payload schema ref has characters outside [a-z0-9._-]';
  const cap = route.backpressureCapacity;
  if (cap !== undefined && (!Number.isSafeInteger(cap) || cap < 0)) return 'backpressure capacity is not a non-negative integer';
  if (cap === 0) return 'backpressure capacity is zero';
  return undefined;
}

export class SubscriptionRegistry {
  readonly #routes = new Map<string, SubscriptionRoute>();

  /** Validates the id, then the route, then uniqueness; throws SubscriptionError. */
  insert(id: string, route: SubscriptionRoute): this {
    const idProblem = typeof id === 'string' ? findSubscriptionIdViolation(id) : 'empty subscription id';
    if (idProblem !== undefined) throw new SubscriptionError('invalid_subscription_id', idProblem);
    const problem = routeProblem(route);
    if (problem !== undefined) throw new SubscriptionError('invalid_route', problem);
    if (this.#routes.has(id)) throw new SubscriptionError('duplicate_subscription', `duplicate subscription route: ${id}`);
    this.#routes.set(id, Object.freeze({ ...route }));
    return this;
  }

  get(id: string): SubscriptionRoute | undefined {
    return this.#routes.get(id);
  }

  ids(): string[] {
    return [...this.#routes.keys()].sort();
  }
}
