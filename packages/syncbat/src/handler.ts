// Handlers and HandlerError: what an operation runs, and the two failure classes it may report.
// Invariant: every handler failure becomes class `invalid_input` or `failed` (wire commitments); anything thrown maps to `failed`.

import type { Ctx } from './ctx.js';
import { RECEIPT_LIMITS, boundText, utf8Length } from './receipt/limits.js';
import { HANDLER_ERROR_CODES, SyncbatError, type HandlerErrorCode } from './syncbat-error.js';

/** Maps input bytes to output bytes. Throw a HandlerError (or anything: it becomes `failed`). */
export type Handler = (input: Uint8Array, ctx: Ctx) => Uint8Array | Promise<Uint8Array>;

export type HandlerErrorClass = 'invalid_input' | 'failed';

/** The SyncbatError a handler throws to fail on purpose; `class` is what the receipt and the wire record. */
export class HandlerError extends SyncbatError {
  override readonly name = 'HandlerError';
  declare readonly code: HandlerErrorCode;
  readonly class: HandlerErrorClass;
  /** The handler's own text, without the class prefix; this is what the receipt records. */
  readonly reason: string;

  /** A reason over RECEIPT_LIMITS.messageBytes throws SyncbatError `ERR_LIMIT_EXCEEDED` (recorded as `failed`). */
  constructor(errorClass: HandlerErrorClass, reason: string, options?: { cause?: unknown }) {
    const n = typeof reason === 'string' ? utf8Length(reason, RECEIPT_LIMITS.messageBytes) : 0;
    if (n > RECEIPT_LIMITS.messageBytes) throw new SyncbatError('ERR_LIMIT_EXCEEDED', `HandlerError reason is ${n} bytes; the limit is ${RECEIPT_LIMITS.messageBytes}`);
    super(HANDLER_ERROR_CODES[errorClass], `${errorClass}: ${reason}`, options);
    this.class = errorClass;
    this.reason = reason;
  }

  static invalidInput(reason: string, options?: { cause?: unknown }): HandlerError {
    return new HandlerError('invalid_input', reason, options);
  }

  static failed(reason: string, options?: { cause?: unknown }): HandlerError {
    return new HandlerError('failed', reason, options);
  }
}

/**
 * The (class, message) a thrown value is recorded as. A foreign throw is `failed` with its message, cut to
 * RECEIPT_LIMITS.messageBytes (a HandlerError's reason is checked when it is made).
 */
export function handlerCause(thrown: unknown): { readonly code: HandlerErrorClass; readonly message: string } {
  if (thrown instanceof HandlerError) return { code: thrown.class, message: boundText(thrown.reason, RECEIPT_LIMITS.messageBytes) };
  let message: string;
  try {
    message = thrown instanceof Error ? String(thrown.message) : String(thrown);
  } catch {
    message = 'handler threw a value that cannot be described';
  }
  return { code: 'failed', message: boundText(message, RECEIPT_LIMITS.messageBytes) };
}

/** Whether a handler's (or guard's) result must be awaited: a promise or any other thenable. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
