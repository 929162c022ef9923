// Per-client connection caps: one remote address (at accept) or one authenticated principal may hold only so many connections.
// Invariant: a client's count rises once per admitted connection and falls exactly once when that connection ends.

/** Default of `fairness.maxConnectionsPerClient`: served and waiting connections of one address or principal. */
export const DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 64;

export class ClientTally {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Counts a connection for `key` and returns its release, or `undefined` when the client is already at the cap. */
  admit(key: string): (() => void) | undefined {
    const count = this.open.get(key) ?? 0;
    if (count >= this.max) return undefined;
    this.open.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const now = (this.open.get(key) ?? 1) - 1;
      if (now <= 0) this.open.delete(key);
      else this.open.set(key, now);
    };
  }
}
