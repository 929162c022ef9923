// Against a real nats-server: replicate builds read replicas from an export stream (INV-NATSBAT-REPLICA) —
// two replicas follow one stream while the primary appends and shreds, one is killed mid-stream (its Fs
// crashed under it) and one stopped and restarted; both end up verifying and equal to the primary event
// for event. A forged message, a wrong key or a format-1 stream is refused with a typed error, nothing written.
import { Coordinate, defineEvent, EventRegistry, isBatpakError, receiptFromJSON, receiptToJSON, Store, type AppendReceipt, type Fs } from '@batpak/core';
import { decodeFrameBody, encodeEventFrame, FRAME_HEADER_BYTES, type EventFrame } from '@batpak/core/format';
import { SimFs } from '@batpak/core/testing';
import { blake3 } from '@batpak/core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS, isNatsbatError, JournalExporter, msgIdOf, replicate, type ReplicateOptions, type ReplicationProgress } from '../src/index.js';
import { findNatsServer, startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { Deposited, fill, openStore, SEED } from './helpers/store.js';

const bin = findNatsServer();
if (bin === undefined && process.env.BATPAK_REQUIRE_NATS_SERVER === '1') throw new Error('BATPAK_REQUIRE_NATS_SERVER=1 but no nats-server was found');

const Note = defineEvent<{ text: string }>({ category: 0x3, typeId: 1, name: 'Note' });
const registry = new EventRegistry([Deposited, Note]);

let server: NatsServer;
const connections: NatsConnection[] = [];
let streams = 0;

async function nats(): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url });
  connections.push(nc);
  return nc;
}

