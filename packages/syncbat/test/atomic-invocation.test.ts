// One commit per invocation (INV-SYNCBAT-ATOMIC-INVOCATION): with a StoreEffectBackend and store sinks on one store, a
// dispatch's appends, status facts and receipt are one appendBatch after the handler settles; failed or denied
// invocations commit their facts and receipt and none of their appends.
import { Coordinate, Store, cbin, encodeCanonical, type EventKind, type StoredEvent } from '@batpak/core';
import { SimFs } from '@batpak/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CoreBuilder,
  EffectError,
  HandlerError,
  RuntimeError,
  SYNCBAT_EFFECTS_KEY,
  SYNCBAT_OPERATION_STATUS_KIND,
  SYNCBAT_RECEIPT_KIND,
  StoreEffectBackend,
  StoreOperationStatusSink,
  StoreReceiptSink,
  decodeInvocationEffects,
  decodeReceiptEnvelope,
  defineOperation,
  stageAppendsThrough,
  type Ctx,
  type EffectBackend,
  type Handler,
  type StagedAppend,
} from '../src/index.js';
import { CapturingSink, bytes, collect, rejectionOf, text } from './helpers/fixtures.js';

const RECEIPTS = new Coordinate('syncbat:receipt', 'scope:test');
const APP = new Coordinate('app:orders', 'scope:test');
const KIND = { category: 0xf, typeId: 1 };

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

/** Counts the store's write calls: the invocation must reach it as exactly one appendBatch. */
function countWrites(s: Store): { batches: number; raws: number } {
  const n = { batches: 0, raws: 0 };
  const batch = s.appendBatch.bind(s);
  const raw = s.appendRaw.bind(s);
  s.appendBatch = (items) => (n.batches++, batch(items));
  s.appendRaw = (...args) => (n.raws++, raw(...args));
  return n;
}

function persist(handler: Handler, appends = ['evt.f001']) {
  return defineOperation({ name: 'orders.place', effectClass: 'persist', effects: { appends }, handler });
}

function wire(s: Store, handler: Handler) {
  return new CoreBuilder()
    .register(persist(handler))
    .effectBackend(new StoreEffectBackend(s, APP))
    .receiptSink(new StoreReceiptSink(s, RECEIPTS))
    .statusSink(new StoreOperationStatusSink(s))
    .build();
}

async function kinds(s: Store): Promise<string[]> {
  const names = (e: StoredEvent) =>
    e.header.kind.category === 0xc && e.header.kind.typeId === SYNCBAT_RECEIPT_KIND.typeId
      ? 'receipt'
      : e.header.kind.category === 0xc && e.header.kind.typeId === SYNCBAT_OPERATION_STATUS_KIND.typeId
        ? 'fact'
        : 'effect';
  return (await collect(s.query({}))).map(names);
}

