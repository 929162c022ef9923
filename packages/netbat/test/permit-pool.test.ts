// Waiters of a PermitPool that share a signal share one abort listener: a long queue of connections waiting on
// the server's shutdown signal must not trip Node's MaxListenersExceededWarning (11 abort listeners).
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { PermitPool } from '../src/permit-pool.js';

describe('PermitPool abort listeners', () => {
  it('keeps one listener for many waiters on one signal, and removes it once none is waiting', async () => {
    const pool = new PermitPool(1);
    const shutdown = new AbortController();
    const first = await pool.acquire(shutdown.signal);
    const waiting = Array.from({ length: 20 }, () => pool.acquire(shutdown.signal));
    expect(pool.waiting).toBe(20);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1);
    first.release();
    // Each grant hands the slot on in arrival order; the last grant removes the shared listener.
    for (const p of waiting) (await p).release();
    expect(pool.waiting).toBe(0);
    expect(pool.inUse).toBe(0);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });

  it('rejects every waiter of an aborted signal with its reason, leaving other waiters queued', async () => {
    const pool = new PermitPool(1);
    const held = pool.tryAcquire()!;
    const shutdown = new AbortController();
    const other = new AbortController();
    const doomed = [pool.acquire(shutdown.signal), pool.acquire(shutdown.signal)];
    const survivor = pool.acquire(other.signal);
    const reason = new Error('closing');
    shutdown.abort(reason);
    for (const p of doomed) await expect(p).rejects.toBe(reason);
    expect(pool.waiting).toBe(1);
    held.release();
    (await survivor).release();
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);
    expect(pool.inUse).toBe(0);
  });
});
