// The one error class of @batpak/core: every failure a caller can see is a BatpakError with a stable
// `code`. Codes are API; the table in README.md is the user's reference and must match `ERROR_CODES`.

/** Every code a `BatpakError` can carry. Stable API: codes are never renamed, only added. */
export const ERROR_CODES = [
  'ERR_INVALID_COORDINATE',
  'ERR_INVALID_KIND',
  'ERR_INVALID_PAYLOAD',
  'ERR_INVALID_OPTION',
  'ERR_INVALID_ARGUMENT',
  'ERR_NOT_FOUND',
  'ERR_STORE_CLOSED',
  'ERR_STORE_LOCKED',
  'ERR_READ_ONLY',
  'ERR_CORRUPT_SEGMENT',
  'ERR_CORRUPT_KEYSET',
  'ERR_CORRUPT_MARKER',
  'ERR_CHAIN_VERIFICATION_FAILED',
  'ERR_KIND_COLLISION',
  'ERR_UPCAST_CHAIN_INCOMPLETE',
  'ERR_FUTURE_PAYLOAD_VERSION',
  'ERR_SIGNING_KEY_REQUIRED',
  'ERR_SIGNING_FAILED',
  'ERR_PAYLOAD_SHREDDED',
  'ERR_PAYLOAD_DECRYPT_FAILED',
  'ERR_KEYSET_MISSING',
  'ERR_SHRED_SELECTOR_MISMATCH',
  'ERR_ENCRYPTION_NOT_CONFIGURED',
  'ERR_SEQUENCE_CONFLICT',
  'ERR_PAYLOAD_TOO_LARGE',
  'ERR_BATCH_TOO_LARGE',
  'ERR_WRITER_FAILED',
  'ERR_COMPACTION_RECOVERY_REFUSED',
  'ERR_INVALID_RECEIPT',
  'ERR_IO',
  'ERR_NO_SPACE',
  'ERR_ABORTED',
  'ERR_IDEMPOTENCY_CONFLICT',
  'ERR_PERMISSION_DENIED',
  'ERR_NOT_REGULAR_FILE',
  'ERR_INVALID_ATTESTATION',
  'ERR_NOT_A_STORE',
  'ERR_CORRUPT_METADATA',
  'ERR_FUTURE_FORMAT_VERSION',
  'ERR_REPLICA_REFUSED',
  'ERR_CORRUPT_CURSOR',
  'ERR_CONSUMER_LOCKED',
] as const;

export type BatpakErrorCode = (typeof ERROR_CODES)[number];

/** Structured context attached to an error: which event, file, offset or field it concerns. */
export interface BatpakErrorDetails {
  readonly eventId?: string;
  readonly file?: string;
  readonly offset?: number;
  readonly field?: string;
  readonly index?: number;
  readonly [key: string]: unknown;
}

const RETRYABLE: ReadonlySet<BatpakErrorCode> = new Set<BatpakErrorCode>([
  'ERR_IO',
  'ERR_NO_SPACE',
  'ERR_STORE_LOCKED',
  'ERR_CONSUMER_LOCKED',
  'ERR_SEQUENCE_CONFLICT',
  'ERR_ABORTED',
]);

export class BatpakError extends Error {
  override readonly name = 'BatpakError';
  readonly code: BatpakErrorCode;
  readonly details: BatpakErrorDetails;

  constructor(code: BatpakErrorCode, message: string, options: { cause?: unknown; details?: BatpakErrorDetails } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }

