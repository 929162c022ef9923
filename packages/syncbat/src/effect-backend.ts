// EffectBackend: what performs a handler's effects. Only `appendEvent` is required; every other axis fails closed.
// Invariant: a backend that does not implement an axis rejects it with the Rust default message — never a silent no-op.

import type { EventKind } from '@batpak/core';
import { SyncbatError, type EffectErrorCode } from './syncbat-error.js';

export interface EffectBackend {
  appendEvent(kind: EventKind, payload: Uint8Array): Promise<void> | void;
  /** The category string is an identity token the operation declared, not a store filter. */
  readEvent?(category: string): Promise<void> | void;
  queryProjection?(projectionId: string): Promise<void> | void;
  /** Only the kind reaches the backend; the payload goes into the receipt's local drawer. */
  emitReceipt?(receiptKind: string): Promise<void> | void;
  useHostControl?(controlId: string): Promise<void> | void;
}

/**
 * Why an effect (or a Ctx call) did not happen. `code` says which refusal it is:
 *
 * | code | when | message |
 * | --- | --- | --- |
 * | `ERR_EFFECT_FAILED` | the backend refused or failed (the default) | `effect backend failure: {reason}` (Rust's Display) |
 * | `ERR_EFFECT_UNDECLARED` | the operation does not declare the target: refused before the backend is called | `{reason}` |
 * | `ERR_EFFECT_INVALID` | the value naming the effect is malformed (a kind that is not a u16, a non-string target) | `{reason}` |
 * | `ERR_CTX_REVOKED` | the Ctx's dispatch has ended: its authority is revoked | `{reason}` |
 * | `ERR_RESERVED_RECEIPT_KEY` | `attachSigned`/`attachLocal` with a `syncbat.*` key (written by the runtime only) | `{reason}` |
 * | `ERR_LIMIT_EXCEEDED` | a drawer entry or total over RECEIPT_LIMITS, or an append past MAX_STAGED_APPENDS | `{reason}` |
 */
export type { EffectErrorCode };

export class EffectError extends SyncbatError {
  override readonly name = 'EffectError';
  declare readonly code: EffectErrorCode;
  readonly reason: string;

  constructor(reason: string, options?: { cause?: unknown; code?: EffectErrorCode }) {
    const code = options?.code ?? 'ERR_EFFECT_FAILED';
    super(code, code === 'ERR_EFFECT_FAILED' ? `effect backend failure: ${reason}` : reason, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
  }
}

export const UNSUPPORTED_EFFECT = Object.freeze({
  readEvent: 'event reads are not supported by this effect backend',
  queryProjection: 'projection queries are not supported by this effect backend',
  emitReceipt: 'receipt emission is not supported by this effect backend',
  useHostControl: 'host controls are not supported by this effect backend',
});
