// walkAncestors over a Rust store: follows prev_hash links back from an anchor inside its entity and says
// why the walk stopped. Invariant: a truncated lineage never looks like one that reached genesis.

import { bytesEqual } from '../encoding/hex.js';
import { walkLinks } from '../chain/ancestry.js';
import { isZeroHash } from '../chain/links.js';
import type { AncestorWalk, StoredEvent } from '../types.js';
import type { RustIndexEntry } from './scan.js';

export interface RustAncestryInput {
  readonly anchor: RustIndexEntry | undefined;
  readonly anchorId: string;
  /** The anchor entity's events, ascending global sequence (all lanes). */
  readonly entityEvents: (entity: string) => readonly RustIndexEntry[];
  readonly limit: number;
  readonly load: (e: RustIndexEntry) => Promise<StoredEvent>;
}

/**
 * The parent of `child`: the nearest earlier event of the entity whose event hash is child's prev_hash,
 * preferring the same lane. Rust takes the first match in the whole entity stream, which can jump to an
 * older twin when two events carry identical payloads; the nearest match is the one the writer linked.
 */
function findParent(list: readonly RustIndexEntry[], child: RustIndexEntry): RustIndexEntry | undefined {
  let other: RustIndexEntry | undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    const e = list[i]!;
    if (e.globalSequence >= child.globalSequence || !bytesEqual(e.hashChain.eventHash, child.hashChain.prevHash)) continue;
    if (e.header.position.lane === child.header.position.lane) return e;
    other ??= e;
  }
  return other;
}

export function walkRustAncestors(input: RustAncestryInput): Promise<AncestorWalk> {
  const list = input.anchor === undefined ? [] : input.entityEvents(input.anchor.entity);
  return walkLinks({
    anchor: input.anchor,
    anchorId: input.anchorId,
    limit: input.limit,
    load: input.load,
    isGenesis: (e) => isZeroHash(e.hashChain.prevHash),
    parentOf: (e) => findParent(list, e),
  });
}
