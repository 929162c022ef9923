// Turns one NETBAT/1 request line into its response line: decode, dispatch, bound the output, encode.
// Invariant: never throws; every failure — including a dispatcher that throws synchronously — becomes an ERR line.

import type { Identity } from './auth.js';
import { declaredRuntimeCode, type DispatchOptions, type Dispatcher } from './dispatcher.js';
import { NetbatError } from './errors.js';
import { decodeRequestLine, encodeErrResponse, encodeOkResponseForSocket } from './frame.js';
import type { Limits } from './limits.js';
import type { StatsCounters } from './stats.js';

export interface RequestContext {
  readonly dispatcher: Dispatcher;
  readonly limits: Limits;
  readonly stats: StatsCounters;
}

/** Where startRequest leaves the operation it dispatched: the caller's own (reused) object, not one per request. */
export interface DispatchedOperation {
  operation: string;
}

/**
 * The options a connection dispatches with while it has this identity: built once per identity, not per request.
 * `identity` is present when the server has `auth`: the dispatch then runs as that caller.
 */
export function dispatchOptions(signal: AbortSignal, identity: Identity | undefined): DispatchOptions {
  return Object.freeze(
    identity === undefined ? { signal } : { signal, caller: Object.freeze({ principal: identity.principal, capabilities: identity.grants.tokens }) },
  );
}

/**
 * Decodes the line, checks the grant and starts the dispatch. A line that fails before dispatch (or a dispatcher
 * that throws synchronously) gets its ERR line at once; otherwise the dispatch's pending result comes back, to be
 * turned into a line by answerDispatch or answerDispatchFailure, with its operation left in `into.operation`.
 */
export function startRequest(
  ctx: RequestContext,
  line: Uint8Array,
  identity: Identity | undefined,
  options: DispatchOptions,
  into: DispatchedOperation,
): Uint8Array | Promise<unknown> {
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
  into.operation = operation;
  try {
    // A synchronous throw is answered like a rejection; a native promise is passed through as it is (no wrapper).
    return Promise.resolve(ctx.dispatcher.dispatch(operation, input, options));
  } catch (err) {
    return answerDispatchFailure(ctx, operation, err);
  }
}

/**
 * The OK line of a dispatch's result, or the ERR line when its output is not bytes or over the limit. The OK line is
 * written into `spare` when that is free and of its size.
 */
export function answerDispatch(ctx: RequestContext, operation: string, result: unknown, spare?: Buffer): Uint8Array {
  const output = typeof result === 'object' && result !== null ? (result as { output?: unknown }).output : undefined;
  if (!(output instanceof Uint8Array)) {
    ctx.stats.bump('handlerFaults');
    return fail(ctx, NetbatError.runtime('runtime', `handler fault in \`${operation}\`: output is not bytes`));
  }
  if (output.length > ctx.limits.maxOutputBytes) return fail(ctx, NetbatError.outputTooLarge(ctx.limits.maxOutputBytes));
  ctx.stats.bumpServed();
  return encodeOkResponseForSocket(output, spare);
}

/** The ERR line of a failed dispatch: its declared runtime code, or `runtime` for a handler fault. */
export function answerDispatchFailure(ctx: RequestContext, operation: string, err: unknown): Uint8Array {
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
