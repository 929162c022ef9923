// Exactly-once reactions (store.react) and causation (append's causationId / correlationId, walkCausation):
// a crash at any point neither loses a reaction nor applies it twice.
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store, type FsFile, type StoredEvent } from '../src/index.js';
import { KillableFs, SimFs } from '../src/entry/testing.js';

const OrderPlaced = defineEvent<{ orderId: number }>({ category: 3, typeId: 1, name: 'OrderPlaced' });
const Stop = defineEvent<{ at: number }>({ category: 3, typeId: 2, name: 'Stop' });
const InvoiceIssued = defineEvent<{ orderId: number }>({ category: 4, typeId: 1, name: 'InvoiceIssued' });
const order = (i: number) => new Coordinate(`order:${i}`, 'shop');
const invoice = (i: number) => new Coordinate(`invoice:${i}`, 'billing');

async function all(store: Store, kind: { category: number; typeId: number }): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of store.query({ kind })) out.push(e);
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(BatpakError);
    return (err as BatpakError).code;
  }
  return 'none';
}

/** Runs the invoicing reaction until it meets a Stop event (delivered in order, so after every earlier order). */
async function invoiceUntilStop(store: Store, onEvent: (n: number) => void = () => undefined): Promise<void> {
  const ac = new AbortController();
  let n = 0;
  await store.react(
    'invoicing',
    { kinds: [OrderPlaced, Stop] },
    async (event, tx) => {
      onEvent(n++);
      if (event.header.kind.typeId === Stop.kind.typeId) return ac.abort();
      const { orderId } = event.payload as { orderId: number };
      tx.append(invoice(orderId), InvoiceIssued, { orderId });
    },
    { signal: ac.signal },
  );
}

describe('causation (INV-CAUSATION)', () => {
  it('INV-CAUSATION: append records causationId / correlationId in the signed receipt; walkCausation follows them back', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(1), signingKey: new Uint8Array(32).fill(7) });
    const root = await store.append(order(1), OrderPlaced, { orderId: 1 });
    const child = await store.append(invoice(1), InvoiceIssued, { orderId: 1 }, { causationId: root.eventId, correlationId: root.eventId });
    const [grand] = await store.appendBatch([{ coord: invoice(2), kind: InvoiceIssued, payload: { orderId: 2 }, causationId: child.eventId, correlationId: root.eventId }]);
    expect((await store.get(child.eventId)).header).toMatchObject({ causationId: root.eventId, correlationId: root.eventId });
    expect((await store.get(root.eventId)).header.causationId).toBeUndefined();
    expect(child.extensions?.get('batpak.causation')).toHaveLength(16);
    expect((await store.verifyReceipt(grand!)).status).toBe('signed');
    const walk = await store.walkCausation(grand!.eventId);
    expect(walk.events.map((e) => e.header.eventId)).toEqual([grand!.eventId, child.eventId, root.eventId]);
    expect(walk.boundary).toEqual({ kind: 'reached-root' });
    expect((await store.walkCausation(grand!.eventId, { limit: 2 })).boundary).toEqual({ kind: 'limit-reached' });
    const orphanCause = '0'.repeat(31) + '1';
    const orphan = await store.append(invoice(3), InvoiceIssued, { orderId: 3 }, { causationId: orphanCause });
    expect((await store.walkCausation(orphan.eventId)).boundary).toEqual({ kind: 'missing-cause', eventId: orphanCause });
    expect(await code(store.append(order(2), OrderPlaced, { orderId: 2 }, { causationId: 'nope' }))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(store.append(order(2), OrderPlaced, { orderId: 2 }, { extensions: { 'batpak.causation': new Uint8Array(16) } }))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(store.walkCausation('x'))).toBe('ERR_INVALID_ARGUMENT');
    await store.close();
    // The ids survive a reopen (they are frame extensions, covered by verifyChain).
    const again = await Store.open({ dir: '/s', fs: new SimFs(1), signingKey: new Uint8Array(32).fill(7) });
    await again.close();
  });
});

