// store.watchProjection: the states of one projection over one entity as they change, driven by the
// store's commit waiters (no polling). Invariant: ends cleanly — returns, never throws — when its signal
// aborts or the store closes (INV-PROJECTION-WATCH-ENDS).

import { isBatpakError } from '../errors.js';
import type { ProjectionDefinition } from '../projection/define.js';
import type { ProjectionResult } from './project.js';

export interface WatchProjectionParts {
  readonly project: <S>(def: ProjectionDefinition<S>, entity: string) => Promise<ProjectionResult<S>>;
  /** The latest committed global sequence. */
  readonly lastSequence: () => bigint;
  /** Resolves once a global sequence above `after` is committed; rejects on abort or close. */
  readonly waitForSequence: (after: bigint, signal: AbortSignal | undefined) => Promise<bigint>;
  /** Changes whenever cached states were invalidated (a shred or compaction may change a state). */
  readonly epoch: () => number;
  /** Resolves once epoch() is no longer `since`; rejects on `signal`. */
  readonly invalidated: (since: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Yields the current state first, then a new one after every commit that changes the entity (or after
 * an invalidation). Consecutive commits may be coalesced into one state: a watcher sees the latest.
 */
export async function* watchProjection<S>(p: WatchProjectionParts, def: ProjectionDefinition<S>, entity: string, signal: AbortSignal | undefined): AsyncGenerator<ProjectionResult<S>, void, undefined> {
  let seen: bigint | undefined;
  let epoch = -1;
  while (!aborted(signal)) {
    try {
      const after = p.lastSequence();
      const e = p.epoch();
      const r = await p.project(def, entity);
      if (seen !== r.entitySequence || epoch !== e) {
        seen = r.entitySequence;
        epoch = e;
        if (aborted(signal)) return;
        yield r;
      }
      await nextChange(p, after, e, signal);
    } catch (err) {
      if (isBatpakError(err, 'ERR_ABORTED') || isBatpakError(err, 'ERR_STORE_CLOSED')) return;
      throw err;
    }
  }
}

/** A commit after `after`, or an invalidation since epoch `since`, whichever comes first. */
async function nextChange(p: WatchProjectionParts, after: bigint, since: number, signal: AbortSignal | undefined): Promise<void> {
  // One controller cancels the loser of the race, so no waiter is left behind.
  const ac = new AbortController();
  const onAbort = () => ac.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted === true) ac.abort(signal.reason);
    await Promise.race([p.waitForSequence(after, ac.signal), p.invalidated(since, ac.signal)]);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    ac.abort();
  }
}

function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
