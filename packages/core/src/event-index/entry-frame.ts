// The checked frame a sealed-tier entry was built from, kept beside the entry for as long as the entry lives,
// so the reader that asked for the entry does not read and decode the same frame a second time.
// Invariant: only a frame that passed every check a read of the entry would apply (CRC, decode, an event, the
// entry's own fields) is remembered, and only for the entry built from it; nothing keeps an entry alive.

import type { EventFrame } from '../segment/frame.js';
import type { IndexEntry } from './entry.js';

/** Weak: a frame goes with its entry (a query's page, a get), never outlives it. */
const frames = new WeakMap<IndexEntry, EventFrame>();

/** Remembers that `entry` was built from `frame`, read and checked at the entry's location. */
export function rememberFrame(entry: IndexEntry, frame: EventFrame): void {
  frames.set(entry, frame);
}

/**
 * The frame `entry` was built from, if the index that answered read one for it. Its payload views the bytes
 * read then: valid as long as the entry's location is (a reader that saw `generation` move asks for the entry again).
 */
export function frameOf(entry: IndexEntry): EventFrame | undefined {
  return frames.get(entry);
}
