// Commit-group statistics for Store.stats(): histograms (perf_hooks.createHistogram) of group size, queue
// wait, write time and fsync time over every group this process wrote. Invariant: recording never throws
// and never blocks a commit; only groups that wrote at least one event are recorded.

import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import type { CommitStats, Percentiles } from '../types.js';

/** One group's measures, as the append pipeline fills them in. */
export interface CommitSample {
  events: number;
  bytes: number;
  queueWaitMs: number;
  writeMs: number;
  fsyncMs: number;
}

/** Times into a histogram: integer microseconds, at least 1 (a histogram records only positive integers). */
function micros(ms: number): number {
  return Math.max(1, Math.round(ms * 1000));
}

function percentiles(h: RecordableHistogram, scale: number): Percentiles {
  if (h.count === 0) return { p50: 0, p99: 0, max: 0 };
  return { p50: h.percentile(50) / scale, p99: h.percentile(99) / scale, max: h.max / scale };
}

export class CommitStatistics {
  readonly #groupSize = createHistogram();
  readonly #queueWait = createHistogram();
  readonly #write = createHistogram();
  readonly #fsync = createHistogram();

  /**
   * How long the oldest of `items` has waited (ms), from the time each carries (performance.now() when it was
   * queued): a field of the item, not a WeakMap entry per append, which cost a set, a get and a delete each.
   */
  waited(items: readonly { readonly queuedAt: number }[]): number {
    const now = performance.now();
    let oldest = now;
    for (const it of items) if (it.queuedAt < oldest) oldest = it.queuedAt;
    return now - oldest;
  }

  /** Records a group that wrote events. */
  record(s: CommitSample): void {
    if (s.events === 0) return;
    this.#groupSize.record(s.events);
    this.#queueWait.record(micros(s.queueWaitMs));
    this.#write.record(micros(s.writeMs));
    if (s.fsyncMs > 0) this.#fsync.record(micros(s.fsyncMs));
  }

  snapshot(): CommitStats {
    return {
      groups: this.#groupSize.count,
      groupSize: percentiles(this.#groupSize, 1),
      queueWaitMs: percentiles(this.#queueWait, 1000),
      writeMs: percentiles(this.#write, 1000),
      fsyncMs: percentiles(this.#fsync, 1000),
    };
  }
}
