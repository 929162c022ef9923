// Store-backed receipts and effects (Rust tests/store_sink.rs, store_effect_backed.rs, emit_receipt_backed.rs):
// receipts land in a @batpak/core store as chained, signed events and decode back to the envelope the runtime built.
import { Coordinate, blake3, cbin, encodeCanonical, type Store } from '@batpak/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CoreBuilder,
  RuntimeError,
  SYNCBAT_OPERATION_STATUS_KIND,
  SYNCBAT_RECEIPT_KIND,
  StoreEffectBackend,
  StoreOperationStatusSink,
  StoreReceiptSink,
  decodeOperationStatusFact,
  decodeReceiptEnvelope,
  defineOperation,
  operationStatusEntity,
  type EffectBackend,
} from '../src/index.js';
import { bytes, collect, rejectionOf, simStore } from './helpers/fixtures.js';

const RECEIPTS = new Coordinate('syncbat:receipt', 'scope:test');
const APP = new Coordinate('app:orders', 'scope:test');
const KIND = { category: 0xf, typeId: 1 };

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

async function receiptsIn(s: Store) {
  const out = [];
  for await (const e of s.query({ kind: SYNCBAT_RECEIPT_KIND })) out.push(decodeReceiptEnvelope((await s.getRaw(e.header.eventId)).bytes));
  return out;
}

describe('StoreReceiptSink', () => {
  it('banks each envelope as a 0xC5B7 event whose stored bytes decode to that envelope', async () => {
    store = await simStore(1);
    const core = new CoreBuilder()
      .register(defineOperation({ name: 'echo', effectClass: 'compute', handler: (i) => i }))
      .receiptSink(new StoreReceiptSink(store, RECEIPTS))
      .build();
    const result = await core.dispatch('echo', bytes('hello'));
    const append = result.receipt!.appendReceipt!;
    expect(append.kind).toEqual(SYNCBAT_RECEIPT_KIND);
    expect(append.coordinate).toEqual({ entity: 'syncbat:receipt', scope: 'scope:test' });
    const raw = await store.getRaw(append.eventId);
    expect(append.contentHash).toEqual(blake3(raw.bytes));
    expect(decodeReceiptEnvelope(raw.bytes)).toEqual(result.receipt!.envelope);
    expect((await store.verifyReceipt(append)).status).toBe('unsigned-accepted');
  });

  it('in a signed store every receipt verifies and the signed drawer is covered through the content hash', async () => {
    store = await simStore(2, { signingKey: new Uint8Array(32).fill(7) });
    const core = new CoreBuilder()
      .register(defineOperation({ name: 'echo', effectClass: 'compute', handler: (i, ctx) => (ctx.attachSigned('correlation', bytes('c-9')), i) }))
      .receiptSink(new StoreReceiptSink(store, RECEIPTS))
      .build();
    const { receipt } = await core.dispatch('echo', bytes('x'));
    expect((await store.verifyReceipt(receipt!.appendReceipt!)).status).toBe('signed');
    const stored = decodeReceiptEnvelope((await store.getRaw(receipt!.appendReceipt!.eventId)).bytes);
    expect(stored.signedExtensions.get('correlation')).toEqual(bytes('c-9'));
  });

  it('a store failure becomes a receipt_sink error with the Rust message prefix', async () => {
    store = await simStore(3);
    const sink = new StoreReceiptSink(store, RECEIPTS);
    const core = new CoreBuilder().register(defineOperation({ name: 'echo', effectClass: 'compute', handler: (i) => i })).receiptSink(sink).build();
    await store.close();
    const err = (await rejectionOf(core.dispatch('echo', bytes('x')))) as RuntimeError;
    expect(err.code).toBe('receipt_sink');
    expect(err.detail).toMatchObject({ message: 'batpak receipt append failed: the store is closed' });
  });
});

describe('denied and failed operations in the store', () => {
  it('each leaves exactly one receipt, and the chain stays intact', async () => {
    store = await simStore(4);
    const backend = new StoreEffectBackend(store, APP);
    const core = new CoreBuilder()
      .register(defineOperation({ name: 'gated', effectClass: 'inspect', requiresCapabilities: ['admin'], handler: (i) => i }))
      .register(
        defineOperation({
          name: 'rogue',
          effectClass: 'persist',
          effects: { appends: [KIND] },
          handler: async (i, ctx) => (await ctx.appendEvent({ category: 0xf, typeId: 9 }, i), i),
        }),
      )
      .register(
        defineOperation({
          name: 'crash',
          effectClass: 'compute',
          handler: () => {
            throw new Error('kaboom');
          },
        }),
      )
      .effectBackend(backend)
      .receiptSink(new StoreReceiptSink(store, RECEIPTS))
      .build();
    for (const name of ['gated', 'rogue', 'crash']) await rejectionOf(core.dispatch(name, bytes(name)));
    const receipts = await receiptsIn(store);
    expect(receipts.map((r) => [r.descriptorName, r.outcome.class])).toEqual([
      ['gated', 'denied'],
      ['rogue', 'denied'],
      ['crash', 'failed'],
    ]);
    const report = await store.verifyChain();
    expect(report.intact).toBe(true);
    // rogue's undeclared append was refused before the store saw it: the chain holds the three receipts only.
    expect(report.eventsChecked).toBe(3);
  });
});

