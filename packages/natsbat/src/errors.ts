// NatsbatError: the one error class of @batpak/natsbat, with a stable `code` per failure and a static
// factory per code so a throw site reads as a sentence. Codes are API: never renamed, only added.

/** Every code a `NatsbatError` can carry; README.md § Errors is the user's reference. */
export const NATSBAT_ERROR_CODES = [
  'ERR_INVALID_OPTION',
  'ERR_ALREADY_RUNNING',
  'ERR_FENCED',
  'ERR_STREAM_DIVERGED',
  'ERR_STREAM_BEHIND',
  'ERR_STREAM_CONFIG',
  'ERR_WATERMARK_INVALID',
  'ERR_PAYLOAD_TOO_LARGE',
  'ERR_PUBLISH_FAILED',
  'ERR_READ_FAILED',
  'ERR_MALFORMED_MESSAGE',
  'ERR_IO',
  'ERR_ABORTED',
  'ERR_NOT_REPLICABLE',
  'ERR_REPLICA_REFUSED',
] as const;

export type NatsbatErrorCode = (typeof NATSBAT_ERROR_CODES)[number];

/** Structured context: which event, stream sequence or field an error concerns. */
export interface NatsbatErrorDetails {
  readonly eventId?: string;
  readonly streamSequence?: bigint;
  readonly globalSequence?: bigint;
  readonly field?: string;
  readonly [key: string]: unknown;
}

// A fence or a lost connection is cleared by starting the exporter again (it reconciles first); the
// other codes need a change by the operator (configuration, data, or the other exporter stopped).
const RETRYABLE: ReadonlySet<NatsbatErrorCode> = new Set<NatsbatErrorCode>(['ERR_FENCED', 'ERR_PUBLISH_FAILED', 'ERR_READ_FAILED', 'ERR_IO', 'ERR_ABORTED']);

type Options = { readonly cause?: unknown; readonly details?: NatsbatErrorDetails };

export class NatsbatError extends Error {
  override readonly name = 'NatsbatError';
  readonly code: NatsbatErrorCode;
  readonly details: NatsbatErrorDetails;

  constructor(code: NatsbatErrorCode, message: string, options: Options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }

  /** True when starting the same export again may succeed without any other change. */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }

  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }

  static INVALID_OPTION(message: string, field: string): NatsbatError {
    return new NatsbatError('ERR_INVALID_OPTION', message, { details: { field } });
  }
  static ALREADY_RUNNING(): NatsbatError {
    return new NatsbatError('ERR_ALREADY_RUNNING', 'this exporter is already running; one run at a time');
  }
  static FENCED(message: string, options: Options = {}): NatsbatError {
    return new NatsbatError('ERR_FENCED', message, options);
  }
  static STREAM_DIVERGED(message: string, options: Options = {}): NatsbatError {
    return new NatsbatError('ERR_STREAM_DIVERGED', message, options);
  }
  static STREAM_BEHIND(message: string, options: Options = {}): NatsbatError {
    return new NatsbatError('ERR_STREAM_BEHIND', message, options);
  }
  static STREAM_CONFIG(message: string, options: Options = {}): NatsbatError {
    return new NatsbatError('ERR_STREAM_CONFIG', message, options);
  }
  static WATERMARK_INVALID(message: string, options: Options = {}): NatsbatError {
    return new NatsbatError('ERR_WATERMARK_INVALID', message, options);
  }
  static PAYLOAD_TOO_LARGE(message: string, options: Options = {}): NatsbatError {
    return new NatsbatError('ERR_PAYLOAD_TOO_LARGE', message, options);
  }
  static PUBLISH_FAILED(message: string, options: Options = {}): NatsbatError {
    return new NatsbatError('ERR_PUBLISH_FAILED', message, options);
  }
  static READ_FAILED(message: string, options: Options = {}): NatsbatError {
    return new NatsbatError('ERR_READ_FAILED', message, options);
  }
  static MALFORMED_MESSAGE(message: string, options: Options = {}): NatsbatError {
    return new NatsbatError('ERR_MALFORMED_MESSAGE', message, options);
  }
  static IO(message: string, options: Options = {}): NatsbatError {
    return new NatsbatError('ERR_IO', message, options);
  }
  /** A message replicate cannot use (a format-1 export carries no frame). */
  static NOT_REPLICABLE(message: string, options: Options = {}): NatsbatError {
    return new NatsbatError('ERR_NOT_REPLICABLE', message, options);
  }
  /** The replica refused a group (core's ERR_REPLICA_REFUSED as `cause`, its reason in `details.reason`); nothing of it was written. */
  static REPLICA_REFUSED(message: string, options: Options = {}): NatsbatError {
    return new NatsbatError('ERR_REPLICA_REFUSED', message, options);
  }
  static ABORTED(what: string, cause?: unknown): NatsbatError {
    return new NatsbatError('ERR_ABORTED', `${what} was aborted`, cause === undefined ? {} : { cause });
  }
}

/** Narrowing helper: `isNatsbatError(e, 'ERR_FENCED')`. */
export function isNatsbatError(err: unknown, code?: NatsbatErrorCode): err is NatsbatError {
  return err instanceof NatsbatError && (code === undefined || err.code === code);
}

/** The message of any thrown value, for wrapping it into a typed error. */
export function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
