// Which event an ancestry walk takes as a child's parent when the entity's log is not one straight chain (a fork,
// a repeated content hash, a lost predecessor), and how walkLinks stops on a cycle or an unexpected failure
// (INV-ANCESTRY-OBSERVABLE). verifyChain's chain heads are tested in entity-heads.mutation.test.ts.
import { describe, expect, it } from 'vitest';
import { walkAncestors, walkLinks } from '../src/chain/ancestry.js';
import type { IndexEntry } from '../src/event-index/entry.js';
import { MemoryIndex } from '../src/event-index/memory.js';
import { BatpakError } from '../src/index.js';
import type { StoredEvent } from '../src/types.js';

const h = (b: number): Uint8Array => new Uint8Array(32).fill(b);
const ZERO = new Uint8Array(32);

/** Only the fields an ancestry walk reads. */
const entry = (eventId: string, entity: string, globalSequence: number, prevHash: Uint8Array, contentHash: Uint8Array) =>
  ({ eventId, entity, globalSequence, prevHash, contentHash }) as unknown as IndexEntry;

/**
 * Entity x: A (genesis), B links to A, C links to A too (a fork: its parent is not its predecessor), D carries
 * A's content hash again (the same payload) and links to C. Entity y: Y's predecessor is not in the index.
 */
function forkedIndex(): MemoryIndex {
  const index = new MemoryIndex();
  index.insert(entry('A', 'x', 1, ZERO, h(0xa)));
  index.insert(entry('B', 'x', 2, h(0xa), h(0xb)));
  index.insert(entry('C', 'x', 3, h(0xa), h(0xc)));
  index.insert(entry('D', 'x', 4, h(0xc), h(0xa)));
  index.insert(entry('Y', 'y', 5, h(0x77), h(0x11)));
  return index;
}

const stored = (eventId: string) => ({ eventId, shredded: false }) as unknown as StoredEvent;

async function lineage(index: MemoryIndex, anchor: string) {
  const walk = await walkAncestors({ index, anchor, limit: 10, load: async (e) => stored(e.eventId) });
  return { ids: walk.ancestors.map((a) => (a as unknown as { eventId: string }).eventId), boundary: walk.boundary };
}

describe('walkAncestors picks the right parent (INV-ANCESTRY-OBSERVABLE)', () => {
  it('a forked child walks to the earlier event it links to, not to its predecessor', async () => {
    expect(await lineage(forkedIndex(), 'C')).toEqual({ ids: ['C', 'A'], boundary: { kind: 'reached-genesis', eventId: 'A' } });
  });

  it('a later event with the same content hash is never taken for a parent', async () => {
    expect(await lineage(forkedIndex(), 'D')).toEqual({ ids: ['D', 'C', 'A'], boundary: { kind: 'reached-genesis', eventId: 'A' } });
    expect(await lineage(forkedIndex(), 'B')).toEqual({ ids: ['B', 'A'], boundary: { kind: 'reached-genesis', eventId: 'A' } });
  });

  it('an entity whose first indexed event links elsewhere stops at a missing parent', async () => {
    expect(await lineage(forkedIndex(), 'Y')).toEqual({ ids: ['Y'], boundary: { kind: 'missing-parent', eventId: 'Y' } });
  });
});

describe('walkLinks boundaries (INV-ANCESTRY-OBSERVABLE)', () => {
  const walk = (parents: Record<string, string>, load: (id: string) => Promise<StoredEvent> = async (id) => stored(id)) =>
    walkLinks<{ eventId: string }>({
      anchor: { eventId: 'p' },
      anchorId: 'p',
      limit: 10,
      load: (e) => load(e.eventId),
      isGenesis: () => false,
      parentOf: (e) => (parents[e.eventId] === undefined ? undefined : { eventId: parents[e.eventId]! }),
    });

  it('links that loop back stop at the first event seen twice, as a cycle', async () => {
    const r = await walk({ p: 'q', q: 'r', r: 'p' });
    expect(r.boundary).toEqual({ kind: 'cycle', eventId: 'p' });
    expect(r.ancestors.length).toBe(3);
  });

  it('a load failing with a BatpakError is a read-failure boundary; any other error propagates', async () => {
    const typed = await walk({ p: 'q' }, async (id) => {
      if (id === 'q') throw new BatpakError('ERR_IO', 'gone');
      return stored(id);
    });
    expect(typed.boundary).toEqual({ kind: 'read-failure', eventId: 'q' });
    expect(typed.ancestors.length).toBe(1);
    const bug = new TypeError('not a store failure');
    await expect(
      walk({ p: 'q' }, async (id) => {
        if (id === 'q') throw bug;
        return stored(id);
      }),
    ).rejects.toBe(bug);
  });
});
