// Per-connection deadlines (the Rust `IoTimeouts`), sized so no peer can hold a permit by being slow.
// Invariant: every wait on a peer is bounded by one of these; only a dispatcher's own work is not.

export interface Timeouts {
  /** From the first byte of a line to its `\n`, and for a TLS handshake. Default 10 s. Stops slowloris peers. */
  readonly readMs: number;
  /** Between requests on a connection (and before the first): an idle client is closed. Default 30 s. */
  readonly idleMs: number;
  /** For buffered output to drain, and for the peer to finish closing. Default 10 s. */
  readonly writeMs: number;
}

export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = Object.freeze({
  readMs: 10_000,
  idleMs: 30_000,
  writeMs: 10_000,
});

export function resolveTimeouts(partial: Partial<Timeouts> = {}): Timeouts {
  return {
    readMs: partial.readMs ?? DEFAULT_TIMEOUTS.readMs,
    idleMs: partial.idleMs ?? DEFAULT_TIMEOUTS.idleMs,
    writeMs: partial.writeMs ?? DEFAULT_TIMEOUTS.writeMs,
  };
}

export function findInvalidTimeout(timeouts: Timeouts): keyof Timeouts | undefined {
  for (const key of ['readMs', 'idleMs', 'writeMs'] as const) {
    const value = timeouts[key];
    if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) return key;
  }
  return undefined;
}
