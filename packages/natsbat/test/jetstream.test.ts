// Against a real nats-server (JetStream, 127.0.0.1, free port): the export is complete, in order,
// duplicate-free and verifiable after crashes (INV-NATSBAT-EXPORT-COMPLETE), and a second writer is
// fenced off instead of interleaving (INV-NATSBAT-FENCE). Skipped, with a message, without nats-server.
import { Coordinate, defineEvent, EventRegistry, isValid, verifyReceiptClaim, type Fs, type Store } from '@batpak/core';
import { SeededRng, SimFs } from '@batpak/core/testing';
import { DiscardPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNatsbatError, JournalExporter, readExported, verifyExported, type ExportedEvent, type ExportProgress, type ExportRunOptions } from '../src/index.js';
import { findNatsServer, startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { Deposited, fill, openStore, SEED } from './helpers/store.js';

const bin = findNatsServer();
if (bin === undefined) {
  // CI sets BATPAK_REQUIRE_NATS_SERVER=1 after installing nats-server: there a missing binary is a failure.
  if (process.env.BATPAK_REQUIRE_NATS_SERVER === '1') throw new Error('BATPAK_REQUIRE_NATS_SERVER=1 but no nats-server was found (PATH, /usr/sbin, NATS_SERVER_BIN)');
  console.warn('natsbat: nats-server not found (PATH, /usr/sbin, NATS_SERVER_BIN) — the JetStream suite is skipped. Install it: apt-get install -y nats-server');
}

const SEED_ENV = Number(process.env.NATSBAT_TEST_SEED ?? Date.now() % 1_000_000);

let server: NatsServer;
const connections: NatsConnection[] = [];
let streams = 0;

async function nats(): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url });
  connections.push(nc);
  return nc;
}

/** Each test exports to its own stream. */
function freshName(): string {
  return `t${++streams}`;
}

function exporter(store: Store, connection: NatsConnection, name: string, fs: Fs, extra: Partial<ConstructorParameters<typeof JournalExporter>[0]> = {}) {
  return new JournalExporter({ store, connection, name, watermark: { fs, path: `/store/natsbat-${name}.watermark` }, ...extra });
}

async function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'done',
    (e: unknown) => (isNatsbatError(e) ? e.code : `unexpected: ${String(e)}`),
  );
}

async function readAll(nc: NatsConnection, stream: string): Promise<ExportedEvent[]> {
  const out: ExportedEvent[] = [];
  for await (const e of readExported(nc, { stream })) out.push(e);
  return out;
}

async function storeIds(store: Store): Promise<string[]> {
  const ids: string[] = [];
  for await (const e of store.query()) ids.push(e.header.eventId);
  return ids;
}

/** The stream holds exactly the store's first `n` events, in commit order, each once, at sequences 1..n. */
async function expectExactPrefix(nc: NatsConnection, stream: string, store: Store, n?: number): Promise<ExportedEvent[]> {
  const remote = await readAll(nc, stream);
  const ids = await storeIds(store);
  const want = ids.slice(0, n ?? ids.length);
  expect(remote.map((e) => e.receipt.eventId)).toEqual(want);
  expect(remote.map((e) => e.streamSequence)).toEqual(want.map((_, i) => BigInt(i + 1)));
  return remote;
}

/** Resolves once `pred` holds for a progress report of the run started with the returned options. */
function progressGate(pred: (p: ExportProgress) => boolean): { options: Pick<ExportRunOptions, 'onProgress'>; reached: Promise<void> } {
  let open!: () => void;
  const reached = new Promise<void>((resolve) => (open = resolve));
  return { options: { onProgress: (p) => (pred(p) ? open() : undefined) }, reached };
}

