// compact()'s options and result: the three strategies, checked once before any work starts.
// A strategy without its predicate is a typed error, never a compaction that keeps or drops everything.

import { BatpakError } from '../errors.js';
import type { StoredEvent } from '../types.js';

export type CompactOptions = (
  | { readonly strategy: 'merge' }
  | { readonly strategy: 'retention'; readonly keep: (event: StoredEvent) => boolean }
  | { readonly strategy: 'tombstone'; readonly drop: (event: StoredEvent) => boolean }
) & { readonly signal?: AbortSignal; readonly onProgress?: (done: number, total: number) => void };

export interface CompactionResult {
  readonly outcome: 'performed' | 'skipped' | 'failed';
  /** Segment files the compaction removed (sources merged into one). */
  readonly segmentsRemoved: number;
  /** Events dropped by retention (tombstoned events keep their place and are not counted). */
  readonly eventsDropped: number;
  /** Why a compaction failed; the store is unchanged (or completes at the next open, as it says). */
  readonly reason?: string;
}

export type CheckedCompaction =
  | { readonly kind: 'merge' }
  | { readonly kind: 'retention'; readonly keep: (event: StoredEvent) => boolean }
  | { readonly kind: 'tombstone'; readonly drop: (event: StoredEvent) => boolean };

export function checkCompactOptions(options: unknown): CheckedCompaction {
  const o = options as { strategy?: unknown; keep?: unknown; drop?: unknown } | undefined;
  if (typeof o !== 'object' || o === null) throw new BatpakError('ERR_INVALID_ARGUMENT', 'compact needs { strategy }');
  if (o.strategy === 'merge') return { kind: 'merge' };
  if (o.strategy === 'retention') {
    if (typeof o.keep !== 'function') throw new BatpakError('ERR_INVALID_ARGUMENT', "strategy 'retention' needs keep(event)");
    return { kind: 'retention', keep: o.keep as (event: StoredEvent) => boolean };
  }
  if (o.strategy === 'tombstone') {
    if (typeof o.drop !== 'function') throw new BatpakError('ERR_INVALID_ARGUMENT', "strategy 'tombstone' needs drop(event)");
    return { kind: 'tombstone', drop: o.drop as (event: StoredEvent) => boolean };
  }
  throw new BatpakError('ERR_INVALID_ARGUMENT', "strategy must be 'merge', 'retention' or 'tombstone'");
}

