// Exit codes and the CLI's own error: every failure leaves the process as one line with a stable code and a documented exit status.
// Invariant (INV-CLI-EXIT-CODES): 0 done/intact, 1 verification found damage or an invalid receipt (import: in its source), 2 unusable (bad arguments, missing dir, corrupt keyset, lock held, I/O), 130 interrupted.

import { isBatpakError } from '@batpak/core';

export const EXIT = Object.freeze({
  /** The job was done; for `verify`, the store is intact and every receipt is valid. */
  OK: 0,
  /** `verify`: the store is damaged or tampered with, or a receipt is invalid; `import`: its Rust source is (nothing imported). */
  DAMAGED: 1,
  /** The job could not be done: bad arguments, missing directory, corrupt keyset, lock held, I/O failure. */
  UNUSABLE: 2,
  /** Ctrl-C (SIGINT) or SIGTERM stopped a long command; the store was closed cleanly. */
  INTERRUPTED: 130,
});

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure of the CLI itself (usage, files it reads). Core and netbat errors keep their own class and code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: string;
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, options: { exitCode?: ExitCode; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitCode = options.exitCode ?? EXIT.UNUSABLE;
  }

  static usage(message: string): CliError {
    return new CliError('ERR_USAGE', message);
  }
}

/** An errno (`ENOENT`, `EACCES`…) a Node call threw, if `err` carries one. */
export function errnoOf(err: unknown): string | undefined {
  if (err instanceof CliError || isBatpakError(err)) return undefined;
  const code = typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : undefined;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/**
 * The documented code an errno is printed as (INV-TYPED-ERRORS): never a bare `EACCES`. The errno itself
 * stays in the message, for the operator who wants it.
 */
export function codeOfErrno(errno: string): string {
  if (errno === 'ENOENT' || errno === 'ENOTDIR') return 'ERR_NOT_FOUND';
  if (errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS') return 'ERR_PERMISSION_DENIED';
  if (errno === 'ELOOP' || errno === 'ENXIO' || errno === 'ENOTREG') return 'ERR_NOT_REGULAR_FILE';
  if (errno === 'ENOSPC' || errno === 'EDQUOT') return 'ERR_NO_SPACE';
  return 'ERR_IO';
}

/** The stable code of any error the CLI can meet (`ERR_INTERNAL` for a bug). */
export function codeOf(err: unknown): string {
  if (err instanceof CliError || isBatpakError(err)) return err.code;
  const errno = errnoOf(err);
  if (errno !== undefined) return codeOfErrno(errno);
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    // netbat codes are lowercase tokens; node's own ERR_* are stable: both are printed as is.
    return (err as { code: string }).code;
  }
  return 'ERR_INTERNAL';
}

/** An errno error's message without the leading `ENOENT: ` (the code says it) and with the errno at the end. */
export function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const errno = errnoOf(err);
  if (errno === undefined) return text;
  return `${text.startsWith(`${errno}: `) ? text.slice(errno.length + 2) : text} (${errno})`;
}

/** The exit status an error leaves the process with. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  if (isBatpakError(err, 'ERR_ABORTED')) return EXIT.INTERRUPTED;
  return EXIT.UNUSABLE;
}
