// The pipelined group commit on SimFs (INV-PIPELINE-FAIL): group N+1 is prepared (sequenced, linked,
// encoded) while group N's write and fsync are in flight; when N fails, N+1 fails whole before any of it
// is written, acknowledged or indexed, and the log stays a valid chain across a crash and reopen.
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store } from '../src/index.js';
import type { Fs, FsFile } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { SEGMENT_SUFFIX } from '../src/segment/format.js';

const E = defineEvent<{ n: number }>({ category: 1, typeId: 1 });
const x = new Coordinate('x', 's');
const y = new Coordinate('y', 's');

/** SimFs whose segment appends, once armed, wait at a gate until released: a group held "in flight". */
function gatedFs(sim: SimFs) {
  let armed = false;
  let reached: (() => void) | undefined;
  let release: (() => void) | undefined;
  const atGate = new Promise<void>((r) => (reached = r));
  const gate = new Promise<void>((r) => (release = r));
  const fs = new Proxy(sim, {
    get(target, key) {
      if (key !== 'open') {
        const v = Reflect.get(target, key) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return async (path: string, options?: Parameters<Fs['open']>[1]): Promise<FsFile> => {
        const file = await target.open(path, options);
        if (!path.endsWith(SEGMENT_SUFFIX)) return file;
        return new Proxy(file, {
          get(f, k) {
            if (k === 'append') {
              return async (chunks: readonly Uint8Array[]) => {
                if (armed) {
                  armed = false;
                  reached!();
                  await gate;
                }
                return f.append(chunks);
              };
            }
            const v = Reflect.get(f, k) as unknown;
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(f) : v;
          },
        });
      };
    },
  }) as Fs;
  return { fs, arm: () => (armed = true), atGate, release: () => release!() };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('pipelined group commit (INV-PIPELINE-FAIL)', () => {
  for (const fault of ['append', 'fsync'] as const) {
    it(`a ${fault} fault on group N fails group N+1, prepared behind it, before any of N+1 is written or acknowledged`, async () => {
      for (let seed = 1; seed <= 10; seed++) {
        const sim = new SimFs(seed);
        const g = gatedFs(sim);
        const store = await Store.open({ dir: '/s', fs: g.fs });
        const first = await store.append(x, E, { n: 0 });
        const segAppendsBefore = sim.stats().calls.append;

        // Group N: one append to x, held at the gate with its write not yet issued.
        g.arm();
        const n = store.append(x, E, { n: 1 });
        await g.atGate;
        // Group N+1, prepared while N is in flight: it links x's next event to N's and names N's sequence.
        const behind = [store.append(x, E, { n: 2 }, { expectedSequence: 2n }), store.append(y, E, { n: 3 })];
        await turn();
        // Out of space: refused before anything is written back, so the writer cuts N back and goes on (an EIO
        // on a durable write stops it, as a failed fsync does: durability.sim.test.ts).
        if (fault === 'append') sim.failOn('append', 1, 'ENOSPC');
        else sim.failOn('fsync', 1, 'EIO');
        g.release();

        const results = await Promise.allSettled([n, ...behind]);
        expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
        for (const r of results.slice(1)) {
          expect((r as PromiseRejectedResult).reason).toMatchObject({ code: fault === 'append' ? 'ERR_NO_SPACE' : 'ERR_IO', message: expect.stringContaining('the commit group before this one failed') });
        }
        // Only group N's own write was attempted: N+1 never reached the disk, nothing of either was indexed.
        expect(sim.stats().calls.append - segAppendsBefore).toBe(1);
        expect(store.stats().events).toBe(1n);
        expect(store.head('x')?.entitySequence).toBe(1n);
        expect(store.head('y')).toBeUndefined();

        if (fault === 'append') {
          // The writer cut N back off the file and goes on: the next append chains from committed state.
          const next = await store.append(x, E, { n: 4 }, { expectedSequence: 1n });
          expect(next.entitySequence).toBe(2n);
          expect(next.prevHash).toEqual(first.contentHash);
        }
        await store.close().catch(() => undefined);
        sim.crash({ tear: true });
        const again = await Store.open({ dir: '/s', fs: sim });
        const report = await again.verifyChain();
        expect(report.intact).toBe(true);
        const kept = [];
        for await (const ev of again.query({ entity: 'x' })) kept.push(ev.payload);
        expect(kept[0]).toEqual({ n: 0 });
        expect(kept).not.toContainEqual({ n: 2 });
        await again.close();
      }
    });
  }

  it('an append that arrives while a group is in flight is prepared behind it and lands after it, linked to it', async () => {
    const sim = new SimFs(7);
    const g = gatedFs(sim);
    const store = await Store.open({ dir: '/s', fs: g.fs });
    g.arm();
    const a = store.append(x, E, { n: 1 });
    await g.atGate;
    const b = store.append(x, E, { n: 2 }, { expectedSequence: 1n });
    await turn();
    g.release();
    const [ra, rb] = await Promise.all([a, b]);
    expect(rb.globalSequence).toBe(ra.globalSequence + 1n);
    expect(rb.entitySequence).toBe(2n);
    expect(rb.prevHash).toEqual(ra.contentHash);
    expect((await store.verifyChain()).intact).toBe(true);
    await store.close();
  });

  it('retries of keys the in-flight group writes wait for it and replay its receipts (a batch is not half-refused)', async () => {
    const sim = new SimFs(8);
    const g = gatedFs(sim);
    const store = await Store.open({ dir: '/s', fs: g.fs });
    const items = [
      { coord: x, kind: E, payload: { n: 1 }, idempotencyKey: 'k1' },
      { coord: y, kind: E, payload: { n: 2 }, idempotencyKey: 'k2' },
    ];
    g.arm();
    const original = store.appendBatch(items);
    await g.atGate;
    const batchRetry = store.appendBatch(items);
    const singleRetry = store.append(x, E, { n: 1 }, { idempotencyKey: 'k1' });
    await turn();
    g.release();
    const [o, b, s1] = await Promise.all([original, batchRetry, singleRetry]);
    expect(b.map((r) => r.eventId)).toEqual(o.map((r) => r.eventId));
    expect(s1.eventId).toBe(o[0]!.eventId);
    expect(store.stats().events).toBe(2n);
    await store.close();
  });
});