describe('one commit per invocation', () => {
  it('appends, status facts and receipt reach the store as one appendBatch, in lifecycle order', async () => {
    store = await Store.open({ dir: '/s', fs: new SimFs(1) });
    const writes = countWrites(store);
    const core = wire(store, async (i, ctx) => {
      await ctx.appendEvent(KIND, bytes('a'));
      await ctx.appendEvent(KIND, bytes('b'));
      return i;
    });
    const result = await core.dispatch('orders.place', bytes('x'));
    expect(writes).toEqual({ batches: 1, raws: 0 });
    expect(await kinds(store)).toEqual(['fact', 'effect', 'effect', 'receipt', 'fact']);
    const effects = (await collect(store.query({ entity: APP.entity }))).map((e) => e.header.eventId);
    expect(await Promise.all(effects.map(async (id) => (await store!.getRaw(id)).bytes))).toEqual([
      encodeCanonical(cbin(bytes('a'))),
      encodeCanonical(cbin(bytes('b'))),
    ]);
    const append = result.receipt!.appendReceipt!;
    expect(decodeReceiptEnvelope((await store.getRaw(append.eventId)).bytes)).toEqual(result.receipt!.envelope);
    expect(decodeInvocationEffects(result.receipt!.envelope.signedExtensions.get(SYNCBAT_EFFECTS_KEY)!).performed.appendsEvents).toEqual(['evt.f001']);
  });

  it('nothing is visible in the store while the handler runs; ctx.stagedAppends() shows its own appends', async () => {
    store = await Store.open({ dir: '/s', fs: new SimFs(2) });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let seen: readonly StagedAppend[] = [];
    let during = -1;
    const core = wire(store, async (i, ctx) => {
      await ctx.appendEvent(KIND, bytes('mine'));
      seen = ctx.stagedAppends();
      await gate;
      return i;
    });
    const call = core.dispatch('orders.place', bytes('x'));
    await new Promise((r) => setImmediate(r));
    during = (await collect(store.query({}))).length;
    release();
    await call;
    expect(during).toBe(0);
    expect(seen.map((a) => [a.kind, text(a.payload)])).toEqual([[{ category: 0xf, typeId: 1 }, 'mine']]);
  });

  it('a staged append is the bytes as appended: later writes to the handler payload or a stagedAppends() copy change nothing', async () => {
    store = await Store.open({ dir: '/s', fs: new SimFs(12) });
    const core = wire(store, async (i, ctx) => {
      const payload = bytes('abc');
      await ctx.appendEvent(KIND, payload);
      payload.fill(0x7a);
      ctx.stagedAppends()[0]!.payload.fill(0x79);
      expect(text(ctx.stagedAppends()[0]!.payload)).toBe('abc');
      return i;
    });
    await core.dispatch('orders.place', bytes('x'));
    const [effect] = await collect(store.query({ entity: APP.entity }));
    expect((await store.getRaw(effect!.header.eventId)).bytes).toEqual(encodeCanonical(cbin(bytes('abc'))));
    expect((await store.verifyChain()).intact).toBe(true);
  });

  it('a failed handler leaves its facts and failed receipt, and none of its appends', async () => {
    store = await Store.open({ dir: '/s', fs: new SimFs(3) });
    const core = wire(store, async (_i, ctx) => {
      await ctx.appendEvent(KIND, bytes('doomed'));
      throw HandlerError.failed('after the append');
    });
    const err = (await rejectionOf(core.dispatch('orders.place', bytes('x')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'handler', code: 'failed', message: 'after the append' });
    expect(await kinds(store)).toEqual(['fact', 'fact', 'receipt']);
    // The receipt does not claim the dropped append.
    expect(err.receipt!.envelope.signedExtensions.has(SYNCBAT_EFFECTS_KEY)).toBe(false);
  });

  it('a denied invocation (undeclared append) commits its receipt and no appends', async () => {
    store = await Store.open({ dir: '/s', fs: new SimFs(4) });
    const core = wire(store, async (i, ctx) => {
      await ctx.appendEvent(KIND, bytes('declared'));
      await ctx.appendEvent({ category: 0xf, typeId: 2 }, bytes('undeclared')).catch(() => undefined);
      return i;
    });
    const err = (await rejectionOf(core.dispatch('orders.place', bytes('x')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'denied', code: 'effect.violation' });
    expect(await kinds(store)).toEqual(['fact', 'fact', 'receipt']);
    const effects = decodeInvocationEffects(err.receipt!.envelope.signedExtensions.get(SYNCBAT_EFFECTS_KEY)!);
    expect([effects.performed.appendsEvents, effects.refused.appendsEvents]).toEqual([[], ['evt.f002']]);
  });

  it('a commit the store refuses becomes a failed invocation with its receipt and no appends', async () => {
    store = await Store.open({ dir: '/s', fs: new SimFs(5), payloadMaxBytes: 4096 });
    const core = wire(store, async (i, ctx) => (await ctx.appendEvent(KIND, new Uint8Array(5000)), i));
    const err = (await rejectionOf(core.dispatch('orders.place', bytes('x')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'handler', code: 'failed' });
    expect((err.detail as { message: string }).message).toMatch(/^the store refused the invocation's effects: /);
    expect(await kinds(store)).toEqual(['fact', 'fact', 'receipt']);
    expect(decodeReceiptEnvelope((await store.getRaw(err.receipt!.appendReceipt!.eventId)).bytes).outcome.class).toBe('failed');
  });

  it('staging refuses a reserved kind at the call, and more than MAX_STAGED_APPENDS appends', async () => {
    store = await Store.open({ dir: '/s', fs: new SimFs(6) });
    const errors: unknown[] = [];
    const core = new CoreBuilder()
      .register(
        defineOperation({
          name: 'bulk',
          effectClass: 'persist',
          effects: { appends: ['evt.f001', 'evt.d001'] },
          handler: async (i, ctx: Ctx) => {
            errors.push(await rejectionOf(ctx.appendEvent({ category: 0xd, typeId: 1 }, bytes('r'))));
            for (let n = 0; n < 1024; n++) await ctx.appendEvent(KIND, bytes(String(n)));
            errors.push(await rejectionOf(ctx.appendEvent(KIND, bytes('one too many'))));
            return i;
          },
        }),
      )
      .effectBackend(new StoreEffectBackend(store, APP))
      .receiptSink(new StoreReceiptSink(store, RECEIPTS))
      .build();
    await core.dispatch('bulk', bytes('x'));
    expect(errors.map((e) => [(e as EffectError).code, (e as EffectError).message])).toEqual([
      ['ERR_EFFECT_FAILED', 'effect backend failure: kind category 0xd is reserved for the store (0x0 system, 0xD effect)'],
      ['ERR_LIMIT_EXCEEDED', 'an invocation may stage at most 1024 appends'],
    ]);
    expect((await collect(store.query({ entity: APP.entity }))).length).toBe(1024);
  });

  it('with a custom receipt sink, effects keep perform-then-record (appended directly, before the receipt)', async () => {
    store = await Store.open({ dir: '/s', fs: new SimFs(7) });
    const writes = countWrites(store);
    const sink = new CapturingSink();
    const core = new CoreBuilder()
      .register(persist(async (i, ctx) => (await ctx.appendEvent(KIND, bytes('direct')), i)))
      .effectBackend(new StoreEffectBackend(store, APP))
      .receiptSink(sink)
      .build();
    await core.dispatch('orders.place', bytes('x'));
    expect(writes).toEqual({ batches: 0, raws: 1 });
    expect(sink.seen).toHaveLength(1);
  });

  it('a subclassed store sink counts as custom: it is called, not bypassed', async () => {
    store = await Store.open({ dir: '/s', fs: new SimFs(8) });
    const calls: string[] = [];
    class Audited extends StoreReceiptSink {
      override async recordReceipt(e: Parameters<StoreReceiptSink['recordReceipt']>[0]) {
        calls.push(e.descriptorName);
        return super.recordReceipt(e);
      }
    }
    const core = new CoreBuilder()
      .register(persist(async (i, ctx) => (await ctx.appendEvent(KIND, bytes('a')), i)))
      .effectBackend(new StoreEffectBackend(store, APP))
      .receiptSink(new Audited(store, RECEIPTS))
      .build();
    await core.dispatch('orders.place', bytes('x'));
    expect(calls).toEqual(['orders.place']);
    expect(await kinds(store)).toEqual(['effect', 'receipt']);
  });

  it('a write failure at commit (not a refusal) rejects with receipt_sink and writes nothing, not even a failed receipt', async () => {
    const sim = new SimFs(12);
    store = await Store.open({ dir: '/s', fs: sim });
    const core = wire(store, async (i, ctx) => (await ctx.appendEvent(KIND, bytes('a')), i));
    // Out of space: the store cuts the failed group back and goes on (an EIO on its durable write would stop the writer).
    sim.failOn('append', 1, 'ENOSPC');
    const err = (await rejectionOf(core.dispatch('orders.place', bytes('x')))) as RuntimeError;
    expect(err.code).toBe('receipt_sink');
    expect(await kinds(store)).toEqual([]);
    await core.dispatch('orders.place', bytes('y'));
    expect(await kinds(store)).toEqual(['fact', 'effect', 'receipt', 'fact']);
  });

  it('a store failure at commit rejects with receipt_sink and leaves nothing', async () => {
    store = await Store.open({ dir: '/s', fs: new SimFs(9) });
    const core = wire(store, async (i, ctx) => (await ctx.appendEvent(KIND, bytes('a')), i));
    const closing = store;
    const call = core.dispatch('orders.place', bytes('x'));
    await closing.close();
    store = await Store.open({ dir: '/other', fs: new SimFs(10) });
    const err = (await rejectionOf(call)) as RuntimeError;
    expect([err.code, err.message]).toEqual(['receipt_sink', expect.stringContaining('batpak receipt append failed:')]);
  });
});

describe('stageAppendsThrough: a wrapping backend over a StoreEffectBackend', () => {
  /** Refuses payloads starting with 0xff, then appends through its inner backend; reads go to it too. */
  class Checking implements EffectBackend {
    readonly reads: string[] = [];
    constructor(readonly inner: EffectBackend) {
      stageAppendsThrough(this, inner, (_kind, payload) => {
        if (payload[0] === 0xff) throw new EffectError('payload refused by the wrapper', { code: 'ERR_EFFECT_INVALID' });
      });
    }
    async appendEvent(kind: EventKind, payload: Uint8Array): Promise<void> {
      if (payload[0] === 0xff) throw new EffectError('payload refused by the wrapper');
      await this.inner.appendEvent(kind, payload);
    }
    readEvent(category: string): void {
      this.reads.push(category);
    }
  }

  it('stages the wrapper appends into the one commit, checked at the call; other axes go to the wrapper', async () => {
    store = await Store.open({ dir: '/s', fs: new SimFs(31) });
    const writes = countWrites(store);
    const backend = new Checking(new StoreEffectBackend(store, APP));
    let refusal: unknown;
    const core = new CoreBuilder()
      .register(
        defineOperation({
          name: 'orders.place',
          effectClass: 'persist',
          effects: { appends: ['evt.f001'], reads: ['cat.a'] },
          handler: async (input, ctx) => {
            await ctx.readEvent('cat.a');
            refusal = await ctx.appendEvent(KIND, Uint8Array.of(0xff)).then(() => 'staged', (e: unknown) => e);
            await ctx.appendEvent(KIND, input);
            expect(ctx.stagedAppends()).toHaveLength(1);
            return input;
          },
        }),
      )
      .effectBackend(backend)
      .receiptSink(new StoreReceiptSink(store, RECEIPTS))
      .build();
    await core.dispatch('orders.place', bytes('ok'));
    expect(refusal).toMatchObject({ name: 'EffectError', message: expect.stringContaining('payload refused by the wrapper') });
    expect(backend.reads).toEqual(['cat.a']);
    expect(writes).toEqual({ batches: 1, raws: 0 });
    expect(await kinds(store)).toEqual(['effect', 'receipt']);
  });

  it('declares nothing over a backend that is not store-bound', () => {
    const custom: EffectBackend = { appendEvent: async () => undefined };
    expect(stageAppendsThrough({ appendEvent: async () => undefined }, custom)).toBe(false);
  });
});
