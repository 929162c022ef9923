// DispatchQueue: at most `limit` checkouts of one Core run at once; the rest wait and start in arrival order.
// Invariant: with limit 1 a task starts only after the previous one released its slot, as the last thing it does
// before it settles (Rust's `&mut Core`); a task whose signal fired before its turn never starts, and its slot goes
// to the next waiter.

/** The default cap on concurrent checkouts per Core (README § Concurrency explains the choice). */
export const DEFAULT_MAX_CONCURRENT_DISPATCHES = 64;

/**
 * Frees the slot of the task it was handed to; only its first call counts. A task calls it exactly once, as the last
 * step before its promise settles: the queue then needs no reaction (a promise, and under async_hooks a hook per
 * promise) per task to learn that the task ended.
 */
export type Release = () => void;

interface Waiter {
  readonly start: () => void;
  readonly signal: AbortSignal | undefined;
}

export class DispatchQueue {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: Waiter[] = [];
  #head = 0;
  /** Set while #next hands out slots (see there). */
  #draining = false;

  constructor(limit: number = DEFAULT_MAX_CONCURRENT_DISPATCHES) {
    this.#limit = limit;
  }

  run<T>(task: (release: Release) => Promise<T>, signal: AbortSignal | undefined, aborted: () => Error): Promise<T> {
    if (signal?.aborted === true) return Promise.reject(aborted());
    // A free slot and nobody waiting: the task's own promise is the caller's (no wrapper promise per dispatch).
    if (this.#running < this.#limit && this.#head === this.#waiting.length) return this.#start(task);
    return new Promise<T>((resolve, reject) => {
      // Waiting callers leave as soon as their signal fires; their turn is then skipped.
      const onAbort = () => reject(aborted());
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push({
        signal,
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          this.#start(task).then(resolve, reject);
        },
      });
    });
  }

  /** Runs `task` in a slot; the slot is freed when the task releases it, or at once when it throws synchronously. */
  #start<T>(task: (release: Release) => Promise<T>): Promise<T> {
    this.#running++;
    let released = false;
    const release: Release = () => {
      if (released) return;
      released = true;
      this.#running--;
      this.#next();
    };
    try {
      return task(release);
    } catch (err) {
      release();
      return Promise.reject(err);
    }
  }

  /**
   * Hands freed slots to waiters in arrival order, skipping those whose signal already fired. A task that runs to its
   * end synchronously releases from inside the loop: that release returns at once and the loop hands the slot on, so
   * a long queue of such tasks is a loop, never a recursion as deep as the queue.
   */
  #next(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      this.#drain();
    } finally {
      this.#draining = false;
    }
  }

  #drain(): void {
    while (this.#running < this.#limit && this.#head < this.#waiting.length) {
      const w = this.#waiting[this.#head]!;
      this.#waiting[this.#head++] = undefined as unknown as Waiter;
      // Under steady load the queue may never drain: drop the consumed prefix once it is most of the array.
      if (this.#head === this.#waiting.length) {
        this.#waiting.length = 0;
        this.#head = 0;
      } else if (this.#head >= 1024 && this.#head * 2 >= this.#waiting.length) {
        this.#waiting.splice(0, this.#head);
        this.#head = 0;
      }
      if (w.signal?.aborted === true) continue;
      w.start();
    }
  }
}
