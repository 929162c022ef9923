// SubscriptionError: every way opening or running a subscription fails, each with the stream code netbat sends.
// Invariant: `code` is one of the eight stream terminal codes; `message` is what the client sees (id or stable reason).

/** Stream terminal codes (syncbat-hostbat.md §4.3 `stream_code`), shared with netbat's SUB_ERR / SUB_END. */
export const STREAM_CODES = [
  'unknown_subscription',
  'cursor_invalid',
  'cursor_mismatch',
  'slow_consumer',
  'malformed_stream_frame',
  'client_cancelled',
  'receipt_decode_failed',
  'internal_error',
] as const;

export type StreamCode = (typeof STREAM_CODES)[number];

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

export class SubscriptionError extends Error {
  override readonly name = 'SubscriptionError';
  readonly kind: SubscriptionErrorKind;
  /** The stream code a transport reports (netbat's `streamErrorCode` reads it). */
  readonly code: StreamCode;

  /** `message`: the subscription id for `unknown_subscription`, else the stable reason string. */
  constructor(kind: SubscriptionErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.code = CODE_OF[kind];
  }
}
