// A compaction called while the maintenance lock is held shared waits; a segment sealed into the two-tier index
// meanwhile must be one of its sources (found by sim seed 1883: the active segment id was read at the call).

import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store, type Fs, type FsFile } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';

const E = defineEvent<{ n: number }>({ category: 1, typeId: 1 });
const tick = () => new Promise((r) => setTimeout(r, 1));

/** SimFs whose reads of segment 1 wait while the gate is closed (so a verifyChain holds the lock shared). */
function gatedFs(sim: SimFs): { fs: Fs; close(): void; open(): void } {
  let gate: Promise<void> | undefined;
  let release = () => {};
  const wait = (path: string) => (gate !== undefined && path.endsWith('/000001.bps') ? gate : undefined);
  const fs = new Proxy(sim, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (prop !== 'open' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
      return async (path: string, options?: object) => {
        const f = await (v as (p: string, o?: object) => Promise<FsFile>).call(target, path, options);
        return new Proxy(f, {
          get(file, q) {
            const w = Reflect.get(file, q, file) as unknown;
            if (typeof w !== 'function') return w;
            if (q !== 'readAt' && q !== 'readInto') return w.bind(file);
            return async (...a: unknown[]) => {
              await wait(path);
              return (w as (...b: unknown[]) => unknown).apply(file, a);
            };
          },
        });
      };
    },
  }) as unknown as Fs;
  return {
    fs,
    close: () => void (gate = new Promise<void>((r) => (release = r))),
    open: () => {
      gate = undefined;
      release();
    },
  };
}

describe('compaction and the sealed tier', () => {
  it('a segment sealed into the tier while a compaction waits for the lock is one of its sources', async () => {
    const sim = new SimFs(31);
    const g = gatedFs(sim);
    const store = await Store.open({ dir: '/s', fs: g.fs, segmentMaxBytes: 700 });
    const c = (i: number) => new Coordinate(`e${i % 3}`, 's');
    let n = 0;
    const settleTier = async () => {
      for (let i = 0; i < 500 && store.stats().index!.sealedSegments < store.stats().segments - 1; i++) await tick();
    };
    while (store.stats().segments < 4) await store.append(c(n), E, { n: n++ });
    await settleTier();
    const sealedBefore = store.stats().index!.sealedSegments;
    expect(sealedBefore).toBeGreaterThanOrEqual(3);

    g.close();
    const verifying = store.verifyChain();
    await tick();
    const compacting = store.compact({ strategy: 'merge' });
    // Rotate once more and let the keeper seal the old active segment into the tier while the compaction waits.
    const segments = store.stats().segments;
    while (store.stats().segments === segments) await store.append(c(n), E, { n: n++ });
    await settleTier();
    expect(store.stats().index!.sealedSegments).toBe(sealedBefore + 1);
    g.open();

    expect((await verifying).intact).toBe(true);
    const result = await compacting;
    expect(result.outcome).toBe('performed');
    // Every sealed segment, the one sealed while it waited included, merged into one beside the active segment.
    expect(store.stats().segments).toBe(2);
    expect((await store.verifyChain()).intact).toBe(true);
    await store.close();
  });
});
