// Which events a shred cannot erase: user events of the shredded scope stored in plaintext (written before payload encryption was enabled).
// Invariant: shredScope counts them in its result (`plaintextEvents`), so an erasure that leaves plaintext behind never reads as complete.

import { bytesEqual } from '../encoding/hex.js';
import type { IndexEntry } from '../event-index/entry.js';
import { isReservedCategory } from '../kind.js';
import { scopeOf } from '../keyset/scope.js';
import { EventFlags } from '../segment/frame.js';
import type { KeyGranularity } from './options.js';

/** Committed user events whose scope is `scope` and whose payload is not sealed (tombstones hold none). */
export function plaintextEventsInScope(events: readonly IndexEntry[], granularity: KeyGranularity, scope: Uint8Array): number {
  let n = 0;
  for (const e of events) {
    if (e.encryption !== undefined || isReservedCategory(e.kind >>> 12) || (e.flags & EventFlags.TOMBSTONE) !== 0) continue;
    if (bytesEqual(scopeOf(granularity, e.entity, e.kind, e.idBytes), scope)) n++;
  }
  return n;
}
