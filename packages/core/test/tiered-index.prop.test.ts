// The two-tier index answers exactly as the all-resident one (INV-TIERED-INDEX-SAME): random stores
// written through Store (batches, signed groups, encryption, a compaction), over several sealed segments
// and an active one, asked every EventIndex question through both.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockCache } from '../src/event-index/block-cache.js';
import type { UntrustedIndexFile } from '../src/event-index/sealed-tier.js';
import { TieredIndex } from '../src/event-index/tiered-index.js';
import { buildStore, expectSameAnswers, indexFile, type StoreShape } from './helpers/tiered-fixture.js';

const shapes = fc.record<StoreShape>({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  events: fc.integer({ min: 1, max: 160 }),
  entities: fc.integer({ min: 1, max: 9 }),
  batchRate: fc.constantFrom(0, 0.3),
  signed: fc.boolean(),
  encrypted: fc.boolean(),
  compact: fc.boolean(),
  segmentMaxBytes: fc.integer({ min: 900, max: 4000 }),
});

/** Events the runs served from the sealed tier: a property that never sealed anything proves nothing. */
let sealedEvents = 0;

describe('TieredIndex', () => {
  it('INV-TIERED-INDEX-SAME: opened over sealed index files, it answers every call as a ResidentIndex over the same events', async () => {
    await fc.assert(
      fc.asyncProperty(shapes, fc.integer({ min: 0, max: 64 }), fc.boolean(), async (shape, cacheBlocks, activeAtOpen) => {
        const f = await buildStore(shape);
        const cache = new BlockCache(cacheBlocks * 4096);
        const sealed = f.segmentIds.slice(0, -1);
        const files = [];
        for (const id of sealed) files.push({ segmentId: id, file: await indexFile(f, id, cache) });
        const untrusted: UntrustedIndexFile[] = [];
        const active = f.entries.filter((e) => !sealed.includes(e.segmentId));
        // The active tier given to open (heads of its entities are not read from files) or inserted after.
        const index = await TieredIndex.open(f.segments, files, (u) => untrusted.push(u), activeAtOpen ? active : []);
        if (!activeAtOpen) for (const e of active) index.insert(e);
        expect(index.sealedSegmentIds()).toEqual(sealed);
        await expectSameAnswers(index, f, shape.seed);
        expect(untrusted).toEqual([]);
        sealedEvents += index.size - index.resident().activeEntries;
        expect(index.resident().fallbackEntries).toBe(0);
        expect(cache.bytes).toBeLessThanOrEqual(cacheBlocks * 4096);
        await index.close();
      }),
      { numRuns: 12 },
    );
    // Not vacuous: the random shapes sealed some events (a fixed floor failed by chance on small shapes).
    expect(sealedEvents).toBeGreaterThan(0);
    sealedEvents = 0;
  }, 120_000);

  it('INV-TIERED-INDEX-SAME: segments sealed one by one, then a compaction over every sealed one, keep every answer', async () => {
    await fc.assert(
      fc.asyncProperty(shapes, async (shape) => {
        const f = await buildStore(shape);
        const cache = new BlockCache();
        const index = await TieredIndex.open(f.segments, [], () => expect.fail('no file is forged here'));
        for (const e of f.entries) index.insert(e);
        const sealed = f.segmentIds.slice(0, -1);
        for (const [i, id] of sealed.entries()) {
          const hasEvents = f.entries.some((e) => e.segmentId === id);
          expect(await index.seal(id, await indexFile(f, id, cache))).toBe(hasEvents);
          // Every question after the first, a middle and the last seal (all of them would take minutes).
          if (i === 0 || i === sealed.length >> 1 || i === sealed.length - 1) await expectSameAnswers(index, f, shape.seed + id);
        }
        sealedEvents += f.entries.filter((e) => sealed.includes(e.segmentId)).length;
        // A segment already sealed, or sealed out of order, is refused (its file is closed).
        if (sealed.length > 0) expect(await index.seal(sealed[0]!, await indexFile(f, sealed[0]!, cache))).toBe(false);
        // Compaction's install: every sealed segment replaced by the same entries (what a merge installs).
        const moved = f.entries.filter((e) => sealed.includes(e.segmentId));
        f.oracle.replaceSegments(sealed, moved);
        index.replaceSegments(sealed, moved);
        expect(index.sealedSegmentIds()).toEqual([]);
        await expectSameAnswers(index, f, shape.seed + 7);
        await index.close();
      }),
      { numRuns: 8 },
    );
    expect(sealedEvents).toBeGreaterThan(0);
  }, 120_000);
});
