// The terminals' subscription source: one NETBAT/2 subscription per event category, served by syncbat's SubscriptionRuntime.
// Invariant: `events.<x>.v1` streams exactly the events of category x (0..f) in commit order — replay, watermark, then live.

import type { Store } from '@batpak/core';
import { SubscriptionRegistry, SubscriptionRuntime, type SubscriptionRuntimeConfig } from '@batpak/syncbat';

/** The `payload-schema-ref` of every terminal SUB_EVENT: syncbat's EventStreamEnvelopeV1 bytes. */
export const TERMINAL_EVENT_SCHEMA_REF = 'syncbat.event_stream.envelope.v1';

/** `events.<x>.v1` for category x, e.g. `events.f.v1`. */
export function terminalSubscriptionId(category: number): string {
  if (!Number.isInteger(category) || category < 0 || category > 0xf) throw new RangeError(`event category must be 0..15, got ${category}`);
  return `events.${category.toString(16)}.v1`;
}

/** A subscription source (pass as `createServer({ subscriptions: { source } })`) with all sixteen category routes. */
export function createTerminalSubscriptions(store: Store, config: SubscriptionRuntimeConfig = {}): SubscriptionRuntime {
  const registry = new SubscriptionRegistry();
  for (let category = 0; category <= 0xf; category++) {
    registry.insert(terminalSubscriptionId(category), { kind: 'event-category', category, wirePayloadSchemaRef: TERMINAL_EVENT_SCHEMA_REF });
  }
  return new SubscriptionRuntime(store, registry, config);
}
