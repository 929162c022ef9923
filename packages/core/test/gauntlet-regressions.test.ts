// Regression tests for the bugs the gauntlet found (GAUNTLET.md § Bugs found), each in its smallest form.
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store, type AppendReceipt } from '../src/index.js';
import { KillableFs, SimFs } from '../src/entry/testing.js';

const E = defineEvent<{ n: number }>({ category: 1, typeId: 1 });
const c = (i: number) => new Coordinate(`e${i}`, 's');

describe('gauntlet regressions', () => {
  it('GAUNTLET-BUG-1 (INV-COMPACT-SWAP): a retention that empties every sealed segment still reopens', async () => {
    const fs = new SimFs(1);
    const store = await Store.open({ dir: '/s', fs, segmentMaxBytes: 200 });
    for (let i = 0; i < 10; i++) await store.append(c(i % 2), E, { n: i });
    const result = await store.compact({ strategy: 'retention', keep: () => false });
    expect(result.outcome).toBe('performed');
    const kept = await store.append(c(0), E, { n: 99 });
    await store.close();
    const again = await Store.open({ dir: '/s', fs, segmentMaxBytes: 200 });
    expect((await again.get(kept.eventId)).payload).toEqual({ n: 99 });
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
  });

  it('GAUNTLET-BUG-2 (INV-COMPACT-SWAP): compactions started in one tick run one after the other and lose nothing', async () => {
    const fs = new SimFs(2);
    const store = await Store.open({ dir: '/s', fs, segmentMaxBytes: 300 });
    const receipts: AppendReceipt[] = [];
    for (let i = 0; i < 30; i++) receipts.push(await store.append(c(i % 3), E, { n: i }));
    const results = await Promise.all([store.compact({ strategy: 'merge' }), store.compact({ strategy: 'merge' }), store.compact({ strategy: 'merge' })]);
    expect(results.filter((r) => r.outcome === 'performed')).toHaveLength(1);
    expect(results.every((r) => r.outcome !== 'failed')).toBe(true);
    await store.close();
    const again = await Store.open({ dir: '/s', fs, segmentMaxBytes: 300 });
    for (const r of receipts) expect((await again.get(r.eventId)).payload).toMatchObject({ n: expect.any(Number) });
    expect(again.stats().events).toBe(30n);
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
  });

  it('GAUNTLET-BUG-3 (INV-CRASH-ORACLE): what a reopen serves after a failed fsync survives the next crash', async () => {
    const sim = new SimFs(3);
    const first = await Store.open({ dir: '/s', fs: sim });
    await first.append(c(0), E, { n: 0 });
    sim.failOn('fsync', 1, 'EIO');
    await expect(first.append(c(0), E, { n: 1 })).rejects.toMatchObject({ code: 'ERR_IO' });
    await first.close().catch(() => undefined);
    const proc = new KillableFs(sim);
    const second = await Store.open({ dir: '/s', fs: proc });
    const served = second.stats().events;
    const seen: unknown[] = [];
    for await (const e of second.query()) seen.push(e.payload);
    proc.kill();
    sim.crash({ tear: false });
    const third = await Store.open({ dir: '/s', fs: new KillableFs(sim) });
    // Whatever the second open served was made durable before it was served.
    expect(third.stats().events).toBe(served);
    const after: unknown[] = [];
    for await (const e of third.query()) after.push(e.payload);
    expect(after).toEqual(seen);
    await third.close();
  });
});