async function until(pred: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A signed primary with entity-scoped payload encryption, and its exporter. */
async function primary(seed: number, options: { readonly wireFormat?: 1 | 2; readonly attestations?: { everyEvents: number } } = {}) {
  const { store, fs } = await openStore({ fs: new SimFs(seed), signingKey: SEED, registry, payloadEncryption: { granularity: 'entity' } });
  const name = `r${++streams}`;
  const exporter = new JournalExporter({ store, connection: await nats(), name, watermark: { fs, path: `/store/w-${name}` }, batchSize: 16, ...options });
  return { store, fs, exporter };
}

/** A replicate call in the background, with its last progress. */
function follower(nc: NatsConnection, options: Omit<ReplicateOptions, 'signal' | 'onProgress'>, onProgress: (p: ReplicationProgress) => void = () => undefined) {
  const stop = new AbortController();
  const state = { last: 0n };
  const done = replicate(nc, {
    ...options,
    signal: stop.signal,
    onProgress: (p) => {
      state.last = p.lastSequence;
      onProgress(p);
    },
  });
  return { stop, state, done };
}

/** The primary's last global sequence (no compaction here, so its event count). */
const lastOf = (store: Store): bigint => store.stats().events;

/** Every event of the primary, byte for byte and receipt for receipt, and nothing else; the replica verifies. */
async function expectSameAsPrimary(primaryStore: Store, dir: string, fs: Fs | undefined) {
  const replica = await Store.openReadOnly(dir, { trustedPublicKeys: [primaryStore.publicKey!], ...(fs === undefined ? {} : { fs }) });
  const report = await replica.verifyChain();
  expect(report.intact).toBe(true);
  expect(report.signaturesChecked).toBe(report.eventsChecked);
  const ids: string[] = [];
  for await (const e of primaryStore.query()) ids.push(e.header.eventId);
  expect(replica.stats().events).toBe(BigInt(ids.length));
  for (const id of ids) {
    const [a, b] = [await primaryStore.getRaw(id), await replica.getRaw(id)];
    expect(b.header).toEqual(a.header);
    expect(b.bytes).toEqual(a.bytes);
    expect(await replica.receipt(id)).toEqual(await primaryStore.receipt(id));
  }
  await replica.close();
  return ids;
}

describe.skipIf(bin === undefined)('replicate against nats-server', () => {
  beforeAll(async () => {
    server = await startNatsServer(bin!);
  });
  afterAll(async () => {
    for (const nc of connections) await nc.close().catch(() => undefined);
    await server?.stop();
  });

  it('two replicas follow while the primary appends and shreds; one killed mid-stream, one stopped, both restarted; both match the primary and verify', async () => {
    const { store, exporter } = await primary(11);
    const alice = new Coordinate('user:alice', 'profile');
    await fill(store, 120, { group: 10 });
    for (let i = 0; i < 5; i++) await store.append(alice, Note, { text: `secret-${i}` });
    const live = new AbortController();
    // The replicas start once the exporter has created the stream: replicate refuses a stream that does not
    // exist (ERR_READ_FAILED), and under load the exporter's first round trip can come after theirs.
    let streamReady!: () => void;
    const ready = new Promise<void>((resolve) => (streamReady = resolve));
    const exporting = exporter
      .run({ signal: live.signal, follow: true, onStart: () => streamReady() })
      .catch((e: unknown) => (isNatsbatError(e, 'ERR_ABORTED') ? undefined : Promise.reject(e)));
    await Promise.race([ready, exporting.then(() => Promise.reject(new Error('the exporter stopped before it started')))]);
    const keys = [store.publicKey!];

    // Replica A on its own SimFs: killed (the Fs crashes under it, torn) once it holds 60 events.
    const fsA = new SimFs(12);
    let killed = false;
    const a1 = follower(await nats(), { stream: exporter.stream, dir: '/replica-a', publicKeys: keys, fs: fsA }, (p) => {
      if (!killed && p.lastSequence >= 60n) {
        killed = true;
        fsA.crash({ tear: true });
      }
    });
    // Replica B: stopped by its signal midway, then restarted.
    const fsB = new SimFs(13);
    const b1 = follower(await nats(), { stream: exporter.stream, dir: '/replica-b', publicKeys: keys, fs: fsB });

    await fill(store, 100, { offset: 120, group: 7 });
    const dead = await a1.done.then(() => undefined, (e: unknown) => e);
    expect(killed).toBe(true);
    expect(isNatsbatError(dead, 'ERR_IO')).toBe(true);
    await until(() => b1.state.last >= 100n, 'replica B past 100');
    b1.stop.abort();
    const stoppedAt = await b1.done;
    expect(stoppedAt.lastSequence).toBeGreaterThanOrEqual(100n);

    // The primary goes on: a shred, then more events under a fresh key of the same scope.
    const shred = await store.shredScope({ entity: 'user:alice' });
    expect(shred.status).toBe('destroyed');
    await store.append(alice, Note, { text: 'after the shred' });
    await fill(store, 40, { offset: 220, group: 9 });

    const a2 = follower(await nats(), { stream: exporter.stream, dir: '/replica-a', publicKeys: keys, fs: fsA });
    const b2 = follower(await nats(), { stream: exporter.stream, dir: '/replica-b', publicKeys: keys, fs: fsB });
    const total = lastOf(store);
    await until(() => a2.state.last === total && b2.state.last === total, `both replicas at ${total}`);
    a2.stop.abort();
    b2.stop.abort();
    const [ra, rb] = await Promise.all([a2.done, b2.done]);
    expect(ra.lastSequence).toBe(total);
    expect(rb.lastSequence).toBe(total);
    // B resumed right after where it stopped: what it applied the second time is exactly the rest.
    expect(BigInt(rb.applied)).toBe(total - stoppedAt.lastSequence);
    live.abort();
    await exporting;

    const ids = await expectSameAsPrimary(store, '/replica-a', fsA);
    await expectSameAsPrimary(store, '/replica-b', fsB);
    // The shred followed: the primary's payloads of the scope are gone, and no replica ever had a key.
    const secret = ids[120]!;
    expect((await store.get(secret).catch((e: unknown) => e)) as Error).toMatchObject({ code: 'ERR_PAYLOAD_SHREDDED' });
    const replica = await Store.openReadOnly('/replica-b', { fs: fsB, trustedPublicKeys: keys });
    expect(isBatpakError(await replica.get(secret).catch((e: unknown) => e))).toBe(true);
    expect(fsB.listFiles().some((f) => f.includes('keyset'))).toBe(false);
    await replica.close();
    await store.close();
  }, 120_000);

  it('a replica process SIGKILLed mid-stream and restarted resumes exactly where its directory ends (real files, real process)', async () => {
    const child = fileURLToPath(new URL('./helpers/replica-process.mjs', import.meta.url));
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    // Like the CLI's tests, this one runs the built package in a child process: `pnpm test` builds first.
    expect(existsSync(dist), `${dist} is missing: run \`npx -y pnpm@10 run build\` first`).toBe(true);
    const { store, exporter } = await primary(41);
    await fill(store, 800, { group: 10 });
    await exporter.run();
    const dir = await mkdtemp(join(tmpdir(), 'natsbat-replica-'));
    const key = Buffer.from(store.publicKey!).toString('hex');
    const start = () => {
      const p = spawn(process.execPath, [child, server.url, exporter.stream, dir, key], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out = { text: '', err: '' };
      p.stdout.setEncoding('utf8').on('data', (c: string) => (out.text += c));
      p.stderr.setEncoding('utf8').on('data', (c: string) => (out.err += c));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => p.on('close', (code, signal) => resolve({ code, signal })));
      return { p, out, exited };
    };
    try {
      const first = start();
      await until(() => /^at \d+$/m.test(first.out.text), 'the first applied group');
      first.p.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      // What the killed process left: a whole number of groups, verifying (a torn tail is cut at open).
      const left = await Store.openReadOnly(dir, { trustedPublicKeys: [store.publicKey!] });
      const held = left.stats().events;
      expect(held % 10n).toBe(0n);
      expect((await left.verifyChain()).intact).toBe(true);
      await left.close();

      await fill(store, 50, { offset: 800, group: 10 });
      await store.shredScope({ entity: 'account:3' }).catch(() => undefined);
      await exporter.run();
      const total = lastOf(store);
      const second = start();
      await until(() => new RegExp(`^at ${total}$`, 'm').test(second.out.text), `the restarted replica at ${total}`);
      second.p.kill('SIGTERM');
      expect(await second.exited).toEqual({ code: 0, signal: null });
      // Exactly the rest was applied: nothing twice, nothing skipped.
      expect(second.out.text).toContain(`done ${total} ${total - held}`);
      await expectSameAsPrimary(store, dir, undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await store.close();
    }
  }, 120_000);

  it('refuses a stream signed by another key, and a forged message, with ERR_REPLICA_REFUSED and nothing written', async () => {
    const { store, exporter } = await primary(21);
    await fill(store, 30, { group: 5 });
    await exporter.run();
    const fs = new SimFs(22);
    const wrong = await replicate(await nats(), { stream: exporter.stream, dir: '/wrong-key', publicKeys: [new Uint8Array(32).fill(1)], fs, signal: new AbortController().signal, follow: false }).catch((e: unknown) => e);
    expect(isNatsbatError(wrong, 'ERR_REPLICA_REFUSED')).toBe(true);
    expect((wrong as { details: { reason: string } }).details.reason).toBe('signature');

    // A copy of the stream where event 8's payload was swapped — frame, receipt and msgID made consistent.
    const nc = await nats();
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await jsm.streams.add({ name: 'FORGED', subjects: ['forged.>'] });
    for (let seq = 1; seq <= 30; seq++) {
      const m = (await jsm.streams.getMessage(exporter.stream, { seq }))!;
      let data: Uint8Array = m.data;
      const h = headers();
      for (const [k, v] of m.header) if (k.startsWith('Batpak-')) h.set(k, v.join(','));
      if (seq === 8) {
        const f = decodeFrameBody(m.data.subarray(FRAME_HEADER_BYTES)) as EventFrame;
        const payload = new Uint8Array([0xc0]);
        data = encodeEventFrame({ ...f, payload, contentHash: blake3(payload) });
        const r = receiptFromJSON(m.header.get(HEADERS.receipt)) as AppendReceipt;
        h.set(HEADERS.receipt, JSON.stringify(receiptToJSON({ ...r, contentHash: blake3(payload) })));
      }
      const r = receiptFromJSON(h.get(HEADERS.receipt));
      await js.publish(m.subject.replace(/^batpak\.[^.]+\./, 'forged.x.'), data, { headers: h, msgID: msgIdOf(r.eventId, r.contentHash) });
    }
    const err = await replicate(nc, { stream: 'FORGED', dir: '/forged', publicKeys: [store.publicKey!], fs, signal: new AbortController().signal, follow: false }).catch((e: unknown) => e);
    expect(isNatsbatError(err, 'ERR_REPLICA_REFUSED')).toBe(true);
    expect((err as { details: { reason: string; streamSequence: bigint } }).details).toMatchObject({ reason: 'signature', streamSequence: 10n });
    // Groups of 5: the whole group before the forged one is held, nothing of the forged group.
    const held = await Store.openReadOnly('/forged', { fs, trustedPublicKeys: [store.publicKey!] });
    expect(held.stats().events).toBe(5n);
    expect((await held.verifyChain()).intact).toBe(true);
    await held.close();
    const empty = await Store.openReadOnly('/wrong-key', { fs }).then((s) => s.stats().events, (e: unknown) => e);
    expect(empty === 0n || isBatpakError(empty, 'ERR_NOT_A_STORE')).toBe(true);
    await store.close();
  }, 60_000);

  it('attestations travel with the export: the replica proves it holds exactly what the primary attested', async () => {
    const { store, exporter } = await primary(51, { attestations: { everyEvents: 20 } });
    await fill(store, 45, { group: 5 });
    await exporter.run();
    const fs = new SimFs(52);
    const seen: bigint[] = [];
    const r = await replicate(await nats(), { stream: exporter.stream, dir: '/attested', publicKeys: [store.publicKey!], fs, signal: new AbortController().signal, follow: false, onProgress: (p) => p.attestation !== undefined && seen.push(p.attestation.globalSequence) });
    // The last catch-up batch ends with an attestation of everything; earlier ones came every 20 events or more.
    expect(r.attestation?.globalSequence).toBe(45n);
    expect(seen[0]).toBeGreaterThanOrEqual(20n);
    const replica = await Store.openReadOnly('/attested', { fs, trustedPublicKeys: [store.publicKey!] });
    const report = await replica.verifyChain({ expect: r.attestation! });
    expect(report.attestation?.status).toBe('extends');
    await replica.close();
    await store.close();
  }, 60_000);

  it('a format-1 export is ERR_NOT_REPLICABLE; readers still read it', async () => {
    const { store, exporter } = await primary(31, { wireFormat: 1 });
    await fill(store, 3, { group: 3 });
    await exporter.run();
    const err = await replicate(await nats(), { stream: exporter.stream, dir: '/old', publicKeys: [store.publicKey!], fs: new SimFs(32), signal: new AbortController().signal, follow: false }).catch((e: unknown) => e);
    expect(isNatsbatError(err, 'ERR_NOT_REPLICABLE')).toBe(true);
    await store.close();
  }, 60_000);

  it('rejects bad options with ERR_INVALID_OPTION', async () => {
    const nc = await nats();
    const signal = new AbortController().signal;
    await expect(replicate(nc, { stream: 'S', dir: '/x', publicKeys: [], fs: new SimFs(1), signal })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(replicate(nc, { stream: '', dir: '/x', publicKeys: [SEED], signal })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(replicate(nc, { stream: 'S', dir: '/x', publicKeys: [SEED] } as unknown as ReplicateOptions)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });
});
