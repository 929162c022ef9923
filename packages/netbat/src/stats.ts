// Server counters: what operators read from `server.stats()` (the Rust TcpServeStats + TcpSubscriptionServeStats).
// Invariant: counters only grow; permit gauges are read live from the pool, never cached.

import type { PermitPool } from './permit-pool.js';

export interface ServerStats {
  /** Sockets accepted by the listener (including ones still waiting for a permit). */
  readonly acceptedConnections: number;
  /** Requests answered `OK`. */
  readonly servedRequests: number;
  /** Requests answered `ERR` (malformed, over a limit, or a runtime error). */
  readonly failedRequests: number;
  /** Subscriptions opened on a source. */
  readonly servedSubscriptions: number;
  /** SUBSCRIBE lines refused before a session opened (malformed, unknown id, source refused). */
  readonly failedSubscriptions: number;
  /** Connections torn down by a peer-side I/O error (reset, broken pipe). */
  readonly connectionIoFailures: number;
  /** Dispatcher or source failures that were not a declared runtime/stream error (the Node analogue of a worker panic). */
  readonly handlerFaults: number;
  /** TLS handshakes that failed or were abandoned (e.g. a cleartext client). */
  readonly tlsHandshakeFailures: number;
  /** Connections closed because a read, idle, write or handshake deadline passed. */
  readonly timeouts: number;
  /** Idle connections and quiet subscriptions closed to hand their permit to a waiting client (`fairness.reclaimIdleMs`). */
  readonly reclaimedConnections: number;
  /** Connections closed at once because their client already had `fairness.maxConnectionsPerClient` open. */
  readonly refusedConnections: number;
  /** Requests and subscriptions refused because the client is not granted them, and failed AUTH lines. */
  readonly unauthorized: number;
  /** Permits currently held by connections being served. */
  readonly permitsInUse: number;
  /** Accepted connections paused while waiting for a permit. */
  readonly permitsWaiting: number;
  /** Highest `permitsInUse` since the server was created. */
  readonly peakPermitsInUse: number;
  /** Subscriptions waiting for their turn under `subscriptionDispatch: 'sequential'`. */
  readonly subscriptionsWaiting: number;
}

type Counter = Exclude<keyof ServerStats, 'permitsInUse' | 'permitsWaiting' | 'peakPermitsInUse' | 'subscriptionsWaiting'>;

export class StatsCounters {
  private readonly counts: Record<Counter, number> = {
    acceptedConnections: 0,
    servedRequests: 0,
    failedRequests: 0,
    servedSubscriptions: 0,
    failedSubscriptions: 0,
    connectionIoFailures: 0,
    handlerFaults: 0,
    tlsHandshakeFailures: 0,
    timeouts: 0,
    reclaimedConnections: 0,
    refusedConnections: 0,
    unauthorized: 0,
  };

  bump(counter: Counter): void {
    this.counts[counter]++;
  }

  /**
   * bump('servedRequests'), once per served request, as a named increment: bump's keyed access sees every counter's
   * name, so it is megamorphic.
   */
  bumpServed(): void {
    this.counts.servedRequests++;
  }

  snapshot(pool: PermitPool, subscriptionGate: PermitPool | undefined): ServerStats {
    return Object.freeze({
      ...this.counts,
      permitsInUse: pool.inUse,
      permitsWaiting: pool.waiting,
      peakPermitsInUse: pool.peakInUse,
      subscriptionsWaiting: subscriptionGate?.waiting ?? 0,
    });
  }
}
