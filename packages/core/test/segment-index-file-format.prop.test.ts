// Index files (version 3) over random segments (FORMAT.md § Segment index files): every event is found, the Bloom
// filters never say "absent" for a present id or entity, the heads are the last event of each entity
// and the summary and lists are the fold an open would make over the events (INV-INDEX-FILE-SUMMARY).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entityKey } from '../src/event-index/segment-index-format.js';
import { bruteHeads, bruteSummary, openFile, randomSegment, writtenFile } from './helpers/index-file-fixture.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** Entity names: short and long (up to a coordinate's 1,024 bytes, so heads span blocks), ASCII and not. */
const names = fc.uniqueArray(
  fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 600, maxLength: 1024 }),
    fc.string({ unit: 'grapheme', minLength: 50, maxLength: 300 }).filter((s) => utf8Bytes(s) <= 1024),
  ),
  { minLength: 1, maxLength: 40 },
);

const shapes = fc.record({
  n: fc.integer({ min: 0, max: 700 }),
  entities: names,
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  jumpRate: fc.constantFrom(0, 0.02, 0.3),
  encryptRate: fc.constantFrom(0, 0.1, 1),
  scopes: fc.uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 6, selector: hex }),
});

describe('segment index file (property)', () => {
  it('INV-INDEX-FILE-SUMMARY: lookups, filters, heads, summary and lists equal a brute-force walk of the events', async () => {
    await fc.assert(
      fc.asyncProperty(shapes, async (shape) => {
        const { frames, segment } = randomSegment(shape);
        const { fs, binding } = await writtenFile(frames, segment);
        const file = await openFile(fs, binding);
        try {
          expect(file.header.eventCount).toBe(frames.length);
          for (const f of frames) {
            const loc = { globalSequence: f.globalSequence, offset: f.offset, length: f.length };
            expect(file.mayContainId(f.idBytes)).toBe(true);
            expect(await file.byId(f.idBytes)).toEqual(loc);
            expect(await file.bySequence(f.globalSequence)).toEqual(loc);
          }
          const heads = bruteHeads(frames);
          expect(file.header.entityCount).toBe(heads.size);
          for (const [entity, last] of heads) {
            expect(file.mayContainEntity(entity)).toBe(true);
            const want = { entity, entitySequence: last.entitySequence, globalSequence: last.globalSequence, offset: last.offset, length: last.length, contentHash: last.contentHash };
            expect(await file.head(entity)).toEqual(want);
          }
          for (const entity of shape.entities) if (!heads.has(entity)) expect(await file.head(entity)).toBeUndefined();
          const all = await file.heads();
          expect(all.map((h) => h.entity).sort()).toEqual([...heads.keys()].sort());
          // Key order, so a reader can binary-search them.
          for (let i = 1; i < all.length; i++) expect(Buffer.compare(entityKey(all[i - 1]!.entity), entityKey(all[i]!.entity))).toBeLessThanOrEqual(0);
          const want = bruteSummary(frames);
          expect({ ...file.summary, firstEncryptedId: hex(file.summary.firstEncryptedId) }).toEqual(want.summary);
          const lists = await file.lists();
          expect({ jumps: lists.jumps, scopes: lists.scopes.map((s) => ({ scope: hex(s.scope), generation: s.generation })) }).toEqual(want.lists);
          if (frames.length > 0) {
            expect(file.header.firstSequence).toBe(frames[0]!.globalSequence);
            expect(file.header.lastSequence).toBe(frames[frames.length - 1]!.globalSequence);
          }
        } finally {
          await file.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('the bytes are a function of the events and the segment: two writes are identical', async () => {
    await fc.assert(
      fc.asyncProperty(shapes, async (shape) => {
        const { frames, segment } = randomSegment(shape);
        const a = await writtenFile(frames, segment);
        const b = await writtenFile(frames.map((f) => ({ ...f })), segment);
        expect(hex(a.fs.inspect('/d/000007.bpi')!.current)).toBe(hex(b.fs.inspect('/d/000007.bpi')!.current));
      }),
      { numRuns: 10 },
    );
  });
});
