// The netbat client: `call()` over one reused NETBAT/1 connection, `subscribe()` on a connection of its own.
// Invariant: calls on one client are strictly sequential, so each response line pairs with its request.

import { findOperationNameViolation } from '@batpak/syncbat';
import { encodeAuthLine } from './auth-line.js';
import { openSocket, LineSocket, responseTimeout, type EndpointOptions } from './client-socket.js';
import { openSubscription, type Subscription, type SubscribeOptions } from './client-subscription.js';
import { NetbatError } from './errors.js';
import { decodeRequestLine, decodeResponseLine, encodeRequest } from './frame.js';
import { DEFAULT_LIMITS, resolveLimits, type Limits } from './limits.js';

export interface ClientOptions extends EndpointOptions {
  /** Bounds the client decodes with (stream frames use the matching maximal line length). */
  readonly limits?: Partial<Limits>;
  /** Longest response line accepted. Default 1 MiB. */
  readonly maxResponseBytes?: number;
  /** A pre-shared token: every connection this client opens starts with `NETBAT/1 AUTH token <hex>`. */
  readonly auth?: { readonly token: string | Uint8Array };
}

export interface CallOptions {
  /**
   * Aborting rejects the call with a NetbatError `aborted` at once. A call still waiting its turn is never
   * sent; one already sent drops the connection (its answer could no longer be paired), and the next call
   * opens a fresh one.
   */
  readonly signal?: AbortSignal;
}

export interface NetbatClient {
  /** Runs `operation` on the server. Rejects with a NetbatError carrying the server's ERR code. */
  call(operation: string, input?: Uint8Array, options?: CallOptions): Promise<Uint8Array>;
  /** Opens a subscription on its own connection. */
  subscribe(subscriptionId: string, options?: SubscribeOptions): Subscription;
  /** Closes the call connection and every open subscription. */
  close(): Promise<void>;
  /** `close()`, so `await using client = await connect(…)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * The error the server would answer for a bad operation name, found locally: a space or newline in
 * the name would otherwise split the frame or inject a second one.
 */
function localNameError(operation: string): NetbatError | undefined {
  if (findOperationNameViolation(operation) === undefined) return undefined;
  try {
    decodeRequestLine(encodeRequest(operation, new Uint8Array()), { ...DEFAULT_LIMITS, maxLineBytes: Infinity });
  } catch (err) {
    if (err instanceof NetbatError) return err;
  }
  return NetbatError.malformedRequest('operation has invalid bytes');
}

/** Sends the AUTH line and reads its answer; a refusal rejects with the server's code (`unauthorized`, `too_many_connections`). */
async function authenticate(conn: LineSocket, token: string | Uint8Array, responseMs: number): Promise<void> {
  await conn.write(encodeAuthLine(token));
  const read = await conn.read(responseMs);
  if (read.kind !== 'line') throw NetbatError.io('connection closed before the AUTH answer');
  const response = decodeResponseLine(read.line);
  if (!response.ok) throw new NetbatError(response.code, response.message);
}

/** A function, not an inline test, so TypeScript does not keep a narrowing from before an `await`. */
function fired(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/**
 * Settles like `run`, or rejects with `aborted` as soon as `signal` fires; the one listener is removed
 * when either happens, so a long-lived signal shared by many calls does not accumulate listeners.
 */
function abortable<T>(run: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(NetbatError.aborted(what, signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    run.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Connects (eagerly, so a wrong address fails here) and returns a client. */
export async function connect(options: ClientOptions): Promise<NetbatClient> {
  const limits = resolveLimits(options.limits);
  const maxResponse = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const responseMs = responseTimeout(options);
  const open = async (): Promise<LineSocket> => {
    const fresh = new LineSocket(await openSocket(options), maxResponse);
    if (options.auth === undefined) return fresh;
    try {
      await authenticate(fresh, options.auth.token, responseMs);
      return fresh;
    } catch (err) {
      fresh.destroy();
      throw err instanceof NetbatError ? err : NetbatError.io(String(err), err);
    }
  };
  let conn: LineSocket | undefined = await open();
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;
  const subscriptions = new Set<Subscription>();

  async function exchange(request: Uint8Array, signal: AbortSignal | undefined, what: string): Promise<Uint8Array> {
    if (closed) throw NetbatError.io('client is closed');
    // Aborted while waiting its turn: nothing was sent, so the connection stays usable for the next call.
    if (signal?.aborted === true) throw NetbatError.aborted(what, signal.reason);
    // The server may have closed an idle connection; a fresh one is opened before writing, never after.
    if (conn === undefined || !conn.usable) {
      conn?.destroy();
      conn = undefined;
      conn = await open();
    }
    const current = conn;
    try {
      await current.write(request);
      const read = await current.read(responseMs, responseMs, signal);
      if (fired(signal)) {
        // The answer may still arrive; on this connection it would pair with the next request.
        current.destroy();
        throw NetbatError.aborted(what, signal?.reason);
      }
      switch (read.kind) {
        case 'line': {
          const response = decodeResponseLine(read.line);
          if (response.ok) return response.output;
          // The server closes after line_too_long; drop ours too so the next call reconnects.
          if (response.code === 'line_too_long') current.destroy();
          throw new NetbatError(response.code, response.message);
        }
        case 'too_long':
          throw NetbatError.io(`response line exceeded ${maxResponse} bytes`);
        case 'timeout':
          throw NetbatError.io(`no response within ${responseMs} ms`);
        case 'eof':
        case 'unterminated':
        case 'closed':
          throw NetbatError.io('connection closed before a response');
      }
    } catch (err) {
      if (!(err instanceof NetbatError) || err.code === 'io' || err.code === 'aborted') current.destroy();
      throw err instanceof NetbatError ? err : NetbatError.io(String(err), err);
    }
  }

  async function close(): Promise<void> {
    closed = true;
    await queue;
    conn?.destroy();
    conn = undefined;
    for (const sub of subscriptions) sub.close();
  }

  return {
    call(operation, input = new Uint8Array(), callOptions = {}) {
      const signal = callOptions.signal;
      if (signal?.aborted === true) return Promise.reject(NetbatError.aborted(`call ${operation}`, signal.reason));
      const invalid = localNameError(operation);
      if (invalid !== undefined) return Promise.reject(invalid);
      // The queue follows the exchange itself, not the caller's (possibly early-rejected) promise, so an
      // aborted call never lets the next request overtake one still on the wire.
      const what = `call ${operation}`;
      const run = queue.then(() => exchange(encodeRequest(operation, input), signal, what));
      queue = run.catch(() => undefined);
      return signal === undefined ? run : abortable(run, signal, what);
    },

    subscribe(subscriptionId, subscribeOptions = {}) {
      if (closed) throw NetbatError.io('client is closed');
      // The idle call connection (if any) becomes the subscription's, so a client never holds a server
      // permit it is not using; the next call() opens a fresh one.
      const socket = queue.then(async () => {
        const idle = conn;
        conn = undefined;
        if (idle !== undefined && idle.usable) return idle.detach();
        idle?.destroy();
        return (await open()).detach();
      });
      queue = socket.catch(() => undefined);
      const sub = openSubscription(socket, options, limits, subscriptionId, subscribeOptions, () => subscriptions.delete(sub));
      subscriptions.add(sub);
      return sub;
    },

    close,
    [Symbol.asyncDispose]: close,
  };
}
