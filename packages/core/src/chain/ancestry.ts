// walkAncestors: follows prevHash links from an anchor back through its entity and says why it
// stopped (INV-ANCESTRY-OBSERVABLE): a truncated lineage never looks like a complete one.

import { bytesEqual } from '../encoding/hex.js';
import { isBatpakError } from '../errors.js';
import type { IndexEntry } from '../index/entry.js';
import { MemoryIndex } from '../index/memory.js';
import type { AncestorWalk, AncestryBoundary, StoredEvent } from '../types.js';
import { ZERO_HASH } from './verify.js';

export interface AncestryInput {
  readonly index: MemoryIndex;
  readonly anchor: string;
  readonly limit: number;
  /** Loads an event for the walk; a shredded event resolves with `shredded: true`. */
  readonly load: (entry: IndexEntry) => Promise<StoredEvent>;
}

/** The entity event whose content hash is `hash`, preferring the immediate predecessor of `child`. */
function findParent(index: MemoryIndex, child: IndexEntry): IndexEntry | undefined {
  const list = index.entityEvents(child.entity);
  const at = MemoryIndex.firstAfter(list, child.globalSequence - 1);
  const prev = list[at - 1];
  if (prev !== undefined && bytesEqual(prev.contentHash, child.prevHash)) return prev;
  for (let i = at - 1; i >= 0; i--) if (bytesEqual(list[i]!.contentHash, child.prevHash)) return list[i];
  return undefined;
}

export async function walkAncestors(input: AncestryInput): Promise<AncestorWalk> {
  const ancestors: StoredEvent[] = [];
  const shredded: string[] = [];
  let current = input.index.get(input.anchor);
  if (current === undefined) return { ancestors, boundary: { kind: 'no-anchor', eventId: input.anchor }, shredded };
  const seen = new Set<string>();
  const stop = (kind: AncestryBoundary, eventId: string): AncestorWalk => ({ ancestors, boundary: { kind, eventId }, shredded });
  for (;;) {
    if (ancestors.length >= input.limit) return stop('limit-reached', current.eventId);
    if (seen.has(current.eventId)) return stop('cycle', current.eventId);
    seen.add(current.eventId);
    let event: StoredEvent;
    try {
      event = await input.load(current);
    } catch (err) {
      if (isBatpakError(err)) return stop('read-failure', current.eventId);
      throw err;
    }
    ancestors.push(event);
    if (event.shredded) shredded.push(current.eventId);
    if (bytesEqual(current.prevHash, ZERO_HASH)) return stop('reached-genesis', current.eventId);
    const parent = findParent(input.index, current);
    if (parent === undefined) return stop('missing-parent', current.eventId);
    current = parent;
  }
}
