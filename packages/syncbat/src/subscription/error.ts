// SubscriptionError: every way opening or running a subscription fails, each with the stream code netbat sends.
// Invariant: `code` is one of the eight stream terminal codes; `message` is what the client sees (id or stable reason).

import { STREAM_CODES, SyncbatError, type StreamCode } from '../syncbat-error.js';

// The stream codes live with SyncbatError (shared with netbat's SUB_ERR / SUB_END); re-exported from here too.
export { STREAM_CODES, type StreamCode };

export type SubscriptionErrorKind =
  | 'invalid_subscription_id'
  | 'duplicate_subscription'
  | 'invalid_route'
  | 'invalid_config'
  | 'unknown_subscription'
  | 'cursor_invalid'
  | 'cursor_mismatch'
  | 'store';

const CODE_OF: Readonly<Record<SubscriptionErrorKind, StreamCode>> = {
  invalid_subscription_id: 'internal_error',
  duplicate_subscription: 'internal_error',
  invalid_route: 'internal_error',
  invalid_config: 'internal_error',
  unknown_subscription: 'unknown_subscription',
  cursor_invalid: 'cursor_invalid',
  cursor_mismatch: 'cursor_mismatch',
  store: 'internal_error',
};

/** A SyncbatError opening or running a subscription; `kind` says which failure, `code` the stream code it ends with. */
export class SubscriptionError extends SyncbatError {
  override readonly name = 'SubscriptionError';
  readonly kind: SubscriptionErrorKind;
  /** The stream code a transport reports (netbat's `streamErrorCode` reads it). */
  declare readonly code: StreamCode;

  /** `message`: the subscription id for `unknown_subscription`, else the stable reason string. */
  constructor(kind: SubscriptionErrorKind, message: string, options?: { cause?: unknown }) {
    super(CODE_OF[kind], message, options);
    this.kind = kind;
  }
}
