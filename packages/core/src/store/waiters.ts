// Callers of waitForSequence (live tails): each waits for a global sequence above its mark, is woken
// after the commit group that passes it lands, and is rejected when the store closes or its signal aborts.
// Invariant: a waiter is settled exactly once and removed from the set when it is.

import { BatpakError } from '../errors.js';

interface Waiter {
  readonly after: number;
  resolve(seq: bigint): void;
  reject(err: unknown): void;
}

export class SequenceWaiters {
  readonly #waiters = new Set<Waiter>();

  /**
   * Resolves with the latest global sequence once one greater than `after` is committed (at once if
   * `last`, the latest now, already is). Argument checks are the caller's.
   */
  wait(after: bigint, last: number, signal: AbortSignal | undefined): Promise<bigint> {
    if (BigInt(last) > after) return Promise.resolve(BigInt(last));
    if (signal?.aborted === true) return Promise.reject(BatpakError.aborted('waitForSequence', signal.reason));
    return new Promise<bigint>((resolve, reject) => {
      const waiter: Waiter = {
        after: Number(after),
        resolve: (seq: bigint) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(seq);
        },
        reject: (err: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = () => {
        this.#waiters.delete(waiter);
        waiter.reject(BatpakError.aborted('waitForSequence', signal?.reason));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** Wakes every waiter whose mark `last` (the latest committed global sequence) has passed. */
  wake(last: () => number): void {
    if (this.#waiters.size === 0) return;
    const latest = last();
    for (const w of this.#waiters) {
      if (latest > w.after) {
        this.#waiters.delete(w);
        w.resolve(BigInt(latest));
      }
    }
  }

  /** Rejects every waiter: the store is closing. */
  rejectAll(): void {
    for (const w of this.#waiters) w.reject(BatpakError.storeClosed('the store was closed while waiting'));
    this.#waiters.clear();
  }
}
