// SyncbatError: the one error class of @batpak/syncbat, and the one home of every code it can carry.
// Invariant: codes are API — never renamed, only added; each specific class (BuildError, RuntimeError, …) is a subclass.

/** `BuildError.code` per `detail.kind`: why registration or `build()` refused. */
export const BUILD_ERROR_CODES = {
  duplicate_operation: 'ERR_DUPLICATE_OPERATION',
  duplicate_handler: 'ERR_DUPLICATE_HANDLER',
  missing_descriptor: 'ERR_MISSING_DESCRIPTOR',
  missing_handler: 'ERR_MISSING_HANDLER',
  invalid_module: 'ERR_INVALID_MODULE',
  invalid_operation: 'ERR_INVALID_OPERATION',
  invalid_handler: 'ERR_INVALID_HANDLER',
  unknown_grant_operation: 'ERR_UNKNOWN_GRANT_OPERATION',
  missing_receipt_sink: 'ERR_MISSING_RECEIPT_SINK',
} as const;

export type BuildErrorCode = (typeof BUILD_ERROR_CODES)[keyof typeof BUILD_ERROR_CODES];

/**
 * `RuntimeError.code`: netbat's ERR tokens for a failed dispatch. Four failures keep their own token,
 * every other one is `runtime` (README § Error codes, and netbat's README § The dispatcher seam).
 */
export const RUNTIME_ERROR_CODES = ['unknown_operation', 'missing_handler', 'handler', 'receipt_sink', 'runtime'] as const;

export type RuntimeErrorCode = (typeof RUNTIME_ERROR_CODES)[number];

/** `SubscriptionError.code`: the stream terminal codes netbat sends as SUB_ERR / SUB_END (Rust's `stream_code`). */
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

/** `EffectError.code`: which refusal an effect (or a Ctx call) met; the table is in README § Error codes. */
export const EFFECT_ERROR_CODES = [
  'ERR_EFFECT_FAILED',
  'ERR_EFFECT_UNDECLARED',
  'ERR_EFFECT_INVALID',
  'ERR_CTX_REVOKED',
  'ERR_RESERVED_RECEIPT_KEY',
  'ERR_LIMIT_EXCEEDED',
] as const;

export type EffectErrorCode = (typeof EFFECT_ERROR_CODES)[number];

/** `HandlerError.code` per failure class (`invalid_input`: the caller's to fix; `failed`: the handler's). */
export const HANDLER_ERROR_CODES = {
  invalid_input: 'ERR_HANDLER_INVALID_INPUT',
  failed: 'ERR_HANDLER_FAILED',
} as const;

export type HandlerErrorCode = (typeof HANDLER_ERROR_CODES)[keyof typeof HANDLER_ERROR_CODES];

/** `DescriptorValidationError.code`: a descriptor or effect row breaks the grammar or its class's rules. */
export const DESCRIPTOR_ERROR_CODE = 'ERR_INVALID_DESCRIPTOR';

/** `OperationNameError.code`: `parseOperationName` refused the name. */
export const OPERATION_NAME_ERROR_CODE = 'ERR_INVALID_OPERATION_NAME';

export type SyncbatErrorCode =
  | BuildErrorCode
  | RuntimeErrorCode
  | StreamCode
  | EffectErrorCode
  | HandlerErrorCode
  | typeof DESCRIPTOR_ERROR_CODE
  | typeof OPERATION_NAME_ERROR_CODE;

/** Every code a `SyncbatError` can carry. */
export const SYNCBAT_ERROR_CODES: readonly SyncbatErrorCode[] = Object.freeze([
  ...Object.values(BUILD_ERROR_CODES),
  ...RUNTIME_ERROR_CODES,
  ...STREAM_CODES,
  ...EFFECT_ERROR_CODES,
  ...Object.values(HANDLER_ERROR_CODES),
  DESCRIPTOR_ERROR_CODE,
  OPERATION_NAME_ERROR_CODE,
]);

/**
 * Every error syncbat throws is a SyncbatError with a stable `code`: catch this one class and switch on
 * `code`. The subclasses (BuildError, RuntimeError, EffectError, HandlerError, SubscriptionError,
 * DescriptorValidationError, OperationNameError) remain for `instanceof` and for the fields only they
 * carry (`detail`, `receipt`, `class`, `kind`, `violation`, …).
 */
export class SyncbatError extends Error {
  override readonly name: string = 'SyncbatError';
  readonly code: SyncbatErrorCode;

  constructor(code: SyncbatErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Narrowing helper: `isSyncbatError(e, 'ERR_MISSING_HANDLER')`. */
export function isSyncbatError<C extends SyncbatErrorCode>(err: unknown, code?: C): err is SyncbatError & { readonly code: C } {
  return err instanceof SyncbatError && (code === undefined || err.code === code);
}
