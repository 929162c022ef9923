// EventIdSet (the duplicate-id check of verifyChain) answers as a Set of the ids would: add is true exactly for an
// id not added before, through many table and arena growths, ids read at any offset of a larger buffer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventIdSet } from '../src/store/event-id-set.js';

describe('EventIdSet', () => {
  it('adds as a Set of hex ids would, repeats and near-misses (one byte apart) included', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 16, maxLength: 16 }), { minLength: 1, maxLength: 300 }), fc.array(fc.nat(), { maxLength: 3000 }), fc.nat({ max: 7 }), (pool, picks, pad) => {
        const set = new EventIdSet();
        const reference = new Set<string>();
        const buf = new Uint8Array(pad + 16 + pad);
        for (const [i, pick] of [...picks, ...pool.map((_, k) => k)].entries()) {
          const id = pool[pick % pool.length]!.slice();
          // Every third one a byte apart from a pooled id: equal hashes must not be taken for equal ids.
          if (i % 3 === 2) id[i % 16]! ^= 1;
          buf.set(id, pad);
          const hex = Buffer.from(id).toString('hex');
          expect(set.add(buf, pad)).toBe(!reference.has(hex));
          reference.add(hex);
        }
        expect(set.size).toBe(reference.size);
      }),
      { numRuns: 200 },
    );
  });

  it('holds 200k distinct ids and knows every one again', () => {
    const set = new EventIdSet();
    const id = new Uint8Array(16);
    const dv = new DataView(id.buffer);
    for (let n = 0; n < 200_000; n++) {
      dv.setUint32(12, n);
      expect(set.add(id, 0)).toBe(true);
    }
    for (let n = 0; n < 200_000; n += 997) {
      dv.setUint32(12, n);
      expect(set.add(id, 0)).toBe(false);
    }
    expect(set.size).toBe(200_000);
  });
});
