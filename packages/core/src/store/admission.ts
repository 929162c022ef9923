// Backpressure on the append path: the bytes of appends accepted but not yet settled are bounded by
// maxQueuedBytes; an append past it waits (FIFO) for room instead of growing memory, or gives up on its signal.
// Invariant: an append is admitted at once when nothing is queued, however large, so no append waits forever
// for room that can never exist (a hold — the index-file keeper behind — ends when its jobs finish, and they wait
// on nothing an unadmitted append holds); admitted bytes are released exactly once, when the append settles.

import { BatpakError } from '../errors.js';

/** What `store.pressure()` reports. */
export interface StorePressure {
  /** Appends (single, batch, import or system event) accepted and not yet settled. */
  readonly queuedIntents: number;
  /** Their estimated encoded bytes. */
  readonly queuedBytes: number;
  /** The `maxQueuedBytes` option. */
  readonly maxQueuedBytes: number;
  /** Appends waiting for room (not yet accepted). */
  readonly waiting: number;
}

interface Waiter {
  readonly bytes: number;
  admit(): void;
  reject(err: unknown): void;
}

export class Admission {
  readonly #max: number;
  #bytes = 0;
  #intents = 0;
  readonly #waiters: Waiter[] = [];
  /** Holders that stop every new admission (the index-file keeper while it is behind); the queue drains meanwhile. */
  #holds = 0;

  constructor(maxQueuedBytes: number) {
    this.#max = maxQueuedBytes;
  }

  /** Admits `bytes` now if there is room and nobody waits ahead (true), else false: the caller then awaits `wait`. */
  tryAdmit(bytes: number): boolean {
    if (this.#waiters.length > 0 || !this.#fits(bytes)) return false;
    this.#take(bytes);
    return true;
  }

  /** Waits for room for `bytes` (FIFO). ERR_ABORTED when `signal` fires first; ERR_STORE_CLOSED at close. */
  wait(bytes: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(BatpakError.aborted('append', signal.reason));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(BatpakError.aborted('append', signal?.reason));
        // A large waiter that gave up may have been holding smaller ones back.
        this.#wake();
      };
      const waiter: Waiter = {
        bytes,
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** An admitted append settled: its bytes are free again. */
  release(bytes: number): void {
    this.#bytes -= bytes;
    this.#intents--;
    this.#wake();
  }

  /** The store is closing: every waiting append is refused. */
  rejectAll(): void {
    for (const w of this.#waiters.splice(0)) w.reject(BatpakError.storeClosed('the store was closed while the append waited for room'));
  }

  pressure(): StorePressure {
    return { queuedIntents: this.#intents, queuedBytes: this.#bytes, maxQueuedBytes: this.#max, waiting: this.#waiters.length };
  }

  /** Stops admitting until `unhold`: appends wait (FIFO, abortable, refused at close) as they do for room. */
  hold(): void {
    this.#holds++;
  }

  unhold(): void {
    this.#holds--;
    this.#wake();
  }

  #fits(bytes: number): boolean {
    if (this.#holds > 0) return false;
    return this.#intents === 0 || this.#bytes + bytes <= this.#max;
  }

  #take(bytes: number): void {
    this.#bytes += bytes;
    this.#intents++;
  }

  #wake(): void {
    while (this.#waiters.length > 0 && this.#fits(this.#waiters[0]!.bytes)) {
      const w = this.#waiters.shift()!;
      this.#take(w.bytes);
      w.admit();
    }
  }
}
