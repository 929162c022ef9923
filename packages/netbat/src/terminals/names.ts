// The reference terminals' names and descriptor strings, identical to Rust hbat's (`<op>.request`, `<op>.ack`, `receipt.<op>.v1`).
// Invariant: the six names here are the whole terminal surface; every list, table and test derives from TERMINAL_OPERATIONS.

/** The operations a terminal core serves, in the order the README documents them. */
export const TERMINAL_OPERATIONS = [
  'system.heartbeat',
  'event.get',
  'event.query',
  'event.walk',
  'receipt.verify',
  'bank.commit',
] as const;

export type TerminalOperation = (typeof TERMINAL_OPERATIONS)[number];

/** The read-effect token the inspecting terminals declare and record (an identity token, not a filter). */
export const STORE_EVENTS_READ = 'store.events';

/**
 * Capability `event.get` requires on a store opened with payload encryption, where it answers plaintext:
 * a network client must be granted it by name, so encrypted payloads are not readable over the network by default.
 */
export const PAYLOAD_DECRYPT_CAPABILITY = 'payload.decrypt';

/** Largest page `event.query` and `event.walk` return, as in Rust (`EVENT_QUERY_MAX_LIMIT`). */
export const TERMINAL_MAX_PAGE = 1024;

/** Descriptor strings of `name`, as Rust hbat spells them. */
export function terminalRefs(name: TerminalOperation): { inputSchemaRef: string; outputSchemaRef: string; receiptKind: string } {
  return { inputSchemaRef: `${name}.request`, outputSchemaRef: `${name}.ack`, receiptKind: `receipt.${name}.v1` };
}
