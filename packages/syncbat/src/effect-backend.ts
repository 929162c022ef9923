// EffectBackend: what performs a handler's effects. Only `appendEvent` is required; every other axis fails closed.
// Invariant: a backend that does not implement an axis rejects it with the Rust default message — never a silent no-op.

import type { EventKind } from '@batpak/core';

export interface EffectBackend {
  appendEvent(kind: EventKind, payload: Uint8Array): Promise<void> | void;
  /** The category string is an identity token the operation declared, not a store filter. */
  readEvent?(category: string): Promise<void> | void;
  queryProjection?(projectionId: string): Promise<void> | void;
  /** Only the kind reaches the backend; the payload goes into the receipt's local drawer. */
  emitReceipt?(receiptKind: string): Promise<void> | void;
  useHostControl?(controlId: string): Promise<void> | void;
}

/** Why an effect did not happen. Display: `effect backend failure: {reason}`. */
export class EffectError extends Error {
  override readonly name = 'EffectError';
  readonly reason: string;

  constructor(reason: string, options?: { cause?: unknown }) {
    super(`effect backend failure: ${reason}`, options);
    this.reason = reason;
  }
}

export const UNSUPPORTED_EFFECT = Object.freeze({
  readEvent: 'event reads are not supported by this effect backend',
  queryProjection: 'projection queries are not supported by this effect backend',
  emitReceipt: 'receipt emission is not supported by this effect backend',
  useHostControl: 'host controls are not supported by this effect backend',
});
