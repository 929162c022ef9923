// The netbat listener: options, admission (connection limit), and shutdown around per-connection handling.
// Invariant: no peer input and no dispatcher failure can crash the process or stop the listener; only close() stops it.

import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { Authority, type AuthOptions } from './auth.js';
import { ClientTally, DEFAULT_MAX_CONNECTIONS_PER_CLIENT } from './client-limits.js';
import { handleConnection, type ConnectionContext } from './connection.js';
import type { Dispatcher } from './dispatcher.js';
import { NetbatError } from './errors.js';
import { findInvalidLimit, resolveLimits, type Limits } from './limits.js';
import { PermitPool } from './permit-pool.js';
import { IdleReclaimer } from './reclaim.js';
import { StatsCounters, type ServerStats } from './stats.js';
import type { SubscriptionSource } from './subscription-source.js';
import { createTlsContext, type TlsServerOptions } from './tls-config.js';
import { findInvalidTimeout, resolveTimeouts, type Timeouts } from './timeouts.js';

/** Default in-flight cap of the `concurrent` connection limit. */
export const DEFAULT_MAX_CONNECTIONS = 64;
/** Default server-side cap on a subscription's unacknowledged window. */
export const DEFAULT_MAX_SUBSCRIPTION_WINDOW = 256;
/** Default time a full window may wait for an ACK before `slow_consumer`. */
export const DEFAULT_ACK_TIMEOUT_MS = 5_000;

/**
 * `concurrent` (default, max 64): at most `max` connections are served at once; the next one is
 * accepted and held paused until a permit frees — never refused. `lifetime`: stop listening after
 * `max` accepted connections. `unlimited`: no gate.
 */
export type ConnectionLimit =
  | { readonly mode: 'concurrent'; readonly max?: number }
  | { readonly mode: 'lifetime'; readonly max: number }
  | { readonly mode: 'unlimited' };

export interface SubscriptionOptions {
  readonly source: SubscriptionSource;
  /** Cap on the window a client may ask for. Default 256. */
  readonly maxWindow?: number;
  /** How long a full window waits for an ACK before `slow_consumer`. Default 5 s; 0 = fail at once. */
  readonly ackTimeoutMs?: number;
}

/** Default of `fairness.reclaimIdleMs`. */
export const DEFAULT_RECLAIM_IDLE_MS = 1_000;

/** Fair slots: how the permit pool is shared between clients. */
export interface FairnessOptions {
  /**
   * While a client waits for a permit, a connection idle between requests (or a subscription that sent and
   * received nothing) for at least this long is closed and its permit handed over, oldest first, one per
   * waiter. A closed subscription ends `SUB_END <id> <cursor> server.reclaimed`. Default 1 s; `Infinity`
   * turns it off (idle holders then keep their permit until `timeouts.idleMs`).
   */
  readonly reclaimIdleMs?: number;
  /**
   * Connections one client may have open, served or waiting: counted per remote address at accept (more are
   * closed at once) and per authenticated principal (more are answered `too_many_connections`). Default 64.
   */
  readonly maxConnectionsPerClient?: number;
}

export interface ServerOptions {
  /** What CALL frames are dispatched to. */
  readonly dispatcher?: Dispatcher;
  /** Alias of `dispatcher`, for passing a syncbat core under the name `core`. */
  readonly core?: Dispatcher;
  readonly connectionLimit?: ConnectionLimit;
  /**
   * `concurrent` (default): every subscriber streams at once, within the permit pool.
   * `sequential`: one subscription session streams at a time; later subscribers wait, still holding their
   * connection permit (the Node analogue of Rust's inline mode, where a slow session blocks the others).
   */
  readonly subscriptionDispatch?: 'concurrent' | 'sequential';
  /** Serves NETBAT/2 SUBSCRIBE; without it every SUBSCRIBE gets `SUB_ERR … unknown_subscription`. */
  readonly subscriptions?: SubscriptionOptions;
  /** Server-only TLS from PEM; absent means plaintext. */
  readonly tls?: TlsServerOptions;
  readonly limits?: Partial<Limits>;
  readonly timeouts?: Partial<Timeouts>;
  /** Requests served on one connection before it is closed. Default unbounded (until the client leaves or idles out). */
  readonly maxRequestsPerConnection?: number;
  /**
   * Authentication and authorization. Absent: no identities, every operation and subscription is served (the
   * open behaviour of earlier versions). Present: clients authenticate with a token line or a client
   * certificate, get their principal's grants (or `anonymous`, default none), and each CALL and SUBSCRIBE is
   * checked; the dispatcher receives the caller.
   */
  readonly auth?: AuthOptions;
  readonly fairness?: FairnessOptions;
}