describe('emit-receipt stamping, read back from the store', () => {
  it('the emitted payload is in the persisted envelope’s local drawer under syncbat.emit_receipt.{kind}', async () => {
    store = await simStore(5);
    // StoreEffectBackend keeps emit fail-closed, so an emit-capable backend stands in for the host layer.
    const emitOnly: EffectBackend = { appendEvent: () => Promise.reject(new Error('no appends')), emitReceipt: () => undefined };
    const core = new CoreBuilder()
      .register(
        defineOperation({
          name: 'audit.emit',
          effectClass: 'emit',
          receiptKind: 'receipt.audit.v1',
          effects: { emitsReceipt: true },
          handler: async (i, ctx) => (await ctx.emitReceipt('receipt.audit.v1', bytes('emit-evidence-v1')), i),
        }),
      )
      .effectBackend(emitOnly)
      .receiptSink(new StoreReceiptSink(store, RECEIPTS))
      .build();
    const result = await core.dispatch('audit.emit', bytes('hello'));
    expect(result.output).toEqual(bytes('hello'));
    const persisted = decodeReceiptEnvelope((await store.getRaw(result.receipt!.appendReceipt!.eventId)).bytes);
    expect(persisted.localExtensions.get('syncbat.emit_receipt.receipt.audit.v1')).toEqual(bytes('emit-evidence-v1'));
    expect(persisted.outcome).toEqual({ class: 'completed' });
  });
});

describe('StoreEffectBackend', () => {
  it('appends the handler bytes wrapped in one msgpack bin at the bound coordinate', async () => {
    store = await simStore(6);
    const backend = new StoreEffectBackend(store, APP);
    await backend.appendEvent(KIND, bytes('payload'));
    const [e] = await collect(store.query({ entity: APP.entity }));
    const raw = await store.getRaw(e!.header.eventId);
    expect(raw.bytes).toEqual(encodeCanonical(cbin(bytes('payload'))));
    expect([...raw.bytes.subarray(0, 2)]).toEqual([0xc4, 7]);
    expect(e!.header.kind).toEqual(KIND);
  });

  it('reads the bound entity’s latest event (and succeeds on an empty stream); queries its scope', async () => {
    store = await simStore(7);
    const backend = new StoreEffectBackend(store, APP);
    await expect(backend.readEvent('cat.any')).resolves.toBeUndefined();
    await backend.appendEvent(KIND, bytes('1'));
    for (let i = 0; i < 20; i++) await store.appendRaw(new Coordinate('other', 'scope:x'), KIND, bytes(`o${i}`));
    await expect(backend.readEvent('cat.any')).resolves.toBeUndefined();
    await expect(backend.queryProjection('proj.any')).resolves.toBeUndefined();
  });

  it('store errors surface as EffectError; reserved kinds are refused; emit and host control fail closed', async () => {
    store = await simStore(8);
    const backend = new StoreEffectBackend(store, APP);
    await expect(backend.appendEvent({ category: 0xd, typeId: 1 }, bytes('x'))).rejects.toMatchObject({ name: 'EffectError' });
    expect('emitReceipt' in backend).toBe(false);
    expect('useHostControl' in backend).toBe(false);
    await store.close();
    await expect(backend.readEvent('c')).rejects.toMatchObject({ name: 'EffectError', reason: 'the store is closed' });
    await expect(backend.queryProjection('p')).rejects.toMatchObject({ name: 'EffectError' });
  });

  it('through a Core: a declared append completes and lands in the store', async () => {
    store = await simStore(9);
    const core = new CoreBuilder()
      .register(defineOperation({ name: 'orders.place', effectClass: 'persist', effects: { appends: [KIND] }, handler: async (i, ctx) => (await ctx.appendEvent(KIND, i), i) }))
      .effectBackend(new StoreEffectBackend(store, APP))
      .receiptSink(new StoreReceiptSink(store, RECEIPTS))
      .build();
    await core.dispatch('orders.place', bytes('order-1'));
    expect(await collect(store.query({ entity: APP.entity }))).toHaveLength(1);
  });

  it('an undeclared host control through the store backend is refused by the Ctx and denied (never reaches the backend)', async () => {
    store = await simStore(10);
    const core = new CoreBuilder()
      .register(defineOperation({ name: 'sneaky', effectClass: 'inspect', effects: { reads: ['c.a'] }, handler: async (i, ctx) => (await ctx.useHostControl('ctrl.reboot'), i) }))
      .effectBackend(new StoreEffectBackend(store, APP))
      .receiptSink(new StoreReceiptSink(store, RECEIPTS))
      .build();
    const err = (await rejectionOf(core.dispatch('sneaky', bytes('')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'denied', code: 'effect.violation', message: 'observed undeclared uses_host_controls target "ctrl.reboot"' });
    expect((await receiptsIn(store)).map((r) => r.outcome.class)).toEqual(['denied']);
  });
});

describe('StoreOperationStatusSink', () => {
  it('appends facts (0xC5B9) on the operation’s own entity, in lifecycle order', async () => {
    store = await simStore(11);
    const core = new CoreBuilder()
      .register(defineOperation({ name: 'echo', effectClass: 'compute', handler: (i) => i }))
      .statusSink(new StoreOperationStatusSink(store))
      .withoutReceipts()
      .build();
    await core.dispatch('echo', bytes('a'));
    expect(operationStatusEntity('echo')).toBe('syncbat:operation-status:echo');
    const facts = [];
    for await (const e of store.query({ entity: 'syncbat:operation-status:echo', scope: 'scope:operation-status' })) {
      expect(e.header.kind).toEqual(SYNCBAT_OPERATION_STATUS_KIND);
      facts.push(decodeOperationStatusFact((await store.getRaw(e.header.eventId)).bytes));
    }
    expect(facts.map((f) => f.lifecycle)).toEqual(['started', 'completed']);
    expect(facts[1]!.outputHash).toEqual(blake3(bytes('a')));
  });
});
