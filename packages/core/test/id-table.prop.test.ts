// The index's id table (INV-CRASH-ORACLE relies on lookups by id being exact): against a Map model, any
// sequence of inserts — fresh ids, repeated ids, ids that share every character but one, growth from
// an undersized table — answers every lookup exactly as the Map does, hits and misses alike.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IndexEntry } from '../src/event-index/entry.js';
import { IdTable } from '../src/event-index/id-table.js';
import { MemoryIndex } from '../src/event-index/memory.js';

const entry = (eventId: string, n: number) => ({ eventId, globalSequence: n }) as unknown as IndexEntry;
const hexId = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));
// Ids that differ only in their last characters: the worst case for a weak hash.
const nearId = fc.nat(4095).map((n) => `${'0'.repeat(29)}${n.toString(16).padStart(3, '0')}`);

describe('IdTable', () => {
  it('answers like a Map for any inserts, including repeats and near-identical ids', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(hexId, nearId), { maxLength: 600 }), fc.array(fc.oneof(hexId, nearId), { maxLength: 50 }), fc.nat(64), (ids, probes, expected) => {
        const entries: IndexEntry[] = [];
        const table = new IdTable(entries, expected);
        const model = new Map<string, IndexEntry>();
        ids.forEach((id, n) => {
          const e = entry(id, n);
          entries.push(e);
          table.set(entries.length - 1);
          model.set(id, e);
        });
        expect(table.size).toBe(model.size);
        for (const id of [...ids, ...probes]) expect(table.get(id)).toBe(model.get(id));
      }),
      { numRuns: 300 },
    );
  });

  it('MemoryIndex over it: get, has, and a replaceWith that forgets the old ids', () => {
    const index = new MemoryIndex(2);
    const ids = Array.from({ length: 5000 }, (_, i) => i.toString(16).padStart(32, '0'));
    ids.forEach((id, i) => index.insert({ ...entry(id, i + 1), entity: `e${i % 7}` } as IndexEntry));
    for (const [i, id] of ids.entries()) expect(index.get(id)?.globalSequence).toBe(i + 1);
    expect(index.has('f'.repeat(32))).toBe(false);
    index.replaceWith(ids.slice(0, 10).map((id, i) => ({ ...entry(id, i + 1), entity: 'x' }) as IndexEntry));
    expect(index.size).toBe(10);
    expect(index.has(ids[9]!)).toBe(true);
    expect(index.has(ids[10]!)).toBe(false);
  });
});
