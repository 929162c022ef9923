// Bounded pages for `event.query` and `event.walk`: the count limit of Rust, plus a byte budget so an ack always fits the netbat output limit.
// Invariant: an encoded page never exceeds its budget; entries are only ever dropped from the end, and a drop is reported as truncation.

import { encodeCanonical } from '@batpak/core';
import { eventSummarySpec, type EventSummary } from './summary.js';
import { wstruct } from './wire.js';

/** Room for the ack's own keys and headers around the entries (the query ack needs 61 bytes at most). */
const ACK_OVERHEAD_BYTES = 96;

/** The longest prefix of `entries` whose summaries fit `budget` bytes alongside the ack's other fields. */
export function fitSummaries(entries: readonly EventSummary[], budget: number): { readonly kept: EventSummary[]; readonly cut: boolean } {
  let used = ACK_OVERHEAD_BYTES;
  const kept: EventSummary[] = [];
  for (const e of entries) {
    used += encodeCanonical(wstruct(eventSummarySpec, e)).length;
    if (used > budget) return { kept, cut: true };
    kept.push(e);
  }
  return { kept, cut: false };
}

/** Encodes with `encode`, dropping trailing entries while the bytes exceed `budget` (a safety net under fitSummaries). */
export function encodeWithin(entries: EventSummary[], budget: number, encode: (entries: EventSummary[], cut: boolean) => Uint8Array, cut: boolean): Uint8Array {
  let bytes = encode(entries, cut);
  while (bytes.length > budget && entries.length > 0) {
    entries = entries.slice(0, -1);
    bytes = encode(entries, true);
  }
  return bytes;
}
