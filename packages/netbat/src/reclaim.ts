// Fair slots: while a client waits for a permit, connections idle between requests and quiet subscriptions give theirs up.
// Invariant: only a holder idle for at least `graceMs` is reclaimed, oldest first, and no more of them than there are waiters.

import type { PermitPool } from './permit-pool.js';

/** Something holding a permit that may be idle: a connection between requests, or a quiet subscription session. */
export interface IdleHolder {
  /** When it last did anything (ms since epoch). */
  idleSince(): number;
  /** Closes it if it is still idle; false when it turned busy in the meantime (then it keeps its permit). */
  reclaim(): boolean;
}

const MAX_TIMER_MS = 2_147_483_647;

export class IdleReclaimer {
  private readonly holders = new Set<IdleHolder>();
  /** Reclaimed holders whose permit is not back in the pool yet. */
  private releasing = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: PermitPool,
    private readonly graceMs: number,
  ) {
    pool.onWaiting = () => this.check();
  }

  /** Registers an idle period; call busy(holder) when the holder is busy again or gone. */
  idle(holder: IdleHolder): void {
    this.holders.add(holder);
    // Nobody waiting (the usual case, once per request): nothing to reclaim, and a pending timer finds nothing either.
    if (this.pool.waiting > this.releasing) this.check();
  }

  /** Ends the holder's idle period (no closure per period: a connection goes idle once per request). */
  busy(holder: IdleHolder): void {
    this.holders.delete(holder);
  }

  /** A reclaimed holder's permit went back to the pool. */
  settled(): void {
    if (this.releasing > 0) this.releasing--;
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.holders.clear();
  }

  private check(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    let needed = this.pool.waiting - this.releasing;
    if (needed <= 0 || this.holders.size === 0 || !Number.isFinite(this.graceMs)) return;
    const now = Date.now();
    const oldestFirst = [...this.holders].sort((a, b) => a.idleSince() - b.idleSince());
    let next = Infinity;
    for (const holder of oldestFirst) {
      if (needed <= 0) break;
      const due = holder.idleSince() + this.graceMs;
      if (due > now) {
        next = Math.min(next, due);
        continue;
      }
      this.holders.delete(holder);
      if (holder.reclaim()) {
        this.releasing++;
        needed--;
      }
    }
    if (needed > 0 && Number.isFinite(next)) {
      this.timer = setTimeout(() => this.check(), Math.min(Math.max(1, next - now), MAX_TIMER_MS));
      this.timer.unref();
    }
  }
}
