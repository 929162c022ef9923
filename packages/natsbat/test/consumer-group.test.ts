// Against a real nats-server: consumeExported over a durable pull consumer — a group of three members
// splits the events (each handled by exactly one member when nobody fails, by someone at least once
// always), an abandoned member's unacknowledged event goes to another after ackWait, a restarted
// member resumes where the group left off, and payloads arrive decoded and upcast.
import { Coordinate, defineEvent, EventRegistry, type Store } from '@batpak/core';
import { SimFs } from '@batpak/core/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeExported, isNatsbatError, JournalExporter, type ConsumedEvent, type ConsumeExportedOptions } from '../src/index.js';
import { findNatsServer, startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { Deposited, fill, openStore } from './helpers/store.js';

const bin = findNatsServer();
if (bin === undefined && process.env.BATPAK_REQUIRE_NATS_SERVER === '1') throw new Error('BATPAK_REQUIRE_NATS_SERVER=1 but no nats-server was found');

/** The consumers' newer definition of Deposited: version 2 adds a currency, upcast from version 1. */
const DepositedV2 = defineEvent<{ amount: number; currency: string }>({
  category: 0x1,
  typeId: 1,
  name: 'Deposited',
  version: 2,
  upcasters: { 1: (v) => ({ ...(v as { amount: number }), currency: 'EUR' }) },
});
const registry = new EventRegistry([DepositedV2]);

let server: NatsServer;
const connections: NatsConnection[] = [];
let streams = 0;

async function nats(): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url });
  connections.push(nc);
  return nc;
}

