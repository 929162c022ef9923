// A host with two modules — `orders` (appends a schema-checked event) and `ops` (performs a host control) — whose
// receipts are banked in a signed store. Run after building: `node packages/hostbat/examples/shop-host.mjs`.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinate, Store, cstr, cstruct, cuint, encodeCanonical } from '@batpak/core';
import { StoreEffectBackend, StoreReceiptSink, admit, defineOperation, deny } from '@batpak/syncbat';
import { HostBuilder, HostModule } from '@batpak/hostbat';

const ORDER_PLACED = { category: 0xf, typeId: 1 };
const order = (sku, qty) => encodeCanonical(cstruct([['sku', cstr(sku)], ['qty', cuint(qty)]]));
const text = (s) => encodeCanonical(cstr(s));
/** One schema with one golden vector: what the host checks operation inputs, outputs, receipts and events against. */
const schema = (id, role, example) => ({ id, version: 1, role, golden: [{ case: 'example', bytes: example }] });

// Module 1: orders. Its operation may append ORDER_PLACED events (evt.f001), and the host only lets an append
// through when its payload passes the event-payload schema bound to that kind.
const place = defineOperation({
  name: 'orders.place',
  effectClass: 'persist',
  effects: { appends: [ORDER_PLACED] },
  inputSchemaRef: 'orders.place.in',
  outputSchemaRef: 'orders.place.out',
  receiptKind: 'orders.place.receipt',
  handler: async (input, ctx) => {
    await ctx.appendEvent(ORDER_PLACED, input);
    return text('placed');
  },
});
const orders = HostModule.builder('orders', 1)
  .operation(place)
  .schema(schema('orders.place.in', 'operation-input', order('sku-1', 1)))
  .schema(schema('orders.place.out', 'operation-output', text('placed')))
  .schema(schema('orders.place.receipt', 'receipt-payload', text('receipt')))
  .schema(schema('orders.placed', 'event-payload', order('sku-1', 1)))
  .bindEventPayload(ORDER_PLACED, 'orders.placed')
  .guard('orders.size-limit.v1', (_d, input) => (input.length > 256 ? deny('orders.too_large', 'orders are at most 256 bytes') : admit()))
  .hook('startup', 'announce', 0, () => console.log('  [hook] orders: startup'))
  .hook('shutdown', 'announce', 0, () => console.log('  [hook] orders: shutdown'))
  .build();

// Module 2: ops. A control-class operation declaring the one host control it may use.
const rotate = defineOperation({
  name: 'ops.rotate-keys',
  effectClass: 'control',
  effects: { hostControls: ['ctrl.rotate-keys'] },
  inputSchemaRef: 'ops.rotate-keys.in',
  outputSchemaRef: 'ops.rotate-keys.out',
  receiptKind: 'ops.rotate-keys.receipt',
  handler: async (input, ctx) => {
    await ctx.useHostControl('ctrl.rotate-keys');
    return text('rotated');
  },
});
const ops = HostModule.builder('ops', 1)
  .operation(rotate)
  .schema(schema('ops.rotate-keys.in', 'operation-input', text('now')))
  .schema(schema('ops.rotate-keys.out', 'operation-output', text('rotated')))
  .schema(schema('ops.rotate-keys.receipt', 'receipt-payload', text('receipt')))
  .hook('startup', 'announce', 1, () => console.log('  [hook] ops: startup'))
  .build();

const dir = await mkdtemp(join(tmpdir(), 'hostbat-example-'));
const store = await Store.open({ dir, signingKey: randomBytes(32) });
try {
  const host = new HostBuilder()
    .receiptSink(new StoreReceiptSink(store, new Coordinate('hostbat:receipts', 'scope:shop')))
    .effectBackend(new StoreEffectBackend(store, new Coordinate('orders:all', 'scope:shop')))
    // The host's authority: an object (or a plain function) that performs declared controls.
    .hostControl({ perform: (id) => console.log(`  [controller] performing ${id}`) })
    .mount(ops)
    .mount(orders)
    .build();

  console.log(`H_host      ${host.fingerprint().toHex()}`);
  console.log(`H_interface ${host.interfaceFingerprint().toHex()}`);
  for (const m of host.modules()) console.log(`H_module    ${m.digest.toHex()}  (${m.id} v${m.version})`);

  await host.start();
  const placed = await host.invoke('orders.place', order('sku-42', 3));
  console.log(`orders.place -> receipt ${placed.receipt.envelope.outcome.class}, ${(await store.verifyReceipt(placed.receipt.appendReceipt)).status}`);
  const rotated = await host.invoke('ops.rotate-keys', text('now'));
  console.log(`ops.rotate-keys -> receipt ${rotated.receipt.envelope.outcome.class}, ${(await store.verifyReceipt(rotated.receipt.appendReceipt)).status}`);

  // Not a MessagePack value: refused by the input schema before the handler runs, and still receipted.
  await host.invoke('orders.place', Uint8Array.of(0xc1)).catch((err) => {
    console.log(`bad input   -> ${err.code}: ${err.message}`);
    console.log(`               receipt ${err.receipt.envelope.outcome.class}`);
  });

  const chain = await store.verifyChain();
  console.log(`store: ${chain.eventsChecked} events, chain ${chain.intact ? 'intact' : 'DAMAGED'}`);
  console.log('manifest (first module):');
  console.log(JSON.stringify(host.manifest().modules[0], null, 2).split('\n').slice(0, 12).join('\n') + '\n  …');
  await host.shutdown();
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
