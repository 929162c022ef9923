// What every terminal handler shares: decoding its request and mapping store failures to syncbat handler errors.
// Invariant: a caller's mistake (bad bytes, bad id, bad coordinate or kind) is `invalid_input`; anything the store could not do is `failed`.

import { isBatpakError } from '@batpak/core';
import { HandlerError } from '@batpak/syncbat';
import type { MessageCodec } from './wire.js';

// ERR_IDEMPOTENCY_CONFLICT: the caller reused a key for a different request: the caller's to fix.
const CALLER_CODES: ReadonlySet<string> = new Set(['ERR_INVALID_ARGUMENT', 'ERR_INVALID_COORDINATE', 'ERR_INVALID_KIND', 'ERR_PAYLOAD_TOO_LARGE', 'ERR_IDEMPOTENCY_CONFLICT']);

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The request decoded, or `invalid_input: decode request: …` (Rust's wording). */
export function decodeRequest<T>(codec: MessageCodec<T>, input: Uint8Array): T {
  try {
    return codec.decode(input);
  } catch (err) {
    throw HandlerError.invalidInput(`decode request: ${messageOf(err)}`, { cause: err });
  }
}

/** `<what>: <ERR_CODE> <message>` as the handler failure, so a client sees the store's stable code. */
export function storeFailure(what: string, err: unknown): HandlerError {
  if (isBatpakError(err)) {
    const text = `${what}: ${err.code} ${err.message}`;
    return CALLER_CODES.has(err.code) ? HandlerError.invalidInput(text, { cause: err }) : HandlerError.failed(text, { cause: err });
  }
  return HandlerError.failed(`${what}: ${messageOf(err)}`, { cause: err });
}
