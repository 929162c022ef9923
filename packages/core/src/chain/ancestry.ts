// walkAncestors: follows prevHash links from an anchor back through its entity and says why it
// stopped (INV-ANCESTRY-OBSERVABLE): a truncated lineage never looks like a complete one.

import { bytesEqual } from '../encoding/hex.js';
import { isBatpakError } from '../errors.js';
import type { IndexEntry } from '../event-index/entry.js';
import { MemoryIndex } from '../event-index/memory.js';
import type { AncestorWalk, AncestryBoundary, StoredEvent } from '../types.js';
import { isZeroHash } from './links.js';

export interface AncestryInput {
  readonly index: MemoryIndex;
  readonly anchor: string;
  readonly limit: number;
  /** Loads an event for the walk; a shredded event resolves with `shredded: true`. */
  readonly load: (entry: IndexEntry) => Promise<StoredEvent>;
}

/** The latest entity event before `child` whose content hash is its prevHash (its immediate predecessor, in an intact chain). */
function findParent(index: MemoryIndex, child: IndexEntry): IndexEntry | undefined {
  const list = index.entityEvents(child.entity);
  const at = MemoryIndex.firstAfter(list, child.globalSequence - 1);
  for (let i = at - 1; i >= 0; i--) if (bytesEqual(list[i]!.contentHash, child.prevHash)) return list[i];
  return undefined;
}

/** One walk over any index: the native store's and the Rust reader's differ only in how links are read. */
export interface LinkWalk<E extends { readonly eventId: string }> {
  readonly anchor: E | undefined;
  readonly anchorId: string;
  readonly limit: number;
  readonly load: (e: E) => Promise<StoredEvent>;
  /** The event starts its entity's chain (a zero prev hash). */
  readonly isGenesis: (e: E) => boolean;
  readonly parentOf: (e: E) => E | undefined;
}

export async function walkLinks<E extends { readonly eventId: string }>(input: LinkWalk<E>): Promise<AncestorWalk> {
  const ancestors: StoredEvent[] = [];
  const shredded: string[] = [];
  let current = input.anchor;
  if (current === undefined) return { ancestors, boundary: { kind: 'no-anchor', eventId: input.anchorId }, shredded };
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
    if (input.isGenesis(current)) return stop('reached-genesis', current.eventId);
    const parent = input.parentOf(current);
    if (parent === undefined) return stop('missing-parent', current.eventId);
    current = parent;
  }
}

export function walkAncestors(input: AncestryInput): Promise<AncestorWalk> {
  return walkLinks({
    anchor: input.index.get(input.anchor),
    anchorId: input.anchor,
    limit: input.limit,
    load: input.load,
    isGenesis: (e) => isZeroHash(e.prevHash),
    parentOf: (e) => findParent(input.index, e),
  });
}
