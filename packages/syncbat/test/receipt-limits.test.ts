// Bounded receipts (INV-SYNCBAT-RECEIPT-BOUNDED): drawer entries are refused when attached and outcome messages are
// bounded when thrown, so a handler cannot make its own receipt too large to bank (and strand its effects).
import { Coordinate, Store } from '@batpak/core';
import { SimFs } from '@batpak/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CoreBuilder,
  EffectError,
  HandlerError,
  RECEIPT_LIMITS,
  RuntimeError,
  StoreEffectBackend,
  StoreReceiptSink,
  SyncbatError,
  decodeReceiptEnvelope,
  defineOperation,
  deny,
  type Ctx,
  type Handler,
} from '../src/index.js';
import { boundText } from '../src/receipt/limits.js';
import { RecordingBackend, bytes, collect, rejectionOf } from './helpers/fixtures.js';

const KIND = { category: 0xf, typeId: 1 };
const APP = new Coordinate('app:orders', 'scope:test');
const utf8 = new TextEncoder();

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

async function storeCore(handler: Handler) {
  store = await Store.open({ dir: '/s', fs: new SimFs(11) });
  const core = new CoreBuilder()
    .register(defineOperation({ name: 'orders.place', effectClass: 'persist', effects: { appends: ['evt.f001'] }, handler }))
    .effectBackend(new StoreEffectBackend(store, APP))
    .receiptSink(new StoreReceiptSink(store, new Coordinate('syncbat:receipt', 'scope:test')))
    .build();
  return { core, store };
}

function limitCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as SyncbatError).code;
  }
  return undefined;
}

describe('receipt drawers are bounded when attached', () => {
  it('a 17 MiB attachSigned is refused at the call; the invocation still banks its receipt and its effect', async () => {
    let refused: string | undefined;
    const { core, store: s } = await storeCore(async (i, ctx) => {
      await ctx.appendEvent(KIND, bytes('kept'));
      refused = limitCode(() => ctx.attachSigned('big', new Uint8Array(17 * 1024 * 1024)));
      return i;
    });
    const result = await core.dispatch('orders.place', bytes('x'));
    expect(refused).toBe('ERR_LIMIT_EXCEEDED');
    expect(result.receipt!.envelope.signedExtensions.has('big')).toBe(false);
    expect((await collect(s.query({ entity: APP.entity }))).length).toBe(1);
    expect(decodeReceiptEnvelope((await s.getRaw(result.receipt!.appendReceipt!.eventId)).bytes).outcome.class).toBe('completed');
  });

  it('bounds each key, each value, and both drawers together; an overwrite is charged once', async () => {
    const codes: (string | undefined)[] = [];
    const core = new CoreBuilder()
      .register(
        defineOperation({
          name: 'fill',
          effectClass: 'compute',
          handler: (i, ctx: Ctx) => {
            const value = new Uint8Array(RECEIPT_LIMITS.valueBytes);
            codes.push(limitCode(() => ctx.attachLocal('k'.repeat(RECEIPT_LIMITS.keyBytes + 1), bytes('v'))));
            codes.push(limitCode(() => ctx.attachLocal('v', new Uint8Array(RECEIPT_LIMITS.valueBytes + 1))));
            for (let n = 0; n < 10; n++) codes.push(limitCode(() => ctx.attachSigned('same', value)));
            codes.push(limitCode(() => ctx.attachLocal('a', value)));
            codes.push(limitCode(() => ctx.attachSigned('b', value)));
            codes.push(limitCode(() => ctx.attachLocal('c', value)));
            return i;
          },
        }),
      )
      .withoutReceipts()
      .build();
    await core.dispatch('fill', bytes('x'));
    expect(codes).toEqual(['ERR_LIMIT_EXCEEDED', 'ERR_LIMIT_EXCEEDED', ...Array(10).fill(undefined), undefined, undefined, 'ERR_LIMIT_EXCEEDED']);
  });

  it('an emitReceipt payload over the value limit is refused before the backend sees it', async () => {
    const backend = new RecordingBackend();
    let err: unknown;
    const core = new CoreBuilder()
      .register(
        defineOperation({
          name: 'emit',
          effectClass: 'emit',
          effects: { emitsReceipt: true },
          handler: async (i, ctx) => ((err = await rejectionOf(ctx.emitReceipt(ctx.descriptor.receiptKind, new Uint8Array(RECEIPT_LIMITS.valueBytes + 1)))), i),
        }),
      )
      .effectBackend(backend)
      .withoutReceipts()
      .build();
    await core.dispatch('emit', bytes('x'));
    expect((err as EffectError).code).toBe('ERR_LIMIT_EXCEEDED');
    expect(backend.emits).toEqual([]);
  });
});

describe('outcome messages are bounded when thrown', () => {
  const huge = 'x'.repeat(17_000_000);

  it('HandlerError refuses a reason over the limit when made; thrown, it is recorded as a bounded failure', async () => {
    expect(limitCode(() => HandlerError.failed(huge))).toBe('ERR_LIMIT_EXCEEDED');
    const { core } = await storeCore(async () => {
      throw HandlerError.failed(huge);
    });
    const err = (await rejectionOf(core.dispatch('orders.place', bytes('x')))) as RuntimeError;
    expect(err.detail).toEqual({ kind: 'handler', name: 'orders.place', code: 'failed', message: 'HandlerError reason is 17000000 bytes; the limit is 4096' });
    expect(err.receipt?.appendReceipt).toBeDefined();
  });

  it('a foreign throw with a 17 MB message is cut to the limit, and the receipt banks', async () => {
    const { core } = await storeCore(async (_i, ctx) => {
      await ctx.appendEvent(KIND, bytes('dropped'));
      throw new Error(huge);
    });
    const err = (await rejectionOf(core.dispatch('orders.place', bytes('x')))) as RuntimeError;
    const message = (err.detail as { message: string }).message;
    expect(utf8.encode(message).length).toBeLessThanOrEqual(RECEIPT_LIMITS.messageBytes);
    expect(message.endsWith(' … (cut from 17000000 bytes)')).toBe(true);
    expect(err.receipt?.appendReceipt).toBeDefined();
    expect((await collect(store!.query({ entity: APP.entity }))).length).toBe(0);
  });

  it("a guard's denial code and message are cut to their limits", async () => {
    const core = new CoreBuilder()
      .register(defineOperation({ name: 'echo', effectClass: 'compute', handler: (i) => i }))
      .admissionGuard(() => deny('c'.repeat(1000), huge))
      .withoutReceipts()
      .build();
    const err = (await rejectionOf(core.dispatch('echo', bytes('x')))) as RuntimeError;
    const detail = err.detail as { code: string; message: string };
    expect(utf8.encode(detail.code).length).toBeLessThanOrEqual(RECEIPT_LIMITS.codeBytes);
    expect(utf8.encode(detail.message).length).toBeLessThanOrEqual(RECEIPT_LIMITS.messageBytes);
  });

  it('cuts on a character boundary', () => {
    const cut = boundText('é'.repeat(5000), 4096);
    expect(utf8.encode(cut).length).toBeLessThanOrEqual(4096);
    expect(cut.includes('\uFFFD')).toBe(false);
    expect(boundText('short', 4096)).toBe('short');
  });
});
