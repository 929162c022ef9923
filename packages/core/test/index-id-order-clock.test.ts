// The index file's id column order: the millisecond-run fast path (idOrderByClock) orders every set exactly as the
// radix sort does (ascending unsigned bytes, equal ids by ordinal), and declines sets whose clock bytes decrease.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { idOrder, idOrderByClock, idOrderRadix } from '../src/event-index/segment-index-encode.js';

/** `n` ids whose 6 clock bytes never decrease; `spread` bounds the random bytes so ties on the next 4 bytes and equal ids occur. */
function clockIds(n: number, seed: number, spread: number): Uint8Array {
  let s = seed >>> 0 || 1;
  const rand = () => ((s = Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0);
  const ids = new Uint8Array(n * 16);
  let ms = 0x0190_0000_0000 + (rand() % 1000);
  for (let i = 0; i < n; i++) {
    if (rand() % 4 === 0) ms += rand() % 3;
    for (let k = 5, m = ms; k >= 0; k--, m = Math.floor(m / 256)) ids[i * 16 + k] = m % 256;
    for (let k = 6; k < 16; k++) ids[i * 16 + k] = rand() % spread;
  }
  return ids;
}

describe('idOrder (index file id column)', () => {
  it('orders ids of non-decreasing clock exactly as the radix sort, ties and equal ids included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3000 }), fc.integer(), fc.constantFrom(2, 3, 256), async (n, seed, spread) => {
        const ids = clockIds(n, seed, spread);
        const fast = idOrderByClock(ids, n);
        expect(fast).toBeDefined();
        expect(Array.from(fast!)).toEqual(Array.from(await idOrderRadix(ids, n)));
      }),
      { numRuns: 60 },
    );
  });

  it('declines ids whose clock goes back, and idOrder then answers by the radix sort', async () => {
    const ids = clockIds(500, 7, 256);
    // Id 300 takes a clock below id 299's.
    ids.set(ids.subarray(0, 6), 300 * 16);
    ids[300 * 16 + 5] = (ids[299 * 16 + 5]! + 255) % 256;
    ids[300 * 16 + 4] = 0;
    expect(idOrderByClock(ids, 500)).toBeUndefined();
    expect(Array.from(await idOrder(ids, 500))).toEqual(Array.from(await idOrderRadix(ids, 500)));
  });
});
