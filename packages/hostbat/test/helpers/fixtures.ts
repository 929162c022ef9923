// Shared builders for the hostbat suites: msgpack payloads, the three schemas an operation needs, and the reference host.
// Invariant: the reference host here is the exact input the goldens in fixtures/hostbat/ were computed from — change it, re-pin them.

import { Store, cstr, cuint, cstruct, encodeCanonical } from '@batpak/core';
import { SimFs } from '@batpak/core/testing';
import { HandlerError, deny, admit, defineOperation, type Operation } from '@batpak/syncbat';
import { HostModule, SchemaDescriptor, type SchemaRole } from '../../src/index.js';

/** A msgpack str: the simplest value every schema's structural check accepts. */
export const mp = (s: string): Uint8Array => encodeCanonical(cstr(s));
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export function schema(id: string, role: SchemaRole, golden: string = `${id}-golden`, version = 1): SchemaDescriptor {
  return new SchemaDescriptor({ id, version, role, golden: [{ case: 'basic', bytes: mp(golden) }] });
}

/** The input, output and receipt schemas an operation's refs name (every hosted op needs all three). */
export function opSchemas(op: Operation): SchemaDescriptor[] {
  const d = op.descriptor;
  return [schema(d.inputSchemaRef, 'operation-input'), schema(d.outputSchemaRef, 'operation-output'), schema(d.receiptKind, 'receipt-payload')];
}

export async function simStore(seed = 1, options: { signingKey?: Uint8Array } = {}): Promise<Store> {
  return Store.open({ dir: '/s', fs: new SimFs(seed), ...options });
}

/** Resolves with the rejection of `p`, failing the test if it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

export const ORDER_PLACED = Object.freeze({ category: 0xf, typeId: 1 });

// ---------------------------------------------------------------------------------------------------------
// The reference host of fixtures/hostbat/fingerprints.json: two modules covering every manifest axis.

export const placeOrder = defineOperation({
  name: 'orders.place',
  title: 'Place order',
  effectClass: 'persist',
  effects: { appends: [ORDER_PLACED] },
  inputSchemaRef: 'orders.place.in',
  outputSchemaRef: 'orders.place.out',
  receiptKind: 'orders.place.receipt',
  handler: async (input, ctx) => {
    await ctx.appendEvent(ORDER_PLACED, input);
    return mp('placed');
  },
});

export const getOrder = defineOperation({
  name: 'orders.get',
  effectClass: 'inspect',
  effects: { reads: ['orders'] },
  inputSchemaRef: 'orders.get.in',
  outputSchemaRef: 'orders.get.out',
  receiptKind: 'orders.get.receipt',
  handler: () => mp('order'),
});

export const auditReboot = defineOperation({
  name: 'audit.reboot',
  effectClass: 'control',
  effects: { hostControls: ['ctrl.alpha'] },
  inputSchemaRef: 'audit.reboot.in',
  outputSchemaRef: 'audit.reboot.out',
  receiptKind: 'audit.reboot.receipt',
  handler: async (input, ctx) => {
    await ctx.useHostControl('ctrl.alpha');
    return input;
  },
});

export interface ReferenceOptions {
  /** Replaces the golden text of `orders.place.in`, to show that one schema moves every digest above it. */
  readonly placeInGolden?: string;
  /** Reverses every registration order inside the modules (must not matter). */
  readonly reversed?: boolean;
}

export function ordersModule(opts: ReferenceOptions = {}): HostModule {
  const steps: ((b: ReturnType<typeof HostModule.builder>) => unknown)[] = [
    (b) => b.operation(placeOrder),
    (b) => b.operation(getOrder),
    (b) => b.schema(schema('orders.place.in', 'operation-input', opts.placeInGolden ?? 'orders.place.in-golden')),
    (b) => b.schema(schema('orders.place.out', 'operation-output')),
    (b) => b.schema(schema('orders.place.receipt', 'receipt-payload')),
    (b) => b.schema(schema('orders.get.in', 'operation-input')),
    (b) => b.schema(schema('orders.get.out', 'operation-output')),
    (b) => b.schema(schema('orders.get.receipt', 'receipt-payload')),
    (b) => b.schema(schema('orders.placed', 'event-payload')),
    (b) => b.bindEventPayload(ORDER_PLACED, 'orders.placed'),
    (b) => b.receiptNamespace('orders'),
    (b) => b.guard({ code: 'orders.admission.v1' }, (_d, input) => (input.length > 64 ? deny('orders.too_large', 'input over 64 bytes') : admit())),
    (b) => b.hook('startup', 'warm-cache', 10, () => undefined),
    (b) => b.hook('shutdown', 'flush', 0, () => undefined),
    (b) => b.job('orders.reindex', () => undefined),
    (b) =>
      b.subscription({
        id: 'orders.placed.v1',
        source: { kind: 'event-category', category: 0xf },
        payloadSchemaRef: 'orders.placed',
        backpressure: { kind: 'bounded-queue', capacity: 64 },
      }),
  ];
  const b = HostModule.builder('orders', 1);
  for (const step of opts.reversed === true ? [...steps].reverse() : steps) step(b);
  return b.build();
}

export function auditModule(opts: ReferenceOptions = {}): HostModule {
  const steps: ((b: ReturnType<typeof HostModule.builder>) => unknown)[] = [
    (b) => b.operation(auditReboot),
    ...opSchemas(auditReboot).map((s) => (b: ReturnType<typeof HostModule.builder>) => b.schema(s)),
    // Declared identically by both modules' worlds: an audit copy of the orders event schema dedups in the composition.
    (b) => b.schema(schema('orders.placed', 'event-payload')),
    (b) => b.hook('startup', 'open-log', 0, () => undefined),
    (b) =>
      b.subscription({
        id: 'audit.receipts.v1',
        source: { kind: 'receipt-stream', receiptKind: 'audit.reboot.receipt' },
        payloadSchemaRef: 'audit.reboot.receipt',
        backpressure: { kind: 'bounded-queue', capacity: 16 },
      }),
  ];
  const b = HostModule.builder('audit', 2);
  for (const step of opts.reversed === true ? [...steps].reverse() : steps) step(b);
  return b.build();
}

/** A canonical struct payload, for operations whose input is a map. */
export const orderPayload = (sku: string, qty: number): Uint8Array =>
  encodeCanonical(cstruct([['sku', cstr(sku)], ['qty', cuint(qty)]]));

export const failing = (message: string) => () => {
  throw HandlerError.failed(message);
};
