// Export receipts: each event's receipt exactly as `append` returned it, from core's store.receipt —
// for a signed event its original group signature and proof, rebuilt by core from the seal on disk.
// Invariant: natsbat never signs and never composes a receipt or an attestation itself (attestations
// come from core's store.attest), so what it publishes is what the store issued (INV-NATSBAT-RECEIPT-COVER).

import type { AppendReceipt, RawEvent, Store } from '@batpak/core';

/**
 * The original receipts of `events` (one export batch, commit order). No key is needed: a store
 * reopened without its signing key still returns its signed receipts. A failure of the store (a seal
 * missing from a damaged segment: ERR_CORRUPT_SEGMENT; a closed store) passes through as its
 * BatpakError, like a failed read of the event itself.
 */
export async function exportReceipts(store: Store, events: readonly RawEvent[]): Promise<AppendReceipt[]> {
  const receipts: AppendReceipt[] = [];
  for (const e of events) receipts.push(await store.receipt(e.header.eventId));
  return receipts;
}
