// A FIFO counting semaphore: the in-flight cap of `concurrent` connection limits (and the gate of sequential subscriptions).
// Invariant: inUse <= max at every moment; a permit frees exactly once however often release() is called.

/** A held slot. `release()` is idempotent so every exit path may call it without double-freeing. */
export interface Permit {
  release(): void;
}

interface Waiter {
  grant(permit: Permit): void;
}

export class PermitPool {
  readonly max: number;
  private held = 0;
  private peak = 0;
  private readonly queue: Waiter[] = [];
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

  /** Resolves with a permit in arrival order; rejects with the signal's reason if aborted while waiting. */
  acquire(signal?: AbortSignal): Promise<Permit> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const immediate = this.tryAcquire();
    if (immediate !== undefined) return Promise.resolve(immediate);
    return new Promise<Permit>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        grant: (permit) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(permit);
        },
      };
      this.queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.onWaiting?.();
    });
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
