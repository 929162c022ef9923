// The completed-receipt template (the per-descriptor bytes a plain completed dispatch reuses) writes exactly what the
// generic encoder writes: as a property over names, kinds, drawers and hashes, and for every banked receipt of a Core.
import fc from 'fast-check';
import { Coordinate, Store } from '@batpak/core';
import { SimFs } from '@batpak/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CoreBuilder,
  StoreEffectBackend,
  StoreReceiptSink,
  decodeReceiptEnvelope,
  defineOperation,
  encodeReceiptEnvelope,
  type Core,
  type ReceiptHashPolicy,
} from '../src/index.js';
import { CompletedEnvelopeTemplate } from '../src/receipt/completed-template.js';
import { bytes } from './helpers/fixtures.js';

const KIND = { category: 0xf, typeId: 1 };
const APP = new Coordinate('app:orders', 'scope:test');
const RECEIPTS = new Coordinate('syncbat:receipt', 'scope:test');

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

describe('CompletedEnvelopeTemplate', () => {
  it('encodes the same bytes as encodeReceiptEnvelope for any name, kind, signed drawer and hashes', () => {
    const text = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 40 }));
    const hash = fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined });
    const drawer = fc.array(fc.tuple(text, fc.uint8Array({ maxLength: 300 })), { maxLength: 4 }).map((e) => new Map(e));
    fc.assert(
      fc.property(text, text, drawer, hash, hash, (descriptorName, receiptKind, signed, inputHash, outputHash) => {
        const template = CompletedEnvelopeTemplate.of(descriptorName, receiptKind, signed);
        const envelope = {
          descriptorName,
          receiptKind,
          ...(inputHash === undefined ? {} : { inputHash }),
          ...(outputHash === undefined ? {} : { outputHash }),
          outcome: { class: 'completed' as const },
          signedExtensions: signed,
          localExtensions: new Map(),
        };
        expect(template.encode(inputHash, outputHash)).toEqual(encodeReceiptEnvelope(envelope));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a hash that is not 32 bytes, as the generic encoder does', () => {
    const template = CompletedEnvelopeTemplate.of('a.b', 'receipt.a.b.v1', new Map());
    expect(() => template.encode(new Uint8Array(31), undefined)).toThrow(RangeError);
  });
});

describe('banked receipts of plain completed dispatches', () => {
  async function core(policy: ReceiptHashPolicy): Promise<Core> {
    store = await Store.open({ dir: '/sim/store', fs: new SimFs({ seed: 7 }) });
    return new CoreBuilder()
      .register(defineOperation({ name: 'orders.place', effectClass: 'persist', effects: { appends: ['evt.f001'] }, handler: async (i, ctx) => (await ctx.appendEvent(KIND, i), i) }))
      .register(defineOperation({ name: 'clock.now', effectClass: 'inspect', handler: () => bytes('now') }))
      // A capability token is a declaration, not an effect: no effects record, like an empty row.
      .register(defineOperation({ name: 'vault.peek', effectClass: 'inspect', requiresCapabilities: ['vault.read'], handler: (i) => i }))
      // Not plain: a drawer entry (the generic encoder writes these).
      .register(defineOperation({ name: 'notes.tag', effectClass: 'compute', handler: (i, ctx) => (ctx.attachSigned('tag', bytes('t')), i) }))
      .grantCapability('vault.read')
      .receiptHashPolicy(policy)
      .effectBackend(new StoreEffectBackend(store, APP))
      .receiptSink(new StoreReceiptSink(store, RECEIPTS))
      .build();
  }

  for (const policy of ['blake3', 'deferred'] as const) {
    it(`stores exactly encodeReceiptEnvelope(receipt.envelope) (${policy} hashes)`, async () => {
      const c = await core(policy);
      const caller = { principal: 'alice', capabilities: ['vault.read'] };
      for (const [name, options] of [['orders.place', {}], ['clock.now', {}], ['vault.peek', {}], ['notes.tag', {}], ['clock.now', { caller }], ['orders.place', {}]] as const) {
        const result = await c.dispatch(name, bytes(`in-${name}`), options);
        const stored = (await store!.getRaw(result.receipt!.appendReceipt!.eventId)).bytes;
        expect(stored).toEqual(encodeReceiptEnvelope(result.receipt!.envelope));
        expect(decodeReceiptEnvelope(stored)).toEqual(result.receipt!.envelope);
      }
    });
  }
});