describe('store.react (INV-REACT-EXACTLY-ONCE)', () => {
  it('INV-REACT-EXACTLY-ONCE: a crash anywhere during reactions loses none and applies none twice', async () => {
    for (let seed = 1; seed <= 48; seed++) {
      const sim = new SimFs(seed);
      const proc = new KillableFs(sim);
      // The process dies at a seeded step: before the k-th cursor-file write (right after a reaction's
      // commit), at the k-th segment write (mid-commit), or a seeded number of turns into the k-th reaction.
      const mode = seed % 3;
      const k = 1 + (seed % 7);
      let died!: () => void;
      const dead = new Promise<void>((resolve) => (died = resolve));
      let cursorWrites = 0;
      let segmentSyncs = 0;
      let armed = false;
      const kill = () => {
        proc.kill();
        died();
      };
      const fs = new Proxy(proc, {
        get(target, prop) {
          const v = Reflect.get(target, prop, target) as unknown;
          if (typeof v !== 'function') return v;
          return (...args: unknown[]) => {
            if (prop === 'writeFileAtomic' && String(args[0]).endsWith('.cursor') && mode === 0 && ++cursorWrites === k + 1) kill();
            const out = (v as (...a: unknown[]) => unknown).apply(target, args);
            if (prop !== 'open' || !String(args[0]).endsWith('.bps') || mode !== 1) return out;
            // Segment files: the process dies at the k-th fsync after the orders are in, mid-commit of a reaction.
            return (out as Promise<FsFile>).then(
              (file) =>
                new Proxy(file, {
                  get(f, q) {
                    const w = Reflect.get(f, q, f) as unknown;
                    if (typeof w !== 'function') return w;
                    return (...a: unknown[]) => {
                      // A durable (O_DSYNC) append is where a group becomes durable when the file has no separate fsync.
                      if ((q === 'fsync' || (q === 'append' && f.appendsDurable === true)) && armed && ++segmentSyncs === k) kill();
                      return (w as (...b: unknown[]) => unknown).apply(f, a);
                    };
                  },
                }),
            );
          };
        },
      });
      const store = await Store.open({ dir: '/s', fs });
      for (let i = 1; i <= 8; i++) await store.append(order(i), OrderPlaced, { orderId: i });
      armed = true;
      void invoiceUntilStop(store, (n) => {
        if (mode !== 2 || n !== k) return;
        let left = (seed * 7) % 13;
        const tick = () => (left-- > 0 ? void setImmediate(tick) : kill());
        tick();
      }).catch(() => undefined);
      // A fallback so a schedule that never reaches its step cannot hang the test (none is expected to).
      let fellBack = false;
      const timer = setTimeout(() => {
        fellBack = true;
        kill();
      }, 5000);
      await dead;
      clearTimeout(timer);
      expect(fellBack).toBe(false);
      sim.crash({ tear: true });

      const again = await Store.open({ dir: '/s', fs: new KillableFs(sim) });
      const orders = (await all(again, OrderPlaced.kind)).map((e) => e.header.eventId);
      await again.append(order(0), Stop, { at: 0 });
      await invoiceUntilStop(again);
      const invoices = await all(again, InvoiceIssued.kind);
      expect(invoices.map((e) => (e.payload as { orderId: number }).orderId).sort((a, b) => a - b)).toEqual(range(1, orders.length));
      for (const inv of invoices) {
        const source = orders[(inv.payload as { orderId: number }).orderId - 1]!;
        expect(inv.header.causationId).toBe(source);
        expect(inv.header.correlationId).toBe(source);
      }
      await again.close();
    }
  });

  it('a reaction of a reaction keeps the first correlation id; appends nothing → only the cursor moves; resumes after restart', async () => {
    const sim = new SimFs(2);
    let store = await Store.open({ dir: '/s', fs: sim });
    const first = await store.append(order(1), OrderPlaced, { orderId: 1 });
    const inv = await store.append(invoice(1), InvoiceIssued, { orderId: 1 }, { causationId: first.eventId, correlationId: first.eventId });
    const Ledger = defineEvent<{ n: number }>({ category: 4, typeId: 2, name: 'Ledger' });
    const ac = new AbortController();
    let calls = 0;
    await store.react(
      'ledger',
      { kinds: [InvoiceIssued, Stop] },
      (event, tx) => {
        calls++;
        if (event.header.kind.category === 3) return ac.abort();
        tx.append(new Coordinate('ledger', 'billing'), Ledger, { n: 1 });
      },
      { signal: (await store.append(order(0), Stop, { at: 0 }), ac.signal) },
    );
    const [entry] = await all(store, Ledger.kind);
    expect(entry!.header).toMatchObject({ causationId: inv.eventId, correlationId: first.eventId });
    expect((await store.walkCausation(entry!.header.eventId)).events.length).toBe(3);
    expect(calls).toBe(2);
    expect((await store.consumers()).find((c) => c.name === 'ledger')?.position).toBe(3n);
    await store.close();
    // After a restart nothing is redelivered: only the new Stop.
    store = await Store.open({ dir: '/s', fs: sim });
    await store.append(order(0), Stop, { at: 1 });
    const again = new AbortController();
    const seen: number[] = [];
    await store.react('ledger', { kinds: [InvoiceIssued, Stop] }, (e) => {
      seen.push(Number(e.header.globalSequence));
      again.abort();
    }, { signal: again.signal });
    expect(seen).toEqual([6]);
    await store.close();
  });

  it('a failing handler commits nothing and stops the reaction; the event is retried at the next run', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(3) });
    await store.append(order(1), OrderPlaced, { orderId: 1 });
    const boom = new Error('boom');
    await expect(
      store.react('fragile', { kinds: [OrderPlaced] }, (_e, tx) => {
        tx.append(invoice(1), InvoiceIssued, { orderId: 1 });
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await all(store, InvoiceIssued.kind)).toEqual([]);
    const ac = new AbortController();
    await store.react('fragile', { kinds: [OrderPlaced] }, (_e, tx) => {
      tx.append(invoice(1), InvoiceIssued, { orderId: 1 });
      ac.abort();
    }, { signal: ac.signal });
    expect(await all(store, InvoiceIssued.kind)).toHaveLength(1);
    await store.close();
  });

  it('ends when the store closes; one holder per name; bad arguments are typed errors', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(4) });
    const running = store.react('idle', {}, () => undefined);
    const held = await store.consumer('held');
    expect(await code(store.react('held', {}, () => undefined))).toBe('ERR_CONSUMER_LOCKED');
    await held.close();
    expect(await code(() => store.react('x', {}, 5 as unknown as () => void))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(() => store.react('a..b', {}, () => undefined))).toBe('ERR_INVALID_ARGUMENT');
    await store.close();
    await running;
  });
});
