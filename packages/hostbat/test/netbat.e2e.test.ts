// End to end over loopback: a netbat client calls operations of a built host served by netbat's createServer.
// INV-HOSTBAT-SERVED-RECEIPT: a call over the wire lands its effect in the store and banks one receipt there that verifies.
// (@batpak/netbat is not a dependency of hostbat: the host is served through netbat's structural Dispatcher seam.
// Type checking finds netbat's built types through tsconfig `paths`; vitest resolves the source through its alias.)
import { Coordinate, blake3, cbin, encodeCanonical, type AppendReceipt, type Store } from '@batpak/core';
import { connect, createServer, type Dispatcher, type NetbatClient, type NetbatServer } from '@batpak/netbat';
import { StoreEffectBackend, StoreReceiptSink, decodeReceiptEnvelope, type ReceiptEnvelope, type ReceiptSink } from '@batpak/syncbat';
import { afterEach, describe, expect, it } from 'vitest';
import { HostBuilder, type Host } from '../src/index.js';
import { auditModule, mp, orderPayload, ordersModule, rejectionOf, simStore } from './helpers/fixtures.js';

const RECEIPTS = new Coordinate('hostbat:receipts', 'scope:shop');
const ORDERS = new Coordinate('orders:1', 'scope:shop');

/** The store sink, remembering each append receipt so the test can verify it the way a client holding one would. */
class KeepingSink implements ReceiptSink {
  readonly appended: AppendReceipt[] = [];
  readonly #inner: StoreReceiptSink;
  constructor(store: Store) {
    this.#inner = new StoreReceiptSink(store, RECEIPTS);
  }
  async recordReceipt(envelope: ReceiptEnvelope) {
    const recorded = await this.#inner.recordReceipt(envelope);
    if (recorded.appendReceipt !== undefined) this.appended.push(recorded.appendReceipt);
    return recorded;
  }
}

let store: Store | undefined;
let server: NetbatServer | undefined;
let client: NetbatClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  await store?.close();
  client = server = store = undefined;
});

async function serve(host: Host, dispatcher: Dispatcher = host.toDispatcher()): Promise<NetbatClient> {
  server = createServer({ dispatcher });
  const { port, host: address } = await server.listen(0, '127.0.0.1');
  client = await connect({ host: address, port });
  return client;
}

async function storedReceipts(s: Store): Promise<ReceiptEnvelope[]> {
  const out: ReceiptEnvelope[] = [];
  for await (const e of s.query({ entity: RECEIPTS.entity })) out.push(decodeReceiptEnvelope((await s.getRaw(e.header.eventId)).bytes));
  return out;
}

describe('INV-HOSTBAT-SERVED-RECEIPT: a host served by netbat', () => {
  it('a call lands its effect in the store and a verifying receipt beside it; the chain stays intact', async () => {
    store = await simStore(41, { signingKey: new Uint8Array(32).fill(9) });
    const sink = new KeepingSink(store);
    const controls: string[] = [];
    const host = new HostBuilder()
      .receiptSink(sink)
      .effectBackend(new StoreEffectBackend(store, ORDERS))
      .hostControl((id) => void controls.push(id))
      .mount(ordersModule())
      .mount(auditModule())
      .build();
    await host.start();
    const c = await serve(host);

    const input = orderPayload('sku-1', 2);
    const output = await c.call('orders.place', input);
    expect(output).toEqual(mp('placed'));

    // The effect: one event at the backend's coordinate, the handler's bytes wrapped in one msgpack bin.
    const events = [];
    for await (const e of store.query({ entity: ORDERS.entity })) events.push(e);
    expect(events).toHaveLength(1);
    expect(events[0]!.header.kind).toEqual({ category: 0xf, typeId: 1 });
    expect((await store.getRaw(events[0]!.header.eventId)).bytes).toEqual(encodeCanonical(cbin(input)));

    // The receipt: banked in the store, hashes binding it to this call's bytes, signed and verifying.
    const [receipt] = await storedReceipts(store);
    expect(receipt).toMatchObject({ descriptorName: 'orders.place', receiptKind: 'orders.place.receipt', outcome: { class: 'completed' } });
    expect(receipt!.inputHash).toEqual(blake3(input));
    expect(receipt!.outputHash).toEqual(blake3(output));
    expect(sink.appended).toHaveLength(1);
    expect(await store.verifyReceipt(sink.appended[0]!)).toEqual({ status: 'signed' });

    // A host control over the wire, performed through the controller.
    expect(await c.call('audit.reboot', mp('now'))).toEqual(mp('now'));
    expect(controls).toEqual(['ctrl.alpha']);

    const report = await store.verifyChain();
    expect(report.intact).toBe(true);
    await host.shutdown();
  });

  it('failures reach the client as netbat ERR codes, and each failed or denied call still banks its receipt', async () => {
    store = await simStore(42);
    const sink = new KeepingSink(store);
    const host = new HostBuilder().receiptSink(sink).effectBackend(new StoreEffectBackend(store, ORDERS)).mount(ordersModule()).mount(auditModule()).build();
    // The Host itself is a Dispatcher too.
    const c = await serve(host, host);

    expect(await rejectionOf(c.call('orders.nope', mp('x')))).toMatchObject({ code: 'unknown_operation' });
    // Not a msgpack value: refused by the input schema before the handler runs.
    expect(await rejectionOf(c.call('orders.place', Uint8Array.of(0xc1)))).toMatchObject({ code: 'handler' });
    // Over 64 bytes: the orders module's guard denies it.
    expect(await rejectionOf(c.call('orders.place', mp('x'.repeat(80))))).toMatchObject({ code: 'runtime' });
    // No controller on this host: the control fails closed.
    expect(await rejectionOf(c.call('audit.reboot', mp('now')))).toMatchObject({ code: 'handler' });

    const outcomes = (await storedReceipts(store)).map((r) => `${r.descriptorName}:${r.outcome.class}`);
    expect(outcomes).toEqual(['orders.place:failed', 'orders.place:denied', 'audit.reboot:failed']);
    for (const r of sink.appended) expect((await store.verifyReceipt(r)).status).toBe('unsigned-accepted');
    let effects = 0;
    for await (const _e of store.query({ entity: ORDERS.entity })) effects++;
    expect(effects).toBe(0);
    expect((await store.verifyChain()).intact).toBe(true);
  });
});
