// Against a real nats-server: `readExported(…, { follow: true })` is a live tail — it yields everything
// exported, then new events as they are exported, and ends cleanly (no error, no hang) when its signal fires.
import { SimFs } from '@batpak/core/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNatsbatError, JournalExporter, readExported, type ExportedEvent } from '../src/index.js';
import { findNatsServer, startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { fill, openStore } from './helpers/store.js';

const bin = findNatsServer();
if (bin === undefined && process.env.BATPAK_REQUIRE_NATS_SERVER === '1') throw new Error('BATPAK_REQUIRE_NATS_SERVER=1 but no nats-server was found');

let server: NatsServer;
const connections: NatsConnection[] = [];
let streams = 0;

async function nats(): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url });
  connections.push(nc);
  return nc;
}

async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(bin === undefined)('readExported follow mode against nats-server', () => {
  beforeAll(async () => {
    server = await startNatsServer(bin!);
  });
  afterAll(async () => {
    for (const nc of connections) await nc.close().catch(() => undefined);
    await server?.stop();
  });

  it('yields the exported events, then each newly exported one, and ends without error when the signal fires', async () => {
    const { store, fs } = await openStore();
    await fill(store, 40);
    const name = `f${++streams}`;
    const exporter = new JournalExporter({ store, connection: await nats(), name, watermark: { fs, path: `/store/w-${name}` } });
    await exporter.run();
    const nc = await nats();
    const stop = new AbortController();
    const seen: ExportedEvent[] = [];
    const tail = (async () => {
      for await (const e of readExported(nc, { stream: exporter.stream, follow: true, signal: stop.signal })) seen.push(e);
      return 'ended';
    })();
    await until(() => seen.length === 40, 'the first 40 events');
    // The tail waits at the stream's end; new exports arrive in order.
    await fill(store, 25, { offset: 40 });
    await exporter.run();
    await until(() => seen.length === 65, 'the 25 new events');
    stop.abort();
    expect(await tail).toBe('ended');
    const ids: string[] = [];
    for await (const e of store.query()) ids.push(e.header.eventId);
    expect(seen.map((e) => e.receipt.eventId)).toEqual(ids);
    expect(seen.map((e) => e.streamSequence)).toEqual(ids.map((_, i) => BigInt(i + 1)));
    await store.close();
  }, 30_000);

  it('starts at fromSequence, ends promptly when aborted while waiting, and ends at once for a signal aborted before it starts', async () => {
    const { store, fs } = await openStore({ fs: new SimFs(2) });
    await fill(store, 10);
    const name = `f${++streams}`;
    const exporter = new JournalExporter({ store, connection: await nats(), name, watermark: { fs, path: `/store/w-${name}` } });
    await exporter.run();
    const nc = await nats();
    const stop = new AbortController();
    const seen: bigint[] = [];
    const tail = (async () => {
      for await (const e of readExported(nc, { stream: exporter.stream, fromSequence: 4n, follow: true, signal: stop.signal })) seen.push(e.streamSequence);
    })();
    await until(() => seen.length === 7, 'events 4..10');
    await new Promise((r) => setTimeout(r, 200)); // idle at the end of the stream
    const t0 = Date.now();
    stop.abort();
    await tail;
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(seen).toEqual([4n, 5n, 6n, 7n, 8n, 9n, 10n]);

    let yielded = 0;
    for await (const _ of readExported(nc, { stream: exporter.stream, follow: true, signal: AbortSignal.abort() })) yielded++;
    expect(yielded).toBe(0);
    await store.close();
  }, 30_000);

  it('refuses follow without a signal and reports a missing stream as ERR_READ_FAILED', async () => {
    const nc = await nats();
    const first = (it: AsyncIterable<unknown>) => it[Symbol.asyncIterator]().next().then(() => 'ok', (e: unknown) => (isNatsbatError(e) ? e.code : String(e)));
    expect(await first(readExported(nc, { stream: 'NOPE', follow: true }))).toBe('ERR_INVALID_OPTION');
    expect(await first(readExported(nc, { stream: 'NOPE', follow: true, signal: new AbortController().signal }))).toBe('ERR_READ_FAILED');
  }, 30_000);
  it('Symbol.asyncDispose stops a following export (ERR_ABORTED) and resolves once it has settled', async () => {
    const { store, fs } = await openStore();
    await fill(store, 5);
    const name = `f${++streams}`;
    const exporter = new JournalExporter({ store, connection: await nats(), name, watermark: { fs, path: `/store/w-${name}` } });
    let acked = 0;
    // A caller signal that never fires: disposal alone must end the run.
    const running = exporter.run({ follow: true, signal: new AbortController().signal, onProgress: (p) => (acked = p.published) });
    const outcome = running.then(() => 'resolved', (e: unknown) => (isNatsbatError(e) ? e.code : String(e)));
    await until(() => acked === 5, 'the 5 events acknowledged');
    // What `await using exporter = …` runs at scope exit.
    await exporter[Symbol.asyncDispose]();
    expect(await outcome).toBe('ERR_ABORTED');
    // Disposing an idle exporter is a no-op, and it can run again afterwards.
    await exporter[Symbol.asyncDispose]();
    expect((await exporter.run()).published).toBe(0);
    await store.close();
  }, 30_000);
});