  /** True when the same call may succeed later without any change by the caller (I/O, lock, conflict). */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }

  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }

  // Factories for the failures thrown from many places, so each keeps one message format (callers and
  // tests match on these texts) and one set of details.

  /** ERR_INVALID_ARGUMENT: a malformed argument; `details.field` names it when there is one. */
  static invalidArgument(message: string, details?: BatpakErrorDetails, cause?: unknown): BatpakError {
    return new BatpakError('ERR_INVALID_ARGUMENT', message, { ...(details === undefined ? {} : { details }), ...(cause === undefined ? {} : { cause }) });
  }

  /**
   * ERR_CORRUPT_SEGMENT: `corrupt segment <file> at offset <offset>: <why>`, with `file`, `offset` and
   * `reason` (= why) in details, plus `eventId` when the damage concerns one event.
   */
  static corruptSegment(file: string, offset: number, why: string, extra: { eventId?: string; cause?: unknown } = {}): BatpakError {
    return new BatpakError('ERR_CORRUPT_SEGMENT', `corrupt segment ${file} at offset ${offset}: ${why}`, {
      ...(extra.cause === undefined ? {} : { cause: extra.cause }),
      details: { file, offset, reason: why, ...(extra.eventId === undefined ? {} : { eventId: extra.eventId }) },
    });
  }

  /** ERR_ABORTED: `<op> was aborted`; `cause` is the signal's reason when there is one. */
  static aborted(op: string, cause?: unknown): BatpakError {
    return new BatpakError('ERR_ABORTED', `${op} was aborted`, cause === undefined ? {} : { cause });
  }

  /** Throws `BatpakError.aborted(op, signal.reason)` if `signal` has fired; a no-op without a signal. */
  static throwIfAborted(signal: AbortSignal | undefined, op: string): void {
    if (signal?.aborted === true) throw BatpakError.aborted(op, signal.reason);
  }

  /** ERR_INVALID_KIND with the caller's message; `details.index` names the batch item when there is one. */
  static invalidKind(message: string, index?: number): BatpakError {
    return new BatpakError('ERR_INVALID_KIND', message, { details: index === undefined ? {} : { index } });
  }

  /** ERR_INVALID_PAYLOAD: a payload that cannot be encoded, decoded or validated; details name the event, field or batch item. */
  static invalidPayload(message: string, details?: BatpakErrorDetails, cause?: unknown): BatpakError {
    return new BatpakError('ERR_INVALID_PAYLOAD', message, { ...(details === undefined ? {} : { details }), ...(cause === undefined ? {} : { cause }) });
  }

  /** ERR_STORE_CLOSED with the caller's message (`the store is closed`, `the Rust store is closed`, …). */
  static storeClosed(message: string): BatpakError {
    return new BatpakError('ERR_STORE_CLOSED', message);
  }

  /** ERR_STORE_LOCKED: another writer holds the directory's lock; `holder` says how that was seen. */
  static storeLocked(lockFile: string, holder: string): BatpakError {
    return new BatpakError('ERR_STORE_LOCKED', `store is locked by another writer (${holder}): ${lockFile}`, { details: { file: lockFile } });
  }

  /** ERR_NOT_FOUND with the caller's message (`no event <id>`, `no store directory at <dir>`, …). */
  static notFound(message: string, details?: BatpakErrorDetails): BatpakError {
    return new BatpakError('ERR_NOT_FOUND', message, details === undefined ? {} : { details });
  }

  /** ERR_SIGNING_FAILED: `<signer> failed: <reason>` when a signer threw, keeping the thrown value as cause. */
  static signerFailed(signer: string, err: unknown): BatpakError {
    return new BatpakError('ERR_SIGNING_FAILED', `${signer} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }

  /** ERR_SIGNING_FAILED: a signer returned something that is not a 64-byte Ed25519 signature. */
  static badSignature(signer: string): BatpakError {
    return new BatpakError('ERR_SIGNING_FAILED', `${signer} returned something other than a 64-byte signature`);
  }
}

/** Narrowing helper: `isBatpakError(e, 'ERR_NOT_FOUND')`. */
export function isBatpakError(err: unknown, code?: BatpakErrorCode): err is BatpakError {
  return err instanceof BatpakError && (code === undefined || err.code === code);
}

/** Node-style errno of an error thrown by an `Fs` implementation, if it has one. */
export function errnoOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** The code an errno becomes: the operator's remedy differs (free space, fix permissions, remove the file). */
function codeOfErrno(errno: string | undefined): BatpakErrorCode {
  if (errno === 'ENOSPC' || errno === 'EDQUOT') return 'ERR_NO_SPACE';
  if (errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS') return 'ERR_PERMISSION_DENIED';
  // A symlink loop, or a FIFO/socket/device where a store file belongs (refused, never opened blocking).
  if (errno === 'ELOOP' || errno === 'ENXIO' || errno === 'ENOTREG') return 'ERR_NOT_REGULAR_FILE';
  return 'ERR_IO';
}

/**
 * Wraps an `Fs` failure into ERR_NO_SPACE (ENOSPC, EDQUOT), ERR_PERMISSION_DENIED (EACCES, EPERM, EROFS),
 * ERR_NOT_REGULAR_FILE (ELOOP, ENXIO, ENOTREG) or ERR_IO, keeping the original as `cause` and the errno
 * as `details.errno`. A BatpakError passes through unchanged so typed errors from deeper layers keep their code.
 */
export function ioError(err: unknown, what: string, details: BatpakErrorDetails = {}): BatpakError {
  if (err instanceof BatpakError) return err;
  const errno = errnoOf(err);
  const code = codeOfErrno(errno);
  const reason = err instanceof Error ? err.message : String(err);
  return new BatpakError(code, `${what}: ${reason}`, { cause: err, details: { ...details, errno } });
}

/**
 * At the package edge: a BatpakError passes, a Node-style errno error becomes one (ioError), anything
 * else is a bug and is rethrown unchanged rather than disguised as I/O.
 */
export function typedIoError(err: unknown, what: string, details: BatpakErrorDetails = {}): unknown {
  if (err instanceof BatpakError) return err;
  const errno = errnoOf(err);
  return errno !== undefined && /^E[A-Z0-9]+$/.test(errno) ? ioError(err, what, details) : err;
}