export interface ListenAddress {
  readonly port: number;
  readonly host: string;
}

export interface NetbatServer {
  /** Binds and starts accepting. `port` 0 picks a free port; `host` defaults to 127.0.0.1 (netbat has no auth). */
  listen(port?: number, host?: string): Promise<ListenAddress>;
  /** Stops accepting, drops waiting connections, lets in-flight requests answer, ends subscriptions; resolves when every socket is closed. */
  close(): Promise<void>;
  /** `close()`, so `await using server = createServer(…)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
  stats(): ServerStats;
}

function positiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

interface Admission {
  readonly pool: PermitPool;
  /** Total connections to accept before the listener closes (lifetime mode). */
  readonly lifetime: number;
}

function admission(limit: ConnectionLimit | undefined): Admission {
  const chosen: ConnectionLimit = limit ?? { mode: 'concurrent' };
  switch (chosen.mode) {
    case 'concurrent': {
      const max = chosen.max ?? DEFAULT_MAX_CONNECTIONS;
      if (!positiveInteger(max)) throw NetbatError.invalidOption('connectionLimit.max must be a positive integer');
      return { pool: new PermitPool(max), lifetime: Infinity };
    }
    case 'lifetime':
      if (!positiveInteger(chosen.max)) throw NetbatError.invalidOption('connectionLimit.max must be a positive integer');
      return { pool: new PermitPool(Infinity), lifetime: chosen.max };
    case 'unlimited':
      return { pool: new PermitPool(Infinity), lifetime: Infinity };
    default:
      throw NetbatError.invalidOption(`unknown connectionLimit.mode ${String((chosen as { mode: unknown }).mode)}`);
  }
}

function checkOptions(options: ServerOptions): Dispatcher {
  const dispatcher = options.dispatcher ?? options.core;
  if (dispatcher === undefined || typeof dispatcher.dispatch !== 'function') {
    throw NetbatError.invalidOption('a dispatcher (or core) with a dispatch() method is required');
  }
  if (options.dispatcher !== undefined && options.core !== undefined && options.dispatcher !== options.core) {
    throw NetbatError.invalidOption('pass either dispatcher or core, not two different ones');
  }
  const dispatch = options.subscriptionDispatch;
  if (dispatch !== undefined && dispatch !== 'concurrent' && dispatch !== 'sequential') {
    throw NetbatError.invalidOption(`subscriptionDispatch must be 'concurrent' or 'sequential'`);
  }
  const max = options.maxRequestsPerConnection;
  if (max !== undefined && max !== Infinity && !positiveInteger(max)) {
    throw NetbatError.invalidOption('maxRequestsPerConnection must be a positive integer');
  }
  const subs = options.subscriptions;
  if (subs !== undefined) {
    if (typeof subs.source?.open !== 'function') throw NetbatError.invalidOption('subscriptions.source.open must be a function');
    if (subs.maxWindow !== undefined && !positiveInteger(subs.maxWindow)) {
      throw NetbatError.invalidOption('subscriptions.maxWindow must be a positive integer');
    }
    const ack = subs.ackTimeoutMs;
    if (ack !== undefined && (typeof ack !== 'number' || Number.isNaN(ack) || ack < 0)) {
      throw NetbatError.invalidOption('subscriptions.ackTimeoutMs must be >= 0');
    }
  }
  const fair = options.fairness;
  if (fair !== undefined) {
    const reclaim = fair.reclaimIdleMs;
    if (reclaim !== undefined && (typeof reclaim !== 'number' || Number.isNaN(reclaim) || reclaim <= 0)) {
      throw NetbatError.invalidOption('fairness.reclaimIdleMs must be a positive number (or Infinity)');
    }
    const perClient = fair.maxConnectionsPerClient;
    if (perClient !== undefined && perClient !== Infinity && !positiveInteger(perClient)) {
      throw NetbatError.invalidOption('fairness.maxConnectionsPerClient must be a positive integer');
    }
  }
  if (options.tls?.clientCa !== undefined && options.auth === undefined) {
    throw NetbatError.invalidOption('tls.clientCa needs auth: client certificates map to principals there');
  }
  return dispatcher;
}

