// Turns one NETBAT/1 request line into its response line: decode, dispatch, bound the output, encode.
// Invariant: never throws; every failure — including a dispatcher that throws synchronously — becomes an ERR line.

import type { Identity } from './auth.js';
import { declaredRuntimeCode, type Dispatcher } from './dispatcher.js';
import { NetbatError } from './errors.js';
import { decodeRequestLine, encodeErrResponse, encodeOkResponseForSocket } from './frame.js';
import type { Limits } from './limits.js';
import type { StatsCounters } from './stats.js';

export interface RequestContext {
  readonly dispatcher: Dispatcher;
  readonly limits: Limits;
  readonly stats: StatsCounters;
}

/**
 * `identity` is present when the server has `auth`: the operation must be granted, and the dispatch runs as that
 * caller. A line that fails before dispatch is answered at once; a dispatch is followed with one `.then` (no async
 * frame per request).
 */
export function answerRequest(ctx: RequestContext, line: Uint8Array, signal: AbortSignal, identity?: Identity): Uint8Array | Promise<Uint8Array> {
  let operation: string;
  let input: Uint8Array;
  try {
    ({ operation, input } = decodeRequestLine(line, ctx.limits));
  } catch (err) {
    return fail(ctx, err instanceof NetbatError ? err : NetbatError.malformedRequest('undecodable line'));
  }

  if (identity !== undefined && !identity.grants.allowsOperation(operation)) {
    ctx.stats.bump('unauthorized');
    return fail(ctx, NetbatError.unauthorized(`${identity.principal} is not granted \`${operation}\``));
  }
  const options = identity === undefined ? { signal } : { signal, caller: { principal: identity.principal, capabilities: identity.grants.tokens } };

  let pending: unknown;
  try {
    // A synchronous throw is answered like a rejection.
    pending = ctx.dispatcher.dispatch(operation, input, options);
  } catch (err) {
    return dispatchFailed(ctx, operation, err);
  }
  return Promise.resolve(pending).then(
    (result) => answer(ctx, operation, result),
    (err: unknown) => dispatchFailed(ctx, operation, err),
  );
}

/** The OK line of a dispatch's result, or the ERR line when its output is not bytes or over the limit. */
function answer(ctx: RequestContext, operation: string, result: unknown): Uint8Array {
  const output = typeof result === 'object' && result !== null ? (result as { output?: unknown }).output : undefined;
  if (!(output instanceof Uint8Array)) {
    ctx.stats.bump('handlerFaults');
    return fail(ctx, NetbatError.runtime('runtime', `handler fault in \`${operation}\`: output is not bytes`));
  }
  if (output.length > ctx.limits.maxOutputBytes) return fail(ctx, NetbatError.outputTooLarge(ctx.limits.maxOutputBytes));
  ctx.stats.bump('servedRequests');
  return encodeOkResponseForSocket(output);
}

function dispatchFailed(ctx: RequestContext, operation: string, err: unknown): Uint8Array {
  const code = declaredRuntimeCode(err);
  if (code === undefined) {
    ctx.stats.bump('handlerFaults');
    // An undeclared error is a bug on the server side; its text stays in the process, not on the wire.
    return fail(ctx, NetbatError.runtime('runtime', `handler fault in \`${operation}\``));
  }
  return fail(ctx, NetbatError.runtime(code, err instanceof Error ? err.message : String(err), err));
}

function fail(ctx: RequestContext, error: NetbatError): Uint8Array {
  ctx.stats.bump('failedRequests');
  return encodeErrResponse(error);
}
