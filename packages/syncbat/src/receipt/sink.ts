// ReceiptSink: where the runtime banks the one envelope each checkout produces.
// Invariant: a sink either records the envelope and says where, or throws; the Core then fails the call closed.

import type { AppendReceipt } from '@batpak/core';
import type { ReceiptEnvelope } from './envelope.js';

export interface RecordedReceipt {
  readonly envelope: ReceiptEnvelope;
  /** The store's append receipt when the sink wrote to a @batpak/core store (verify with store.verifyReceipt). */
  readonly appendReceipt?: AppendReceipt;
}

export interface ReceiptSink {
  /** Persist the envelope. Throwing (or rejecting) makes the dispatch fail with a `receipt_sink` RuntimeError. */
  recordReceipt(envelope: ReceiptEnvelope): Promise<RecordedReceipt> | RecordedReceipt;
}
