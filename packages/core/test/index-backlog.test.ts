// The index-file keeper paces the writer: while more than MAX_INDEX_BACKLOG sealed segments wait for their index
// file, new appends wait for admission, so a writer at full speed cannot pile up resident entries (INV-INDEX-BACKLOG-BOUNDED).

import { describe, expect, it } from 'vitest';
import { Coordinate, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { MAX_INDEX_BACKLOG } from '../src/store/index-files.js';

const kind = { category: 1, typeId: 1 };

describe('index-file backlog (INV-INDEX-BACKLOG-BOUNDED)', () => {
  it('INV-INDEX-BACKLOG-BOUNDED: a writer at full speed never leaves more than a few sealed segments waiting for their file', async () => {
    const sim = new SimFs(21);
    const store = await Store.open({ dir: '/s', fs: sim, sync: 'none', segmentMaxBytes: 4096 });
    let worst = 0;
    const inFlight = 4;
    let next = 0;
    const writer = async () => {
      while (next < 400) {
        const b = next++;
        const items = Array.from({ length: 20 }, (_, i) => ({ coord: new Coordinate(`e${(b * 20 + i) % 7}`, 's'), kind, payload: new Uint8Array(48).fill(b & 0xff) }));
        await store.appendBatch(items);
        const s = store.stats();
        // Sealed segments the tier does not serve yet: their entries are still resident.
        worst = Math.max(worst, s.segments - 1 - s.index!.sealedSegments);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, writer));
    // Each append admitted before the hold may still seal one more segment.
    expect(worst).toBeLessThanOrEqual(MAX_INDEX_BACKLOG + 1 + inFlight);
    expect(store.stats().segments).toBeGreaterThanOrEqual(50);
    await store.close();
    const again = await Store.open({ dir: '/s', fs: sim });
    expect(again.stats().events).toBe(8000n);
    await again.close();
  });

  it('an append held behind the keeper is refused when the store closes, and one that was admitted lands', async () => {
    const sim = new SimFs(22);
    const store = await Store.open({ dir: '/s', fs: sim, sync: 'none', segmentMaxBytes: 2048 });
    const appends = Array.from({ length: 200 }, (_, b) =>
      store.appendBatch(Array.from({ length: 10 }, (_, i) => ({ coord: new Coordinate(`e${i}`, 's'), kind, payload: new Uint8Array(64).fill(b & 0xff) }))),
    );
    const closing = store.close();
    const settled = await Promise.allSettled(appends);
    await closing;
    for (const r of settled) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: expect.stringMatching(/^ERR_STORE_CLOSED$/) });
    const landed = settled.filter((r) => r.status === 'fulfilled').length;
    const again = await Store.open({ dir: '/s', fs: sim });
    expect(again.stats().events).toBe(BigInt(landed * 10));
    await again.close();
  });
});
