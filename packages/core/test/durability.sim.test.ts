// Durability and group commit on SimFs: a receipt means durable (sync 'always'); concurrent appends
// share one durable write per group; a batch is all or nothing across a crash.
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store } from '../src/index.js';
import { KillableFs, SimFs } from '../src/entry/testing.js';
import type { FsFile } from '../src/index.js';

const E = defineEvent<{ n: number }>({ category: 1, typeId: 1 });
const c = (i: number) => new Coordinate(`e${i}`, 's');

describe('durability (INV-DURABLE-ACK, INV-GROUP-COMMIT, INV-BATCH-ATOMIC)', () => {
  it('INV-DURABLE-ACK: every acknowledged append survives a crash right after the acknowledgement', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const sim = new SimFs(seed);
      const proc = new KillableFs(sim);
      const store = await Store.open({ dir: '/s', fs: proc });
      const r = await store.append(c(1), E, { n: seed });
      proc.kill();
      sim.crash({ tear: true });
      const again = await Store.open({ dir: '/s', fs: new KillableFs(sim) });
      expect((await again.get(r.eventId)).payload).toEqual({ n: seed });
      await again.close();
    }
  });

  it("with sync 'none' an acknowledged append may be lost at a crash until sync() (the documented opt-out)", async () => {
    const sim = new SimFs(3);
    const proc = new KillableFs(sim);
    const store = await Store.open({ dir: '/s', fs: proc, sync: 'none' });
    const kept = await store.append(c(1), E, { n: 1 });
    await store.sync();
    await store.append(c(1), E, { n: 2 });
    proc.kill();
    sim.crash({ tear: false });
    const again = await Store.open({ dir: '/s', fs: new KillableFs(sim) });
    expect(again.stats().events).toBe(1n);
    expect((await again.get(kept.eventId)).payload).toEqual({ n: 1 });
    await again.close();
  });

  it('INV-GROUP-COMMIT: 64 concurrent appends cost far fewer than 64 writes and fsyncs', async () => {
    const sim = new SimFs(4);
    const store = await Store.open({ dir: '/s', fs: sim });
    const before = sim.stats().calls;
    const receipts = await Promise.all(Array.from({ length: 64 }, (_, i) => store.append(c(i % 8), E, { n: i })));
    const after = sim.stats().calls;
    expect(receipts).toHaveLength(64);
    expect(after.append - before.append).toBeLessThanOrEqual(2);
    expect(after.fsync - before.fsync).toBeLessThanOrEqual(2);
    expect(after.append - before.append).toBe(after.fsync - before.fsync);
    await store.close();
  });

  it('INV-BATCH-ATOMIC: a batch torn by a crash mid-write is invisible after recovery, and new appends chain past it', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const sim = new SimFs(seed);
      const proc = new KillableFs(sim);
      const store = await Store.open({ dir: '/s', fs: proc });
      const first = await store.append(c(1), E, { n: 0 });
      // The batch's write lands, but the process dies before its fsync: the crash tears it anywhere.
      sim.failOn('fsync', 1, 'fsync-lie');
      const batch = store.appendBatch(Array.from({ length: 5 }, (_, i) => ({ coord: c(1 + (i % 2)), kind: E, payload: { n: 10 + i } })));
      await batch.catch(() => undefined);
      proc.kill();
      sim.crash({ tear: true });
      const again = await Store.open({ dir: '/s', fs: new KillableFs(sim) });
      const visible = again.stats().events;
      expect([1n, 6n]).toContain(visible);
      const next = await again.append(c(1), E, { n: 99 });
      expect(next.globalSequence).toBe(visible + 1n);
      expect((await again.verifyChain()).intact).toBe(true);
      expect((await again.get(first.eventId)).payload).toEqual({ n: 0 });
      await again.close();
    }
  });

  it('a write refused for space is cut back: the batch fails, nothing is visible, and the store keeps working', async () => {
    const sim = new SimFs(5);
    const store = await Store.open({ dir: '/s', fs: sim });
    await store.append(c(1), E, { n: 0 });
    sim.failOn('append', 1, 'ENOSPC');
    await expect(store.appendBatch([0, 1, 2].map((n) => ({ coord: c(2), kind: E, payload: { n } })))).rejects.toBeInstanceOf(BatpakError);
    expect(store.stats().events).toBe(1n);
    const ok = await store.append(c(2), E, { n: 5 });
    expect(ok.globalSequence).toBe(2n);
    await store.close();
    const again = await Store.open({ dir: '/s', fs: sim });
    expect(again.stats().events).toBe(2n);
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
  });

  it('a durable write that fails with EIO is cut back and stops the writer until reopen, as a failed fsync does', async () => {
    // The active segment's appends are durable writes (O_DSYNC): an EIO may come from writing back, where a
    // failed fsync's rule applies. Nothing of the batch is visible, and a reopen appends after the last good group.
    const sim = new SimFs(5);
    const store = await Store.open({ dir: '/s', fs: sim });
    await store.append(c(1), E, { n: 0 });
    sim.failOn('append', 1, 'short-write');
    await expect(store.appendBatch([0, 1, 2].map((n) => ({ coord: c(2), kind: E, payload: { n } })))).rejects.toMatchObject({ code: 'ERR_IO' });
    expect(store.stats().events).toBe(1n);
    await expect(store.append(c(2), E, { n: 5 })).rejects.toMatchObject({ code: 'ERR_WRITER_FAILED' });
    await store.close();
    const again = await Store.open({ dir: '/s', fs: sim });
    expect(again.stats().events).toBe(1n);
    const ok = await again.append(c(2), E, { n: 5 });
    expect(ok.globalSequence).toBe(2n);
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
  });

  it("INV-DURABLE-ACK: under sync 'always' a group's write is durable by itself when the Fs honours syncAppends, and fsynced when it does not", async () => {
    for (const honours of [true, false]) {
      const sim = new SimFs(7);
      let fsyncs = 0;
      let durableAppends = 0;
      // A view of SimFs that counts the calls the writer makes on segment files, and (honours = false) drops the option.
      const view = new Proxy(sim, {
        get(target, prop) {
          const v = Reflect.get(target, prop, target) as unknown;
          if (prop !== 'open' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
          return async (path: string, options?: { syncAppends?: boolean }) => {
            const f = await (v as (p: string, o?: object) => Promise<FsFile>).call(target, path, honours ? options : { ...options, syncAppends: false });
            if (!path.endsWith('.bps')) return f;
            return new Proxy(f, {
              get(file, q) {
                const w = Reflect.get(file, q, file) as unknown;
                if (typeof w !== 'function') return w;
                return (...a: unknown[]) => {
                  if (q === 'fsync') fsyncs++;
                  if (q === 'append' && file.appendsDurable === true) durableAppends++;
                  return (w as (...b: unknown[]) => unknown).apply(file, a);
                };
              },
            });
          };
        },
      });
      const store = await Store.open({ dir: '/s', fs: view });
      const [f0, d0] = [fsyncs, durableAppends];
      for (let i = 0; i < 5; i++) await store.append(c(1), E, { n: i });
      expect(durableAppends - d0).toBe(honours ? 5 : 0);
      expect(fsyncs - f0).toBe(honours ? 0 : 5);
      await store.close();
      sim.crash({ tear: true });
      const again = await Store.open({ dir: '/s', fs: sim });
      expect(again.stats().events).toBe(5n);
      await again.close();
    }
  });

  it('a failed fsync stops the writer (ERR_WRITER_FAILED) until reopen; reads keep working', async () => {
    const sim = new SimFs(6);
    const store = await Store.open({ dir: '/s', fs: sim });
    const r = await store.append(c(1), E, { n: 0 });
    sim.failOn('fsync', 1, 'EIO');
    await expect(store.append(c(1), E, { n: 1 })).rejects.toMatchObject({ code: 'ERR_IO' });
    await expect(store.append(c(1), E, { n: 2 })).rejects.toMatchObject({ code: 'ERR_WRITER_FAILED' });
    expect((await store.get(r.eventId)).payload).toEqual({ n: 0 });
    await store.close();
    const again = await Store.open({ dir: '/s', fs: sim });
    await again.append(c(1), E, { n: 3 });
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
  });
});
