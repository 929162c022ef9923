// Invocations that reach their commit in the same event-loop turn, from different I/O callbacks (one per socket in a
// server), are submitted together, so the store's group commit writes them with one fsync instead of a group of one
// followed by a group of the rest; they go as one appendBatch, atomic as a whole (INV-SYNCBAT-ATOMIC-INVOCATION).
import { Coordinate, Store, type Fs } from '@batpak/core';
import { SimFs } from '@batpak/core/testing';
import { describe, expect, it } from 'vitest';
import { CoreBuilder, RuntimeError, StoreEffectBackend, StoreReceiptSink, decodeReceiptEnvelope, defineOperation } from '../src/index.js';
import { bytes, persistCore, rejectionOf } from './helpers/fixtures.js';

/** SimFs with a count of file sync points (one per commit group): fsyncs, and appends that are durable by themselves (O_DSYNC). */
function countingFs(): { fs: Fs; fsyncs: () => number } {
  let fsyncs = 0;
  const inner = new SimFs(7);
  const fs = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'open' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        const file = (await (value as (...a: unknown[]) => Promise<object>).apply(target, args)) as { fsync: () => Promise<void>; append: (c: Uint8Array[]) => Promise<void>; appendsDurable?: boolean };
        return new Proxy(file, {
          get(f, p, r) {
            const v = Reflect.get(f, p, r) as unknown;
            if (p === 'fsync') return async () => {
              fsyncs++;
              await file.fsync();
            };
            if (p === 'append' && file.appendsDurable === true) return async (chunks: Uint8Array[]) => {
              fsyncs++;
              await file.append(chunks);
            };
            return typeof v === 'function' ? v.bind(f) : v;
          },
        });
      };
    },
  }) as unknown as Fs;
  return { fs, fsyncs: () => fsyncs };
}

describe('commits of one turn share a group', () => {
  it('eight persist dispatches started from eight separate callbacks are committed with one fsync', async () => {
    const { fs, fsyncs } = countingFs();
    const store = await Store.open({ dir: '/s', fs });
    const core = persistCore(store);
    const before = fsyncs();
    // Each dispatch starts in its own macrotask, as requests read from different sockets do.
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => new Promise<Awaited<ReturnType<typeof core.dispatch>>>((resolve, reject) => setImmediate(() => core.dispatch('orders.place', bytes(`o${i}`)).then(resolve, reject)))),
    );
    expect(fsyncs() - before).toBe(1);
    for (const r of results) expect(decodeReceiptEnvelope((await store.getRaw(r.receipt!.appendReceipt!.eventId))!.bytes).outcome.class).toBe('completed');
    expect(store.stats().events).toBeGreaterThanOrEqual(16);
    await store.close();
  });

  it('the invocations of one turn reach the store as one appendBatch; one the store refuses fails alone', async () => {
    const store = await Store.open({ dir: '/m', fs: new SimFs(8), payloadMaxBytes: 4096 });
    let batches = 0;
    const appendBatch = store.appendBatch.bind(store);
    store.appendBatch = (items, options) => {
      batches++;
      return appendBatch(items, options);
    };
    const core = new CoreBuilder()
      .register(
        defineOperation({
          name: 'orders.place',
          effectClass: 'persist',
          effects: { appends: ['evt.1001'] },
          handler: async (input, ctx) => {
            // Input "!big" stages an append over the store's payload limit: refused only when committed.
            await ctx.appendEvent({ category: 1, typeId: 1 }, input[0] === 0x21 ? new Uint8Array(5000) : input);
            return input;
          },
        }),
      )
      .effectBackend(new StoreEffectBackend(store, new Coordinate('orders', 'shop')))
      .receiptSink(new StoreReceiptSink(store, new Coordinate('receipts', 'shop')))
      .build();
    const good = await Promise.all(Array.from({ length: 4 }, (_, i) => core.dispatch('orders.place', bytes(`o${i}`))));
    expect(batches).toBe(1);
    batches = 0;
    const [a, refused, b] = [core.dispatch('orders.place', bytes('a')), rejectionOf(core.dispatch('orders.place', bytes('!big'))), core.dispatch('orders.place', bytes('b'))];
    const ok = await Promise.all([a, b]);
    const err = (await refused) as RuntimeError;
    // The merged batch was refused whole (nothing written), then each invocation was committed in its own batch.
    expect(batches).toBeGreaterThan(1);
    expect(err.detail).toMatchObject({ kind: 'handler', code: 'failed' });
    expect(decodeReceiptEnvelope((await store.getRaw(err.receipt!.appendReceipt!.eventId)).bytes).outcome.class).toBe('failed');
    for (const r of [...good, ...ok]) expect(decodeReceiptEnvelope((await store.getRaw(r.receipt!.appendReceipt!.eventId)).bytes).outcome.class).toBe('completed');
    // Six completed invocations (append + receipt each) and one failed one (receipt only): nothing of the refused append.
    let orders = 0;
    for await (const _ of store.query({ entity: 'orders' })) orders++;
    expect(orders).toBe(6);
    await store.close();
  });
});
