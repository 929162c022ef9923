// The dispatch seam: netbat hands each decoded CALL to a Dispatcher (a syncbat core, or a test double).
// Invariant: every dispatcher failure maps to exactly one runtime ERR token, in `runtimeErrorCode` and nowhere else.

import type { RuntimeErrorCode } from './errors.js';

export interface DispatchOptions {
  /** Aborted when the calling connection goes away or the server shuts down. */
  readonly signal?: AbortSignal;
  /**
   * The client, when the server has `auth` configured: its principal and its grant tokens. A syncbat core
   * checks the operation's required capabilities against them and records the principal in the receipt.
   */
  readonly caller?: { readonly principal: string; readonly capabilities: readonly string[] };
}

export interface DispatchResult {
  /** Outcome label from the runtime (e.g. a receipt outcome). netbat does not interpret it. */
  readonly outcome: string;
  readonly output: Uint8Array;
}

/**
 * What netbat serves. A failure is signalled by throwing (or rejecting with) an error whose `code`
 * — a string property or a `code()` method — is one of `unknown_operation`, `missing_handler`,
 * `handler`, `receipt_sink` or `runtime`. Anything else is a handler fault: it is answered with
 * `ERR runtime`, counted in `stats().handlerFaults`, and never takes the server down.
 */
export interface Dispatcher {
  dispatch(name: string, input: Uint8Array, opts?: DispatchOptions): Promise<DispatchResult>;
}

const RUNTIME_CODES: ReadonlySet<string> = new Set<RuntimeErrorCode>([
  'unknown_operation',
  'missing_handler',
  'handler',
  'receipt_sink',
  'runtime',
]);

/** The runtime token an error declares, or `undefined` when it declares none netbat knows. */
export function declaredRuntimeCode(err: unknown): RuntimeErrorCode | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  let code: unknown = (err as { code: unknown }).code;
  if (typeof code === 'function') {
    try {
      code = (code as () => unknown).call(err);
    } catch {
      return undefined;
    }
  }
  return typeof code === 'string' && RUNTIME_CODES.has(code) ? (code as RuntimeErrorCode) : undefined;
}

/**
 * Maps a dispatcher failure to its ERR token (README § The dispatcher seam): UnknownOperation,
 * MissingHandler, Handler and ReceiptSink keep their own tokens; every other error is `runtime`.
 */
export function runtimeErrorCode(err: unknown): RuntimeErrorCode {
  return declaredRuntimeCode(err) ?? 'runtime';
}
