// Durable consumers (store.consumer / store.consumers): resume after the last acknowledged event across
// crashes, a damaged or impossible cursor refused with a typed error, one holder per name.
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store, type Delivery } from '../src/index.js';
import { KillableFs, SimFs } from '../src/entry/testing.js';

const Placed = defineEvent<{ n: number }>({ category: 2, typeId: 1, name: 'Placed' });
const Other = defineEvent<{ n: number }>({ category: 2, typeId: 2, name: 'Other' });
const order = (i: number) => new Coordinate(`order:${i}`, 'shop');

async function next(it: AsyncIterator<Delivery>): Promise<Delivery> {
  const r = await it.next();
  if (r.done === true) throw new Error('iteration ended');
  return r.value;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BatpakError);
    return (err as BatpakError).code;
  }
  return 'none';
}

const ns = (ds: readonly Delivery[]) => ds.map((d) => (d.event.payload as { n: number }).n);

describe('store.consumer (INV-CONSUMER-RESUME, INV-CONSUMER-CURSOR, INV-CONSUMER-LOCK)', () => {
  it('INV-CONSUMER-RESUME: after a crash, delivery resumes right after the last acknowledged event, in order (at-least-once)', async () => {
    for (let seed = 1; seed <= 24; seed++) {
      const sim = new SimFs(seed);
      const proc = new KillableFs(sim);
      const store = await Store.open({ dir: '/s', fs: proc });
      for (let i = 1; i <= 12; i++) await store.append(order(i), i % 4 === 0 ? Other : Placed, { n: i });
      const c = await store.consumer('billing', { kinds: [Placed] });
      const it = c[Symbol.asyncIterator]();
      const acked = seed % 7; // deliveries acknowledged (awaited) before the crash
      const delivered: Delivery[] = [];
      for (let k = 0; k < acked + 2; k++) delivered.push(await next(it));
      if (acked > 0) await delivered[acked - 1]!.ack();
      // One more ack is in flight, unawaited, when the process dies: the cursor is then old or new, never torn.
      const inflight = delivered[acked]!.ack().catch(() => undefined);
      await Promise.resolve();
      proc.kill();
      sim.crash({ tear: true });
      await inflight;

      const again = await Store.open({ dir: '/s', fs: new KillableFs(sim) });
      const c2 = await again.consumer('billing', { kinds: [Placed] });
      const it2 = c2[Symbol.asyncIterator]();
      const first = await next(it2);
      const placed = [1, 2, 3, 5, 6, 7, 9, 10, 11];
      // Never before the awaited ack, never after the in-flight one.
      expect([placed[acked], placed[acked + 1]]).toContain((first.event.payload as { n: number }).n);
      expect(c2.position).toBeGreaterThanOrEqual(acked === 0 ? 0n : delivered[acked - 1]!.event.header.globalSequence);
      expect(c2.position).toBeLessThanOrEqual(delivered[acked]!.event.header.globalSequence);
      await again.close();
    }
  });

  it('INV-CONSUMER-RESUME: acks are cumulative and batchable; position and lag follow; a restart redelivers only the unacked', async () => {
    const sim = new SimFs(1);
    let store = await Store.open({ dir: '/s', fs: sim });
    for (let i = 1; i <= 10; i++) await store.append(order(i), Placed, { n: i });
    let c = await store.consumer('report');
    expect(c.position).toBe(0n);
    expect(c.lag).toBe(10n);
    const it = c[Symbol.asyncIterator]();
    const got: Delivery[] = [];
    for (let k = 0; k < 6; k++) got.push(await next(it));
    // Acks of 1..3 not awaited, then 5 awaited: one write may serve them all, and 4 is acknowledged with 5.
    void got[0]!.ack();
    void got[2]!.ack();
    await got[4]!.ack();
    expect(c.position).toBe(5n);
    expect(c.lag).toBe(5n);
    await got[1]!.ack(); // older than the position: nothing to do
    expect(c.position).toBe(5n);
    expect((await store.consumers()).map((x) => [x.name, x.position, x.lag])).toEqual([['report', 5n, 5n]]);
    await store.close();

    store = await Store.open({ dir: '/s', fs: sim });
    c = await store.consumer('report');
    const it2 = c[Symbol.asyncIterator]();
    const rest: Delivery[] = [];
    for (let k = 0; k < 5; k++) rest.push(await next(it2));
    expect(ns(rest)).toEqual([6, 7, 8, 9, 10]);
    // Live: an event appended now is delivered to the waiting consumer.
    const pending = next(it2);
    await store.append(order(11), Placed, { n: 11 });
    expect(ns([await pending])).toEqual([11]);
    await store.close();
  });

  it("from: 'end' starts after what is committed when the consumer is first created, and keeps that across restarts", async () => {
    const sim = new SimFs(2);
    let store = await Store.open({ dir: '/s', fs: sim });
    for (let i = 1; i <= 3; i++) await store.append(order(i), Placed, { n: i });
    const c = await store.consumer('tail', { from: 'end' });
    expect(c.position).toBe(3n);
    await store.append(order(4), Placed, { n: 4 });
    await store.close();
    store = await Store.open({ dir: '/s', fs: sim });
    const it = (await store.consumer('tail', { from: 'end' }))[Symbol.asyncIterator]();
    expect(ns([await next(it)])).toEqual([4]);
    await store.close();
  });

  it('INV-CONSUMER-CURSOR: a damaged cursor, one of another consumer, or one ahead of the log is ERR_CORRUPT_CURSOR, never a restart', async () => {
    const sim = new SimFs(3);
    let store = await Store.open({ dir: '/s', fs: sim });
    for (let i = 1; i <= 4; i++) await store.append(order(i), Placed, { n: i });
    const c = await store.consumer('audit');
    const it = c[Symbol.asyncIterator]();
    await next(it);
    await (await next(it)).ack();
    await store.close();
    const path = '/s/consumers/audit.cursor';
    const good = await readAll(sim, path);

    for (const at of [0, 7, 9, 14, good.length - 1]) {
      const bad = new Uint8Array(good);
      bad[at]! ^= 0x40;
      await sim.writeFileAtomic(path, bad);
      store = await Store.open({ dir: '/s', fs: sim });
      expect(await code(store.consumer('audit'))).toBe('ERR_CORRUPT_CURSOR');
      expect(await code(store.consumers())).toBe('ERR_CORRUPT_CURSOR');
      await store.close();
    }
    // A cursor copied under another name.
    await sim.writeFileAtomic(path, good);
    await sim.writeFileAtomic('/s/consumers/copy.cursor', good);
    store = await Store.open({ dir: '/s', fs: sim });
    expect(await code(store.consumer('copy'))).toBe('ERR_CORRUPT_CURSOR');
    await store.close();
    await sim.remove('/s/consumers/copy.cursor');
    // A cursor ahead of the log (the store was restored from an older copy): refused, not skipped ahead.
    const ahead = new SimFs(4);
    const small = await Store.open({ dir: '/s', fs: ahead });
    await small.append(order(1), Placed, { n: 1 });
    await small.close();
    await ahead.mkdir('/s/consumers');
    await ahead.writeFileAtomic(path, good);
    store = await Store.open({ dir: '/s', fs: ahead });
    const err = await store.consumer('audit').catch((e: unknown) => e as BatpakError);
    expect((err as BatpakError).code).toBe('ERR_CORRUPT_CURSOR');
    expect((err as BatpakError).details.reason).toMatch(/ahead of the log/);
    await store.close();
    // The good cursor still works.
    store = await Store.open({ dir: '/s', fs: sim });
    expect(ns([await next((await store.consumer('audit'))[Symbol.asyncIterator]())])).toEqual([3]);
    await store.close();
  });

  it('INV-CONSUMER-LOCK: one holder per consumer name; released by close() and by the store closing', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(5) });
    await store.append(order(1), Placed, { n: 1 });
    const a = await store.consumer('mail');
    expect(await code(store.consumer('mail'))).toBe('ERR_CONSUMER_LOCKED');
    const other = await store.consumer('sms');
    const it = a[Symbol.asyncIterator]();
    await next(it);
    const waiting = it.next();
    await a.close();
    expect(await waiting).toEqual({ done: true, value: undefined });
    const b = await store.consumer('mail');
    const live = other[Symbol.asyncIterator]();
    await next(live);
    const pending = live.next();
    await store.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(b.position).toBe(0n);
  });

  it('refuses bad names and options, and read-only stores', async () => {
    const sim = new SimFs(6);
    const store = await Store.open({ dir: '/s', fs: sim });
    for (const name of ['', '.hidden', 'a/b', 'x'.repeat(129), 5 as unknown as string]) expect(await code(store.consumer(name))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(store.consumer('ok', { from: 'middle' as 'end' }))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(store.consumer('ok', { kinds: [] }))).toBe('ERR_INVALID_ARGUMENT');
    await store.close();
    const ro = await Store.openReadOnly('/s', { fs: sim });
    expect(await code(ro.consumer('ok'))).toBe('ERR_READ_ONLY');
    expect(await ro.consumers()).toEqual([]);
    await ro.close();
  });
});

async function readAll(sim: SimFs, path: string): Promise<Uint8Array> {
  const f = await sim.open(path);
  try {
    return await f.readAt(0, await f.size());
  } finally {
    await f.close();
  }
}
