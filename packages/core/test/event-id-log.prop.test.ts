// EventIdLog (the duplicate-id check of verifyChain) finds exactly the ids that repeat an earlier one, whatever the
// log's first size, in one pass or many (its end search splits a large log by hash), near-misses one byte apart too.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventIdLog } from '../src/store/event-id-log.js';

/** Adds `ids` in order (each from a reused buffer, at `pad`); returns the log and the positions `repeats` names. */
function run(ids: readonly Uint8Array[], expected: number, pad: number) {
  const log = new EventIdLog(expected);
  const buf = new Uint8Array(pad + 16 + pad);
  for (const id of ids) {
    buf.set(id, pad);
    log.add(buf, pad);
    buf.fill(0xff);
  }
  return { log, repeats: log.repeats() };
}

/** The positions whose id was added before, by hex strings. */
function truthOf(ids: readonly Uint8Array[]): number[] {
  const seen = new Set<string>();
  const truth: number[] = [];
  for (const [i, id] of ids.entries()) {
    const hex = Buffer.from(id).toString('hex');
    if (seen.has(hex)) truth.push(i);
    seen.add(hex);
  }
  return truth;
}

describe('EventIdLog', () => {
  it('repeats are exactly the positions whose id was added before: near-misses one byte apart, any filter size', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 16, maxLength: 16 }), { minLength: 1, maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 2000 }),
        // A log sized far too small for the ids (it grows) as well as a fitting one.
        fc.constantFrom(1, 64, 4096),
        fc.nat({ max: 7 }),
        (pool, picks, expected, pad) => {
          const ids = picks.map((p, i) => {
            const id = pool[p % pool.length]!.slice();
            if (i % 3 === 2) id[i % 16]! ^= 1;
            return id;
          });
          const { log, repeats } = run(ids, expected, pad);
          expect(repeats).toEqual(truthOf(ids));
          expect(log.size).toBe(ids.length);
          for (const [i, id] of ids.entries()) if (i % 97 === 0) expect(log.idAt(i)).toBe(Buffer.from(id).toString('hex'));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('200k distinct ids (two passes of the end search): no repeats; then every 1000th again, each a repeat', () => {
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
    const twice = run([...ids, ...ids.filter((_, i) => i % 1000 === 0)], ids.length, 0);
    expect(twice.repeats).toEqual(ids.map((_, i) => ids.length + i / 1000).filter(Number.isInteger).slice(0, 200));
  });

  it('300k ids, repeats spread over every pass of the end search: exactly the later copies', () => {
    const ids: Uint8Array[] = [];
    const id = new Uint8Array(16);
    const dv = new DataView(id.buffer);
    for (let n = 0; n < 300_000; n++) {
      dv.setUint32(0, n * 2654435761);
      dv.setUint32(8, n);
      // One id in 997 is the id 12345 positions earlier (and so again 12345 later, for some).
      if (n % 997 === 0 && n >= 12_345) {
        ids.push(ids[n - 12_345]!.slice());
        continue;
      }
      ids.push(id.slice());
    }
    const { repeats } = run(ids, 1024, 3);
    const truth = truthOf(ids);
    expect(truth.length).toBeGreaterThan(250);
    expect(repeats).toEqual(truth);
  });
});
