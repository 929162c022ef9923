// Live subscriptions (store.subscribe): replay then live with no gap and no duplicate, filters, a slow
// subscriber never blocks the writer, clean ends on signal and close, durable-only delivery, shred-safe reads.
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store, type StoredEvent } from '../src/index.js';
import { KillableFs, SimFs } from '../src/entry/testing.js';

const Deposited = defineEvent<{ n: number }>({ category: 1, typeId: 1, name: 'Deposited' });
const Withdrawn = defineEvent<{ n: number }>({ category: 1, typeId: 2, name: 'Withdrawn' });
const acct = (i: number) => new Coordinate(`account:${i}`, i % 2 === 0 ? 'even' : 'odd');

async function take(it: AsyncIterator<StoredEvent>, n: number): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done === true) break;
    out.push(r.value);
  }
  return out;
}

const seqs = (events: readonly StoredEvent[]) => events.map((e) => Number(e.header.globalSequence));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('store.subscribe (INV-SUBSCRIBE-HANDOVER, INV-SUBSCRIBE-PULL, INV-SUBSCRIBE-END, INV-SUBSCRIBE-DURABLE)', () => {
  it('INV-SUBSCRIBE-HANDOVER: replays after `after`, then follows live commits racing the hand-over, each once, in commit order', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const store = await Store.open({ dir: '/s', fs: new SimFs(seed) });
      for (let i = 0; i < 10; i++) await store.append(acct(i), Deposited, { n: i });
      const it = store.subscribe({ after: 4n })[Symbol.asyncIterator]();
      // Appends (single and batched) race the subscriber from its first pull until well past the replay.
      const writer = (async () => {
        for (let i = 0; i < 40; i++) {
          if (i % 3 === 0) await store.appendBatch([0, 1, 2].map((k) => ({ coord: acct(k), kind: Deposited, payload: { n: i } })));
          else void store.append(acct(i), Withdrawn, { n: i });
          if ((i + seed) % 4 === 0) await new Promise((r) => setImmediate(r));
        }
      })();
      const total = 10 + 14 * 3 + 26;
      const got = await take(it, total - 4);
      await writer;
      expect(seqs(got)).toEqual(range(5, total));
      await store.close();
      expect((await it.next()).done).toBe(true);
    }
  });

  it('INV-SUBSCRIBE-HANDOVER: filters by entity, scope and kinds (definitions or kinds), still gapless', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(1) });
    for (let i = 0; i < 12; i++) await store.append(acct(i % 4), i % 3 === 0 ? Withdrawn : Deposited, { n: i });
    const ac = new AbortController();
    const byEntity = take(store.subscribe({ entity: 'account:1', signal: ac.signal })[Symbol.asyncIterator](), 6);
    const byScope = take(store.subscribe({ scope: 'even', kinds: [Withdrawn], signal: ac.signal })[Symbol.asyncIterator](), 4);
    const byKind = take(store.subscribe({ kinds: [{ category: 1, typeId: 2 }], after: 6n, signal: ac.signal })[Symbol.asyncIterator](), 4);
    for (let i = 12; i < 24; i++) await store.append(acct(i % 4), i % 3 === 0 ? Withdrawn : Deposited, { n: i });
    const ns = (es: StoredEvent[]) => es.map((e) => (e.payload as { n: number }).n);
    expect(ns(await byEntity)).toEqual([1, 5, 9, 13, 17, 21]);
    expect(ns(await byScope)).toEqual([0, 6, 12, 18]);
    expect(ns(await byKind)).toEqual([6, 9, 12, 15]);
    ac.abort();
    await store.close();
  });

  it('INV-SUBSCRIBE-HANDOVER: { category } selects a whole category; onCaughtUp reports each position delivered through before waiting', async () => {
    const Other = defineEvent<{ n: number }>({ category: 2, typeId: 1, name: 'Other' });
    const store = await Store.open({ dir: '/s', fs: new SimFs(7) });
    await store.append(acct(1), Deposited, { n: 1 });
    await store.append(acct(1), Other, { n: 2 });
    await store.append(acct(1), Withdrawn, { n: 3 });
    const caught: bigint[] = [];
    const ac = new AbortController();
    const it = store.subscribe({ kinds: [{ category: 1 }], signal: ac.signal, onCaughtUp: (p) => caught.push(p) })[Symbol.asyncIterator]();
    expect(seqs(await take(it, 2))).toEqual([1, 3]);
    expect(caught).toEqual([]);
    const next = it.next();
    await new Promise((r) => setImmediate(r));
    expect(caught).toEqual([3n]);
    await store.append(acct(1), Other, { n: 4 });
    await store.append(acct(1), Deposited, { n: 5 });
    expect(seqs([(await next).value as StoredEvent])).toEqual([5]);
    ac.abort();
    expect((await it.next()).done).toBe(true);
    // Never a position before one already reported, never past what was delivered through.
    expect(caught.every((p, i) => p <= 5n && (i === 0 || p >= caught[i - 1]!))).toBe(true);
    await store.close();
  });

  it('INV-SUBSCRIBE-PULL: a subscriber that stops pulling never blocks appends, and later gets everything in order', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(2) });
    await store.append(acct(0), Deposited, { n: 0 });
    const it = store.subscribe()[Symbol.asyncIterator]();
    expect(seqs(await take(it, 1))).toEqual([1]);
    // The subscriber does not pull while 2,000 events commit: every append still resolves.
    for (let b = 0; b < 20; b++) await store.appendBatch(range(1, 100).map((n) => ({ coord: acct(n), kind: Deposited, payload: { n } })));
    expect(store.lastSequence).toBe(2001n);
    expect(seqs(await take(it, 2000))).toEqual(range(2, 2001));
    await store.close();
  });

  it('INV-SUBSCRIBE-END: ends without an error when its signal aborts (waiting, or before the first pull) and when the store closes', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(3) });
    await store.append(acct(0), Deposited, { n: 0 });
    const ac = new AbortController();
    const it = store.subscribe({ signal: ac.signal })[Symbol.asyncIterator]();
    expect(seqs(await take(it, 1))).toEqual([1]);
    const waiting = it.next();
    ac.abort();
    expect(await waiting).toEqual({ done: true, value: undefined });

    const pre = new AbortController();
    pre.abort();
    expect(await take(store.subscribe({ signal: pre.signal })[Symbol.asyncIterator](), 1)).toEqual([]);

    const live = store.subscribe({ after: 1n })[Symbol.asyncIterator]();
    const pending = live.next();
    await store.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    // After close, a new subscription is refused (typed) rather than left waiting.
    expect(() => store.subscribe()).toThrow(BatpakError);
  });

  it('refuses bad options with typed errors', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(4) });
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as BatpakError).code;
      }
      return 'none';
    };
    expect(code(() => store.subscribe({ after: -1n }))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => store.subscribe({ after: 1 as unknown as bigint }))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => store.subscribe({ kinds: [] }))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => store.subscribe({ kinds: [{ category: 99, typeId: 1 }] }))).toBe('ERR_INVALID_KIND');
    expect(code(() => store.subscribe({ entity: 5 as unknown as string }))).toBe('ERR_INVALID_ARGUMENT');
    await store.close();
  });

  it('INV-SUBSCRIBE-DURABLE: under sync always, every event a subscriber saw survives a crash right then', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const sim = new SimFs(seed);
      const proc = new KillableFs(sim);
      const store = await Store.open({ dir: '/s', fs: proc });
      const it = store.subscribe()[Symbol.asyncIterator]();
      for (let i = 0; i < 8; i++) void store.append(acct(i), Deposited, { n: i }).catch(() => undefined);
      const seen = await take(it, 1 + (seed % 5));
      proc.kill();
      sim.crash({ tear: true });
      const again = await Store.open({ dir: '/s', fs: new KillableFs(sim) });
      for (const e of seen) expect((await again.get(e.header.eventId)).payload).toEqual(e.payload);
      await again.close();
    }
  });

  it('a shredded payload reaches a subscriber only as { shredded: true, payload: undefined }', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(5), payloadEncryption: { granularity: 'entity' } });
    await store.append(acct(1), Deposited, { n: 1 });
    const it = store.subscribe({ kinds: [Deposited] })[Symbol.asyncIterator]();
    await store.shredScope({ entity: 'account:1' });
    await store.append(acct(2), Deposited, { n: 2 });
    const [a, b] = await take(it, 2);
    expect(a).toMatchObject({ shredded: true, payload: undefined });
    expect(b).toMatchObject({ shredded: false, payload: { n: 2 } });
    await store.close();
  });
});