describe.skipIf(bin === undefined)('@batpak/natsbat against nats-server', () => {
  beforeAll(async () => {
    server = await startNatsServer(bin!);
  });

  afterAll(async () => {
    for (const nc of connections) await nc.close().catch(() => undefined);
    await server?.stop();
  });

  it(`INV-NATSBAT-EXPORT-COMPLETE: 10k signed events survive kills at random points (seed ${SEED_ENV}); the remote copy is complete, in order, duplicate-free and verifies with only the public key`, async () => {
    const rng = new SeededRng(SEED_ENV);
    const { store, fs } = await openStore({ signingKey: SEED });
    const appended = await fill(store, 10_000);
    const name = freshName();
    const stream = `BATPAK_${name}`;
    const random = (lo: number, hi: number) => lo + rng.below(hi - lo);
    let adoptedTotal = 0;
    const track = (extra: ExportRunOptions = {}): ExportRunOptions => ({ ...extra, onStart: (s) => (adoptedTotal += s.adopted) });

    // Kill 1: the process stops at a random acknowledged event — its signal aborts, nothing is cleaned up.
    const kill1 = new AbortController();
    const at1 = random(200, 3000);
    const r1 = exporter(store, await nats(), name, fs).run(track({ signal: kill1.signal, onProgress: (p) => (p.published === at1 ? kill1.abort() : undefined) }));
    expect(await outcome(r1)).toBe('ERR_ABORTED');
    const wm1 = fs.inspect(`/store/natsbat-${name}.watermark`)?.current;

    // Kill 2: the connection dies with publishes in flight.
    const nc2 = await nats();
    const at2 = random(100, 2000);
    const r2 = exporter(store, nc2, name, fs).run(track({ onProgress: (p) => (p.published === at2 ? void nc2.close() : undefined) }));
    expect(await outcome(r2)).toBe('ERR_PUBLISH_FAILED');

    // Kill 3: the disk fails while the watermark is being saved (after JetStream acknowledged).
    let saves = 0;
    const failAt = random(2, 20);
    const flaky: Fs = Object.assign(Object.create(fs) as Fs, {
      writeFileAtomic: (path: string, data: Uint8Array) => (++saves === failAt ? Promise.reject(Object.assign(new Error('EIO: injected'), { code: 'EIO' })) : fs.writeFileAtomic(path, data)),
    });
    expect(await outcome(exporter(store, await nats(), name, flaky).run(track()))).toBe('ERR_IO');

    // Kill 4: the watermark is restored from an older copy (the "replayed gap"): reconciliation adopts
    // what the stream already holds instead of publishing it again.
    if (wm1 !== undefined) await fs.writeFileAtomic(`/store/natsbat-${name}.watermark`, wm1);
    else await fs.remove(`/store/natsbat-${name}.watermark`, { force: true });

    // Restart, follow the store, and keep appending while it runs.
    const live = new AbortController();
    const caughtUp = progressGate((p) => p.position.globalSequence === 11_000n);
    const follower = exporter(store, await nats(), name, fs).run(track({ signal: live.signal, follow: true, ...caughtUp.options }));
    appended.push(...(await fill(store, 1_000, { offset: 10_000 })));
    await caughtUp.reached;
    live.abort();
    expect(await outcome(follower)).toBe('ERR_ABORTED');
    expect(adoptedTotal).toBeGreaterThan(0);

    const nc = await nats();
    const remote = await expectExactPrefix(nc, stream, store);
    expect(remote).toHaveLength(11_000);
    const report = await verifyExported(nc, { stream, publicKeys: [store.publicKey!] });
    expect(report).toMatchObject({ intact: true, messagesChecked: 11_000, lastGlobalSequence: 11_000n, gaps: [], receiptFailures: [], duplicates: [] });
    // A sample across the commit groups: each remote receipt is the one append returned, signature and
    // group proof included, and one the origin store accepts.
    const sample = remote.filter((_, i) => i % 97 === 0 || i === remote.length - 1);
    expect(sample.length).toBeGreaterThan(100);
    for (const e of sample) {
      expect(e.receipt).toEqual(appended[Number(e.receipt.globalSequence) - 1]);
      expect(e.receipt.groupProof!.siblings.length).toBeGreaterThan(0);
      expect((await store.verifyReceipt(e.receipt)).status).toBe('signed');
    }
    // A clean restart finds nothing to do.
    const again = await exporter(store, nc, name, fs).run();
    expect(again).toMatchObject({ published: 0, position: { globalSequence: 11_000n, streamSequence: 11_000n } });
    await store.close();
  }, 180_000);

  it('INV-NATSBAT-EXPORT-COMPLETE: messages JetStream refuses are never counted — the watermark stays at the last stored one and the next run resumes there', async () => {
    const { store, fs } = await openStore({ signingKey: SEED });
    await fill(store, 3_000);
    const name = freshName();
    const stream = `BATPAK_${name}`;
    const nc = await nats();
    const jsm = await jetstreamManager(nc);
    // A stream that takes 1,234 messages and refuses the rest, with hundreds still in flight.
    const config = { name: stream, subjects: [`batpak.${name}.>`], max_msgs: 1_234, discard: DiscardPolicy.New };
    await jsm.streams.add(config);
    expect(await outcome(exporter(store, nc, name, fs).run())).toBe('ERR_PUBLISH_FAILED');
    const wm = JSON.parse(new TextDecoder().decode(fs.inspect(`/store/natsbat-${name}.watermark`)!.current)) as { streamSequence: string; globalSequence: string };
    expect(BigInt(wm.streamSequence)).toBeLessThanOrEqual(1_234n);
    await jsm.streams.update(stream, { ...config, max_msgs: -1 });
    const resumed = await exporter(store, nc, name, fs).run();
    expect(resumed.published + resumed.adopted).toBe(3_000 - Number(wm.streamSequence));
    await expectExactPrefix(nc, stream, store);
    expect((await verifyExported(nc, { stream, publicKeys: [store.publicKey!] })).intact).toBe(true);
    await store.close();
  }, 60_000);

  it('INV-NATSBAT-FENCE: two live exporters of one store — the one that loses the contested event fails with ERR_FENCED, the other carries on', async () => {
    const { store, fs } = await openStore({ signingKey: SEED });
    await fill(store, 100);
    const name = freshName();
    const stream = `BATPAK_${name}`;
    expect(await exporter(store, await nats(), name, fs).run()).toMatchObject({ published: 100 });

    const runs = ['A', 'B'].map(() => {
      const ctl = new AbortController();
      let started!: () => void;
      const ready = new Promise<void>((resolve) => (started = resolve));
      let acked = 0n;
      const run = (async () => exporter(store, await nats(), name, fs).run({ signal: ctl.signal, follow: true, onStart: () => started(), onProgress: (p) => (acked = p.position.globalSequence) }))();
      return { ctl, ready, run, outcome: outcome(run), acked: () => acked };
    });
    await Promise.all(runs.map((r) => r.ready));
    // Both are caught up and waiting: one new event is published by both, with identical expectations.
    await fill(store, 1, { offset: 100 });
    const loser = await Promise.race(runs.map(async (r, i) => ((await r.outcome) === 'ERR_FENCED' ? i : -1)));
    expect(loser).toBeGreaterThanOrEqual(0);
    const winner = runs[1 - loser]!;
    // The winner keeps exporting alone.
    await fill(store, 50, { offset: 101 });
    while (winner.acked() < 151n) await new Promise((r) => setTimeout(r, 20));
    winner.ctl.abort();
    expect(await winner.outcome).toBe('ERR_ABORTED');
    const nc = await nats();
    await expectExactPrefix(nc, stream, store);
    expect((await verifyExported(nc, { stream, publicKeys: [store.publicKey!] })).intact).toBe(true);
    await store.close();
  }, 60_000);

  it('INV-NATSBAT-FENCE: a second exporter started mid-stream is fenced with a typed error and never interleaves', async () => {
    const { store, fs } = await openStore({ signingKey: SEED });
    await fill(store, 4_000);
    const name = freshName();
    const stream = `BATPAK_${name}`;
    const midway = progressGate((p) => p.published >= 500);
    const first = exporter(store, await nats(), name, fs, { maxInFlight: 64 }).run(midway.options);
    await midway.reached;
    const second = exporter(store, await nats(), name, fs).run();
    const [a, b] = await Promise.all([outcome(first), outcome(second)]);
    // Whichever loses a contested position is fenced; neither fails any other way.
    expect([a, b]).toContain('ERR_FENCED');
    for (const o of [a, b]) expect(['done', 'ERR_FENCED']).toContain(o);
    const nc = await nats();
    const jsm = await jetstreamManager(nc);
    const n = (await jsm.streams.info(stream)).state.messages;
    await expectExactPrefix(nc, stream, store, n);
    // A single exporter then completes it.
    await exporter(store, nc, name, fs).run();
    await expectExactPrefix(nc, stream, store);
    expect((await verifyExported(nc, { stream, publicKeys: [store.publicKey!] })).intact).toBe(true);
    await store.close();
  }, 120_000);

  it('INV-NATSBAT-FENCE: a message from another writer under a following exporter fences it; another store is refused as diverged', async () => {
    const { store, fs } = await openStore({ signingKey: SEED });
    await fill(store, 20);
    const name = freshName();
    const stream = `BATPAK_${name}`;
    const nc = await nats();
    const ctl = new AbortController();
    let started!: () => void;
    const ready = new Promise<void>((resolve) => (started = resolve));
    const run = outcome(exporter(store, nc, name, fs).run({ signal: ctl.signal, follow: true, onStart: () => started() }));
    await ready;
    while ((await (await jetstreamManager(nc)).streams.info(stream)).state.messages < 20) await new Promise((r) => setTimeout(r, 20));
    // Another writer appends to the stream; the exporter's next publish must not land after it.
    const h = headers();
    h.set('X-Intruder', '1');
    await jetstream(nc).publish(`batpak.${name}.intruder`, new Uint8Array([1]), { headers: h });
    await fill(store, 5, { offset: 20 });
    expect(await run).toBe('ERR_FENCED');
    const info = await (await jetstreamManager(nc)).streams.info(stream);
    expect(info.state.messages).toBe(21);

    // A different store exporting under the same name: the stream's messages are not its events.
    const other = await openStore({ signingKey: SEED, seed: 99 });
    await fill(other.store, 30, { entities: 3 });
    const beforeMessages = info.state.messages;
    expect(await outcome(exporter(other.store, nc, name, other.fs).run())).toBe('ERR_STREAM_DIVERGED');
    expect((await (await jetstreamManager(nc)).streams.info(stream)).state.messages).toBe(beforeMessages);
    await other.store.close();
    await store.close();
  }, 60_000);

  it('refuses to export into a stream that lost acknowledged messages (ERR_STREAM_BEHIND)', async () => {
    const { store, fs } = await openStore({ signingKey: SEED });
    await fill(store, 30);
    const name = freshName();
    const nc = await nats();
    await exporter(store, nc, name, fs).run();
    await (await jetstreamManager(nc)).streams.delete(`BATPAK_${name}`);
    expect(await outcome(exporter(store, nc, name, fs).run())).toBe('ERR_STREAM_BEHIND');
    await store.close();
  });

  it('exports payloads as stored: ciphertext when encrypted, so a later shred leaves the remote copy unreadable yet verifiable', async () => {
    const Note = defineEvent<{ text: string }>({ category: 0x3, typeId: 1, name: 'Note' });
    const fs = new SimFs(5);
    const { store } = await openStore({ fs, signingKey: SEED, registry: new EventRegistry([Note]), payloadEncryption: { granularity: 'entity' } });
    const alice = new Coordinate('user:alice', 'profile');
    for (let i = 0; i < 5; i++) await store.append(alice, Note, { text: `MARKER-secret-${i}` });
    await store.append(new Coordinate('user:bob', 'profile'), Note, { text: 'MARKER-bob' });
    const name = freshName();
    const stream = `BATPAK_${name}`;
    const nc = await nats();
    await exporter(store, nc, name, fs).run();
    await store.shredScope({ entity: 'user:alice' });
    await exporter(store, nc, name, fs).run();
    const remote = await readAll(nc, stream);
    expect(remote).toHaveLength(7);
    for (const e of remote.slice(0, 6)) {
      expect(e.encrypted).toBe(true);
      expect(Buffer.from(e.payload).includes('MARKER')).toBe(false);
      expect(e.payload).toEqual((await store.getRaw(e.receipt.eventId)).bytes);
    }
    const report = await verifyExported(nc, { stream, publicKeys: [store.publicKey!] });
    expect(report.intact).toBe(true);
    expect(remote.every((e) => isValid(verifyReceiptClaim(e.receipt, [store.publicKey!])))).toBe(true);
    await store.close();
  });

  it('stops at an event larger than the server\'s max_payload with ERR_PAYLOAD_TOO_LARGE, after exporting everything before it', async () => {
    const { store, fs } = await openStore({ signingKey: SEED });
    await fill(store, 10);
    const big = await store.appendRaw(new Coordinate('blob:1', 'files'), { category: 0x2, typeId: 1 }, new Uint8Array(2 * 1024 * 1024));
    const name = freshName();
    const nc = await nats();
    const err = await exporter(store, nc, name, fs).run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isNatsbatError(err, 'ERR_PAYLOAD_TOO_LARGE')).toBe(true);
    expect((err as { details: { eventId?: string } }).details.eventId).toBe(big.eventId);
    await expectExactPrefix(nc, `BATPAK_${name}`, store, 10);
    await store.close();
  });

  it('INV-NATSBAT-RECEIPT-COVER: a signed store reopened without its key exports its original signed receipts, which verify with only the public key', async () => {
    const signed = await openStore({ signingKey: SEED });
    const appended = await fill(signed.store, 300, { group: 25 });
    const publicKey = signed.store.publicKey!;
    await signed.store.close();
    const { store, fs } = await openStore({ fs: signed.fs, allowUnsignedAfterSigned: true });
    expect(store.publicKey).toBeUndefined();
    const name = freshName();
    const stream = `BATPAK_${name}`;
    const nc = await nats();
    expect(await exporter(store, nc, name, fs).run()).toMatchObject({ published: 300 });
    const remote = await readAll(nc, stream);
    expect(remote.map((e) => e.receipt)).toEqual(appended);
    expect(await verifyExported(nc, { stream, publicKeys: [publicKey] })).toMatchObject({ intact: true, messagesChecked: 300, receiptFailures: [] });
    await store.close();
  });

  it('INV-NATSBAT-RECEIPT-COVER: events with receipt extensions and signing downgrades are exported as committed; the remote side sees the downgrade', async () => {
    const note = new Uint8Array([7, 7]);
    const signed = await openStore({ signingKey: SEED });
    const appended = await fill(signed.store, 20, { group: 5 });
    appended.push(await signed.store.append(new Coordinate('account:x', 'bank'), Deposited, { amount: 1 }, { extensions: { 'app.note': note } }));
    const publicKey = signed.store.publicKey!;
    await signed.store.close();
    const offline = { publicKey, sign: (): Uint8Array => { throw new Error('HSM offline'); } };
    const { store, fs } = await openStore({ fs: signed.fs, signer: offline, signingDowngradeAllowed: true, onWarning: () => undefined });
    const downgraded = await fill(store, 6, { group: 3 });
    appended.push(...downgraded);
    const name = freshName();
    const stream = `BATPAK_${name}`;
    const nc = await nats();
    expect(await exporter(store, nc, name, fs).run()).toMatchObject({ published: 27 });
    const remote = await readAll(nc, stream);
    expect(remote.map((e) => e.receipt)).toEqual(appended);
    expect(remote[20]!.receipt.extensions?.get('app.note')).toEqual(note);
    expect(remote.slice(21).every((e) => e.receipt.extensions?.has('batpak.signing.downgrade') === true)).toBe(true);
    // Signed receipts verify with the public key; the downgraded (unsigned) ones are reported, not hidden.
    const report = await verifyExported(nc, { stream, publicKeys: [publicKey] });
    expect(report.receiptFailures.map((f) => f.eventId)).toEqual(downgraded.map((r) => r.eventId));
    expect(report.receiptFailures.every((f) => f.reason.startsWith('signature:'))).toBe(true);
    expect(report).toMatchObject({ messagesChecked: 27, danglingLinks: [], contentHashMismatches: [], malformed: [] });
    for (const e of remote) expect(['signed', 'unsigned-accepted']).toContain((await store.verifyReceipt(e.receipt)).status);
    await store.close();
  });

  it('exports a keyless store with unsigned receipts, which verify with no key', async () => {
    const { store, fs } = await openStore();
    await fill(store, 40);
    const name = freshName();
    const nc = await nats();
    await new JournalExporter({ store, connection: nc, name, watermark: { fs } }).run();
    const report = await verifyExported(nc, { stream: `BATPAK_${name}`, publicKeys: [] });
    expect(report).toMatchObject({ intact: true, messagesChecked: 40 });
    await store.close();
  });
  it('INV-NATSBAT-ATTEST: with attestations on, each catch-up ends with the store\'s attestation, and the remote verifier proves the stream extends it', async () => {
    const { store, fs } = await openStore({ signingKey: SEED });
    await fill(store, 120);
    const nc = await nats();
    const name = freshName();
    await exporter(store, nc, name, fs, { batchSize: 16, attestations: { everyEvents: 50 } }).run();
    await fill(store, 30, { offset: 120 });
    await exporter(store, nc, name, fs, { batchSize: 16, attestations: true }).run();
    const remote = await readAll(nc, `BATPAK_${name}`);
    const carried = remote.filter((e) => e.attestation !== undefined).map((e) => e.receipt.globalSequence);
    // at the first batch end after 50 events (64), the end of the first catch-up (120, also 56 after 64), the end of the second (150)
    expect(carried).toEqual([64n, 120n, 150n]);
    const report = await verifyExported(nc, { stream: `BATPAK_${name}`, publicKeys: [store.publicKey!] });
    expect(report).toMatchObject({ intact: true, messagesChecked: 150, attestationsChecked: 3, attestationFailures: [] });
    // And the store itself extends the last attestation the stream carries.
    expect((await store.verifyChain({ expect: remote[remote.length - 1]!.attestation! })).attestation?.status).toBe('extends');
    await store.close();
  });
});