async function until(pred: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function exported(store: Store, fs: SimFs, n = 0): Promise<JournalExporter> {
  const name = `g${++streams}${n}`;
  const exporter = new JournalExporter({ store, connection: await nats(), name, watermark: { fs, path: `/store/w-${name}` } });
  await exporter.run();
  return exporter;
}

async function storeIds(store: Store): Promise<string[]> {
  const ids: string[] = [];
  for await (const e of store.query()) ids.push(e.header.eventId);
  return ids;
}

/** A member: consumes in the background, recording what it handled, until its signal fires. */
function member(nc: NatsConnection, options: Omit<ConsumeExportedOptions, 'signal'>, onEvent: (e: ConsumedEvent) => Promise<void> | void = () => undefined) {
  const stop = new AbortController();
  const handled: ConsumedEvent[] = [];
  const done = (async () => {
    for await (const e of consumeExported(nc, { ...options, signal: stop.signal })) {
      await onEvent(e);
      handled.push(e);
    }
    return 'ended';
  })();
  return { stop, handled, done };
}

describe.skipIf(bin === undefined)('consumeExported against nats-server', () => {
  beforeAll(async () => {
    server = await startNatsServer(bin!);
  });
  afterAll(async () => {
    for (const nc of connections) await nc.close().catch(() => undefined);
    await server?.stop();
  });

  it('a group of three splits a stream the primary keeps appending to: every event handled by exactly one member, decoded and upcast', async () => {
    const { store, fs } = await openStore();
    await fill(store, 300);
    const exporter = await exported(store, fs);
    const live = new AbortController();
    const following = exporter.run({ signal: live.signal, follow: true }).catch((e: unknown) => (isNatsbatError(e, 'ERR_ABORTED') ? undefined : Promise.reject(e)));
    const members = await Promise.all(
      [0, 1, 2].map(async () => member(await nats(), { stream: exporter.stream, durable: 'workers', registry, batch: 4 }, () => new Promise((r) => setTimeout(r, 1)))),
    );
    await fill(store, 150, { offset: 300 });
    const ids = await storeIds(store);
    const total = () => members.reduce((n, m) => n + m.handled.length, 0);
    await until(() => total() >= ids.length, 'all 450 events');
    await new Promise((r) => setTimeout(r, 300)); // nothing more should come
    for (const m of members) m.stop.abort();
    expect(await Promise.all(members.map((m) => m.done))).toEqual(['ended', 'ended', 'ended']);
    live.abort();
    await following;

    const all = members.flatMap((m) => m.handled);
    expect(all.map((e) => e.eventId).sort()).toEqual([...ids].sort());
    for (const m of members) expect(m.handled.length).toBeGreaterThan(0);
    expect(all.every((e) => e.deliveryCount === 1)).toBe(true);
    // Payloads are decoded and upcast to the consumers' version 2.
    const byId = new Map(all.map((e) => [e.eventId, e]));
    let k = 0;
    for (const id of ids) expect(byId.get(id)!.payload).toEqual({ amount: k++ % 5, currency: 'EUR' });
    await store.close();
  }, 60_000);

  it('a member that dies holding an event (its iterator abandoned, unacknowledged) hands it to another member after ackWait', async () => {
    const { store, fs } = await openStore({ fs: new SimFs(3) });
    await fill(store, 60);
    const exporter = await exported(store, fs);
    const options = { stream: exporter.stream, durable: 'crashy', ackWaitMs: 800, batch: 1 } as const;
    // The doomed member takes the first event and never finishes it.
    const doomedNc = await nats();
    const doomed = consumeExported(doomedNc, { ...options, signal: new AbortController().signal })[Symbol.asyncIterator]();
    const held = (await doomed.next()).value as ConsumedEvent;
    expect(held.exported.streamSequence).toBe(1n);
    await doomedNc.close(); // the process is gone

    const survivors = await Promise.all([0, 1].map(async () => member(await nats(), options)));
    const total = () => survivors.reduce((n, m) => n + m.handled.length, 0);
    await until(() => total() >= 60, 'all 60 events, the held one redelivered');
    for (const m of survivors) m.stop.abort();
    await Promise.all(survivors.map((m) => m.done));
    const all = survivors.flatMap((m) => m.handled);
    expect(all.map((e) => e.eventId).sort()).toEqual((await storeIds(store)).sort());
    const again = all.find((e) => e.eventId === held.eventId)!;
    expect(again.deliveryCount).toBe(2);
    await store.close();
  }, 60_000);

  it('a member restarted under the same durable resumes where it stopped: nothing acknowledged comes again, the unfinished event does', async () => {
    const { store, fs } = await openStore({ fs: new SimFs(4) });
    await fill(store, 100);
    const exporter = await exported(store, fs);
    const options = { stream: exporter.stream, durable: 'resumer', ackWaitMs: 500, batch: 8 } as const;
    const first: string[] = [];
    for await (const e of consumeExported(await nats(), { ...options, signal: new AbortController().signal })) {
      first.push(e.eventId);
      if (first.length === 40) break; // the 40th is not acknowledged: break leaves the loop body unfinished
    }
    const second = member(await nats(), options);
    await until(() => second.handled.length >= 61, 'the rest and the unfinished one');
    await new Promise((r) => setTimeout(r, 700)); // past ackWait: nothing else is redelivered
    second.stop.abort();
    await second.done;
    const ids = await storeIds(store);
    expect(first).toEqual(ids.slice(0, 40));
    expect(second.handled.map((e) => e.eventId).sort()).toEqual(ids.slice(39).sort());
    await store.close();
  }, 60_000);

  it('a shred on the primary reaches the group as its system event; encrypted payloads are never readable by a consumer', async () => {
    const Note = defineEvent<{ text: string }>({ category: 0x3, typeId: 1, name: 'Note' });
    const { store, fs } = await openStore({ fs: new SimFs(6), registry: new EventRegistry([Note]), payloadEncryption: { granularity: 'entity' } });
    const alice = new Coordinate('user:alice', 'profile');
    for (let i = 0; i < 3; i++) await store.append(alice, Note, { text: `secret-${i}` });
    const exporter = await exported(store, fs);
    const members = await Promise.all([0, 1, 2].map(async () => member(await nats(), { stream: exporter.stream, durable: 'shreds', registry: new EventRegistry([Note]), batch: 1 })));
    const total = () => members.reduce((n, m) => n + m.handled.length, 0);
    await until(() => total() === 3, 'the three encrypted events');
    const shred = await store.shredScope({ entity: 'user:alice' });
    await exporter.run();
    await until(() => total() === 4, 'the shred event');
    for (const m of members) m.stop.abort();
    await Promise.all(members.map((m) => m.done));
    const all = members.flatMap((m) => m.handled).sort((a, b) => Number(a.exported.streamSequence - b.exported.streamSequence));
    expect(all.slice(0, 3).every((e) => e.exported.encrypted && e.payload === undefined)).toBe(true);
    const last = all[3]!;
    expect(last.exported.receipt.kind).toEqual({ category: 0x0, typeId: 0x10 });
    expect(last.eventId).toBe(shred.receipt?.eventId);
    expect(last.payload).toMatchObject({ granularity: 'entity' });
    await store.close();
  }, 60_000);

  it('filters by entity on the server and by kind on the client; raw payloads arrive as bytes; a member with another filter is refused', async () => {
    const Other = defineEvent<{ note: string }>({ category: 0x2, typeId: 7, name: 'Other' });
    const { store, fs } = await openStore({ fs: new SimFs(5), registry: new EventRegistry([Deposited, Other]) });
    const coord = new Coordinate('account:odd one', 'bank');
    await store.append(coord, Deposited, { amount: 1 });
    await store.appendRaw(coord, { category: 0x2, typeId: 8 }, new Uint8Array([1, 2, 3]));
    await store.append(new Coordinate('account:2', 'bank'), Deposited, { amount: 2 });
    await store.append(coord, Other, { note: 'filtered out by kind' });
    await store.append(coord, Deposited, { amount: 3 });
    const exporter = await exported(store, fs);
    const seen: ConsumedEvent[] = [];
    const stop = new AbortController();
    const run = (async () => {
      for await (const e of consumeExported(await nats(), { stream: exporter.stream, durable: 'odd', filter: { entity: 'account:odd one', kinds: [{ category: 0x1 }, { category: 0x2, typeId: 8 }] }, registry: new EventRegistry([Deposited, Other]), signal: stop.signal })) {
        seen.push(e);
      }
    })();
    await until(() => seen.length >= 3, 'the odd entity\'s events of the chosen kinds');
    await new Promise((r) => setTimeout(r, 200));
    stop.abort();
    await run;
    expect(seen.map((e) => e.payload)).toEqual([{ amount: 1 }, new Uint8Array([1, 2, 3]), { amount: 3 }]);
    expect(seen.every((e) => e.exported.receipt.coordinate.entity === 'account:odd one')).toBe(true);

    const refused = consumeExported(await nats(), { stream: exporter.stream, durable: 'odd', signal: new AbortController().signal })[Symbol.asyncIterator]().next();
    await expect(refused).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', details: { field: 'filter' } });
    const noSignal = consumeExported(await nats(), { stream: exporter.stream, durable: 'x' } as never)[Symbol.asyncIterator]().next();
    await expect(noSignal).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', details: { field: 'signal' } });
    await store.close();
  }, 60_000);
});
