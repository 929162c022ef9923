// DispatchQueue: at most `limit` checkouts of one Core run at once; the rest wait and start in arrival order.
// Invariant: with limit 1 a task starts only after the previous one settled (Rust's `&mut Core`); a task whose
// signal fired before its turn never starts, and its slot goes to the next waiter.

/** The default cap on concurrent checkouts per Core (README § Concurrency explains the choice). */
export const DEFAULT_MAX_CONCURRENT_DISPATCHES = 64;

interface Waiter {
  readonly start: () => void;
  readonly signal: AbortSignal | undefined;
}

export class DispatchQueue {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: Waiter[] = [];
  #head = 0;

  constructor(limit: number = DEFAULT_MAX_CONCURRENT_DISPATCHES) {
    this.#limit = limit;
  }

  run<T>(task: () => Promise<T>, signal: AbortSignal | undefined, aborted: () => Error): Promise<T> {
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

  /** Runs `task` in a slot; the slot is freed when it settles (a synchronous throw included). */
  #start<T>(task: () => Promise<T>): Promise<T> {
    this.#running++;
    let p: Promise<T>;
    try {
      p = task();
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(this.#release, this.#release);
    return p;
  }

  readonly #release = (): void => {
    this.#running--;
    this.#next();
  };

  /** Hands freed slots to waiters in arrival order, skipping those whose signal already fired. */
  #next(): void {
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
