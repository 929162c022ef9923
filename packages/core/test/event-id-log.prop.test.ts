// EventIdLog (the duplicate-id check of verifyChain) finds exactly the ids that repeat an earlier one: its filter
// never misses a repeat, and its exact pass drops every false candidate, whatever the filter's size.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventIdLog } from '../src/store/event-id-log.js';

/** Adds `ids` in order; returns the candidates and the positions `repeats` confirms. */
function run(ids: readonly Uint8Array[], expected: number, pad: number) {
  const log = new EventIdLog(expected);
  const buf = new Uint8Array(pad + 16 + pad);
  const candidates: number[] = [];
  for (const [i, id] of ids.entries()) {
    buf.set(id, pad);
    if (log.add(buf, pad)) candidates.push(i);
    buf.fill(0xff);
  }
  return { log, candidates, repeats: log.repeats(candidates) };
}

describe('EventIdLog', () => {
  it('repeats are exactly the positions whose id was added before: near-misses one byte apart, any filter size', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 16, maxLength: 16 }), { minLength: 1, maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 2000 }),
        // A filter far too small for the ids (every add a candidate) as well as a fitting one.
        fc.constantFrom(1, 64, 4096),
        fc.nat({ max: 7 }),
        (pool, picks, expected, pad) => {
          const ids = picks.map((p, i) => {
            const id = pool[p % pool.length]!.slice();
            if (i % 3 === 2) id[i % 16]! ^= 1;
            return id;
          });
          const seen = new Set<string>();
          const truth: number[] = [];
          for (const [i, id] of ids.entries()) {
            const hex = Buffer.from(id).toString('hex');
            if (seen.has(hex)) truth.push(i);
            seen.add(hex);
          }
          const { log, candidates, repeats } = run(ids, expected, pad);
          for (const t of truth) expect(candidates).toContain(t);
          expect(repeats).toEqual(truth);
          expect(log.size).toBe(ids.length);
          for (const [i, id] of ids.entries()) if (i % 97 === 0) expect(log.idAt(i)).toBe(Buffer.from(id).toString('hex'));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('200k distinct ids: few candidates (a fitting filter), no repeats; then each again, every one a repeat', () => {
    const id = new Uint8Array(16);
    const dv = new DataView(id.buffer);
    const ids: Uint8Array[] = [];
    for (let n = 0; n < 200_000; n++) {
      dv.setUint32(12, n);
      dv.setUint32(0, n * 7919);
      ids.push(id.slice());
    }
    const once = run(ids, ids.length, 0);
    expect(once.repeats).toEqual([]);
    expect(once.candidates.length).toBeLessThan(ids.length / 50);
    const twice = run([...ids, ...ids.filter((_, i) => i % 1000 === 0)], ids.length, 0);
    expect(twice.repeats).toEqual(ids.map((_, i) => ids.length + i / 1000).filter(Number.isInteger).slice(0, 200));
  });
});