export function createServer(options: ServerOptions): NetbatServer {
  const dispatcher = checkOptions(options);
  const limits = resolveLimits(options.limits);
  const badLimit = findInvalidLimit(limits);
  if (badLimit !== undefined) throw NetbatError.invalidOption(`limits.${badLimit} must be a positive integer`);
  const timeouts = resolveTimeouts(options.timeouts);
  const badTimeout = findInvalidTimeout(timeouts);
  if (badTimeout !== undefined) throw NetbatError.invalidOption(`timeouts.${badTimeout} must be a positive number`);
  const { pool, lifetime } = admission(options.connectionLimit);
  const secureContext: SecureContext | undefined = options.tls === undefined ? undefined : createTlsContext(options.tls);

  const authority = options.auth === undefined ? undefined : new Authority(options.auth);
  const maxConnectionsPerClient = options.fairness?.maxConnectionsPerClient ?? DEFAULT_MAX_CONNECTIONS_PER_CLIENT;

  const stats = new StatsCounters();
  const shutdown = new AbortController();
  const stopping = { aborted: false };
  const subs = options.subscriptions;
  const reclaimer = new IdleReclaimer(pool, options.fairness?.reclaimIdleMs ?? DEFAULT_RECLAIM_IDLE_MS);
  const ctx: ConnectionContext = {
    authority,
    requestClientCertificate: options.tls?.clientCa !== undefined,
    requireClientCertificate: options.tls?.rejectUnauthorized === true,
    reclaimer,
    clients: new ClientTally(maxConnectionsPerClient),
    maxConnectionsPerClient,
    dispatcher,
    limits,
    timeouts,
    stats,
    pool,
    secureContext,
    maxRequestsPerConnection: options.maxRequestsPerConnection ?? Infinity,
    shutdown: shutdown.signal,
    stopping,
    subscriptions: {
      source: subs?.source,
      maxWindow: subs?.maxWindow ?? DEFAULT_MAX_SUBSCRIPTION_WINDOW,
      ackTimeoutMs: subs?.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS,
      gate: options.subscriptionDispatch === 'sequential' ? new PermitPool(1) : undefined,
    },
  };

  const live = new Set<Promise<void>>();
  let accepted = 0;
  let listening = false;
  let closing: Promise<void> | undefined;

  const net: Server = createNetServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket: Socket) => {
    if (shutdown.signal.aborted || accepted >= lifetime) {
      socket.destroy();
      return;
    }
    accepted++;
    if (accepted >= lifetime) stopListening();
    const task = handleConnection(ctx, socket).catch(() => stats.bump('handlerFaults'));
    live.add(task);
    void task.finally(() => live.delete(task));
  });
  // Accept-time failures (EMFILE, ECONNABORTED) are per-connection trouble, never fatal to the listener.
  net.on('error', () => stats.bump('connectionIoFailures'));

  function stopListening(): Promise<void> {
    if (!listening) return Promise.resolve();
    listening = false;
    return new Promise((resolve) => net.close(() => resolve()));
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      stopping.aborted = true;
      shutdown.abort();
      reclaimer.stop();
      const stopped = stopListening();
      while (live.size > 0) await Promise.allSettled([...live]);
      await stopped;
    })();
    return closing;
  }

  return {
    listen(port = 0, host = '127.0.0.1') {
      if (closing !== undefined) return Promise.reject(NetbatError.invalidOption('server is closed'));
      if (listening) return Promise.reject(NetbatError.invalidOption('server is already listening'));
      return new Promise<ListenAddress>((resolve, reject) => {
        const onError = (err: Error): void => reject(NetbatError.io(`listen on ${host}:${port} failed: ${err.message}`, err));
        net.once('error', onError);
        net.listen({ port, host }, () => {
          net.off('error', onError);
          listening = true;
          const address = net.address();
          if (address === null || typeof address === 'string') {
            resolve({ port, host });
          } else {
            resolve({ port: address.port, host: address.address });
          }
        });
      });
    },

    close,
    [Symbol.asyncDispose]: close,

    stats() {
      return stats.snapshot(pool, ctx.subscriptions.gate);
    },
  };
}
