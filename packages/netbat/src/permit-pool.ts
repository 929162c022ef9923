// A FIFO counting semaphore: the in-flight cap of `concurrent` connection limits (and the gate of sequential subscriptions).
// Invariant: inUse <= max at every moment; a permit frees exactly once however often release() is called.

/** A held slot. `release()` is idempotent so every exit path may call it without double-freeing. */
export interface Permit {
  release(): void;
}

interface Waiter {
  grant(permit: Permit): void;
  abort(reason: unknown): void;
}

/** The one abort listener of a signal and the waiters it rejects. */
interface Watched {
  readonly waiters: Set<Waiter>;
  readonly onAbort: () => void;
}

export class PermitPool {
  readonly max: number;
  private held = 0;
  private peak = 0;
  private readonly queue: Waiter[] = [];
  private readonly bySignal = new Map<AbortSignal, Watched>();
  /** Called whenever a caller starts waiting: the idle reclaimer's cue that someone needs a slot. */
  onWaiting: (() => void) | undefined;

  /** `max` is a positive integer, or `Infinity` for a pool that never blocks. */
  constructor(max: number) {
    if (!(max === Infinity || (Number.isSafeInteger(max) && max > 0))) {
      throw new RangeError(`permit pool size must be a positive integer or Infinity, got ${max}`);
    }
    this.max = max;
  }

  get inUse(): number {
    return this.held;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Highest `inUse` ever observed: lets tests and operators check the cap held. */
  get peakInUse(): number {
    return this.peak;
  }

  tryAcquire(): Permit | undefined {
    if (this.held >= this.max) return undefined;
    this.held++;
    if (this.held > this.peak) this.peak = this.held;
    return this.permit();
  }

  /**
   * Resolves with a permit in arrival order; rejects with the signal's reason if aborted while waiting.
   * Waiters sharing a signal (the server's shutdown signal, for every queued connection) share one abort
   * listener, so a long queue never piles listeners onto that signal.
   */
  acquire(signal?: AbortSignal): Promise<Permit> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const immediate = this.tryAcquire();
    if (immediate !== undefined) return Promise.resolve(immediate);
    return new Promise<Permit>((resolve, reject) => {
      const waiter: Waiter = {
        grant: (permit) => {
          if (signal !== undefined) this.forget(signal, waiter);
          resolve(permit);
        },
        abort: reject,
      };
      this.queue.push(waiter);
      if (signal !== undefined) this.watch(signal, waiter);
      this.onWaiting?.();
    });
  }

  private watch(signal: AbortSignal, waiter: Waiter): void {
    let watched = this.bySignal.get(signal);
    if (watched === undefined) {
      const waiters = new Set<Waiter>();
      const onAbort = (): void => {
        this.bySignal.delete(signal);
        for (const w of waiters) {
          const at = this.queue.indexOf(w);
          if (at >= 0) this.queue.splice(at, 1);
          w.abort(signal.reason);
        }
      };
      watched = { waiters, onAbort };
      this.bySignal.set(signal, watched);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    watched.waiters.add(waiter);
  }

  private forget(signal: AbortSignal, waiter: Waiter): void {
    const watched = this.bySignal.get(signal);
    if (watched === undefined) return;
    watched.waiters.delete(waiter);
    if (watched.waiters.size > 0) return;
    this.bySignal.delete(signal);
    signal.removeEventListener('abort', watched.onAbort);
  }

  private permit(): Permit {
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const next = this.queue.shift();
        // Hand the slot straight to the next waiter, so `held` never dips and nobody can barge in.
        if (next !== undefined) next.grant(this.permit());
        else this.held--;
      },
    };
  }
}
