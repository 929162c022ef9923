// INV-RUST-READ-VERIFY: the segment Rust batpak wrote (fixtures/rust-core/store-checkpoint-v5) opens read-only
// over RealFs and SimFs, yields its three events (two Rust lifecycle events around one user event), and verifyChain() is intact.
import { readFileSync } from 'node:fs';
import { copyFile, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blake3 } from '../src/crypto/blake3.js';
import { toHex } from '../src/encoding/hex.js';
import type { Fs } from '../src/fs/fs.js';
import { RealFs } from '../src/fs/real.js';
import { openRustStore, type RustStore } from '../src/rust/store.js';
import { SimFs } from '../src/entry/testing.js';
import type { StoredEvent } from '../src/types.js';
import { tempDir } from './helpers/tmp.js';

const FIXTURE = new URL('../../../fixtures/rust-core/store-checkpoint-v5/000001.fbat', import.meta.url);
const SEGMENT = new Uint8Array(readFileSync(FIXTURE));

const OPEN_ID = '019e355b096177919b6f5b15bbad39c3';
const USER_ID = '0000000000000000000000000000ad05';
const CLOSE_ID = '019e355b09697ea0a8505e2da660596d';

async function collect(it: AsyncIterable<StoredEvent>): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** An Fs that refuses every mutating call: proves the reader never writes into the Rust directory. */
function readOnlyFs(inner: Fs): Fs {
  const refuse = (op: string) => () => Promise.reject(new Error(`read-only test Fs: ${op} was called`));
  return {
    open: (path, options) => {
      if (options?.write === true || options?.create === true) return Promise.reject(new Error(`read-only test Fs: open(${path}) for writing`));
      return inner.open(path, options);
    },
    stat: (p) => inner.stat(p),
    readdir: (p) => inner.readdir(p),
    mkdir: refuse('mkdir'),
    rename: refuse('rename'),
    remove: refuse('remove'),
    syncDir: refuse('syncDir'),
    writeFileAtomic: refuse('writeFileAtomic'),
    lock: refuse('lock'),
  };
}

async function expectFixtureEvents(store: RustStore): Promise<void> {
  const events = await collect(store.query());
  expect(events.map((e) => e.header.eventId)).toEqual([OPEN_ID, USER_ID, CLOSE_ID]);
  expect(events.map((e) => e.header.globalSequence)).toEqual([0n, 1n, 2n]);
  expect(events.map((e) => `${e.coordinate.entity}@${e.coordinate.scope}`)).toEqual([
    'batpak:store@batpak:lifecycle',
    'entity:adr0009-checkpoint-v5@scope:fixture',
    'batpak:store@batpak:lifecycle',
  ]);
  // SYSTEM_OPEN_COMPLETED 0x0008, DATA 0x1000, SYSTEM_CLOSE_COMPLETED 0x0009
  expect(events.map((e) => e.header.kind)).toEqual([
    { category: 0, typeId: 8 },
    { category: 1, typeId: 0 },
    { category: 0, typeId: 9 },
  ]);
  const [open, user, close] = events as [StoredEvent, StoredEvent, StoredEvent];
  expect(user.payload).toEqual({ fixture: 'checkpoint-v5' });
  expect((open.payload as { path: string }).path).toBe('Rebuild');
  expect(close.payload).toEqual({ wall_ms: 1779011619177n, global_sequence: 1 });
  expect(toHex(open.header.contentHash).startsWith('c1a78a00')).toBe(true);
  expect(toHex(user.header.contentHash)).toMatch(/^0a7ddac6.*58b1$/);
  expect(user.header.prevHash).toEqual(new Uint8Array(32));
  expect(close.header.prevHash).toEqual(open.header.contentHash);
  expect(user.header.entitySequence).toBe(0n);
  expect(close.header.entitySequence).toBe(1n);
  expect(user.header.payloadVersion).toBe(0); // 9-key header: no payload_version on the wire
  expect(user.header.committedAt).toBe(1779011619177n);

  const info = store.rustEvent(USER_ID);
  expect(info.header.position).toEqual({ wallMs: 1779011619177n, counter: 0, depth: 3, lane: 5, sequence: 0 });
  expect(info.header.wire).toEqual({ contentHash: true, payloadVersion: false });
  expect([...info.receiptExtensions]).toEqual([['app.audit', Uint8Array.of(5, 3)]]);
  expect(info.location).toMatchObject({ segmentId: 1n, offset: 1076, length: 521 });
  expect(info.sequenceSource).toBe('scan');

  const raw = await store.getRaw(USER_ID);
  expect(raw.bytes.length).toBe(23);
  expect(blake3(raw.bytes)).toEqual(raw.header.contentHash);
  expect((await store.get(USER_ID)).payload).toEqual({ fixture: 'checkpoint-v5' });

  const report = await store.verifyChain();
  expect(report).toEqual({
    eventsChecked: 3,
    contentHashMismatches: [],
    danglingLinks: [],
    gaps: [],
    corruptFrames: [],
    missingEvents: [],
    signatureFailures: [],
    signaturesChecked: 0,
    keyIds: [],
    headersUnverified: 0,
    directoryDamage: [],
    intact: true,
  });
  expect((await store.verifyChain({ links: 'rust' })).intact).toBe(true);

  const [seg] = store.segments();
  expect(seg).toMatchObject({ id: 1n, footer: 'SDX2', footerTrusted: false, framesEnd: 2125, frames: 3, sequenceSource: 'scan', tornTail: undefined });
  expect(store.stats()).toMatchObject({ format: 'rust-batpak', events: 3n, segments: 1, bytes: 2701n, systemEvents: 2n, userEvents: 1n });
}

describe('Rust store reader: the checkpoint-v5 fixture', () => {
  it('INV-RUST-READ-VERIFY: opens read-only over RealFs (a temp copy) and yields its three events', async () => {
    const dir = await tempDir('batpak-rust-');
    await copyFile(FIXTURE, join(dir, '000001.fbat'));
    const before = await readFile(join(dir, '000001.fbat'));
    const mtime = (await stat(join(dir, '000001.fbat'))).mtimeMs;
    const store = await openRustStore(dir, { fs: readOnlyFs(new RealFs()) });
    await expectFixtureEvents(store);
    await store.close();
    // Nothing was written, created or locked in the Rust directory.
    expect(await readdir(dir)).toEqual(['000001.fbat']);
    expect(await readFile(join(dir, '000001.fbat'))).toEqual(before);
    expect((await stat(join(dir, '000001.fbat'))).mtimeMs).toBe(mtime);
  });

  it('INV-RUST-READ-VERIFY: opens over SimFs, ignoring regenerable index artifacts and other files', async () => {
    const fs = new SimFs(3);
    fs.putFile('/rust/000001.fbat', SEGMENT);
    fs.putFile('/rust/index.ckpt', Uint8Array.of(1, 2, 3));
    fs.putFile('/rust/index.fbati', Uint8Array.of(4, 5, 6));
    fs.putFile('/rust/.batpak.lock', new Uint8Array(0));
    fs.putFile('/rust/notes.txt', Uint8Array.of(7));
    const before = fs.stats().bytesWritten;
    const store = await openRustStore('/rust', { fs: readOnlyFs(fs) });
    await expectFixtureEvents(store);
    expect(fs.stats().bytesWritten).toBe(before);
    expect(fs.listFiles().sort()).toEqual(['/rust/.batpak.lock', '/rust/000001.fbat', '/rust/index.ckpt', '/rust/index.fbati', '/rust/notes.txt']);
  });

  it('filters, walks ancestors per entity and closes', async () => {
    const fs = new SimFs(4);
    fs.putFile('/rust/000001.fbat', SEGMENT);
    const store = await openRustStore('/rust', { fs });
    expect((await collect(store.query({ entity: 'batpak:store' }))).map((e) => e.header.eventId)).toEqual([OPEN_ID, CLOSE_ID]);
    expect((await collect(store.query({ kind: { category: 1 } }))).map((e) => e.header.eventId)).toEqual([USER_ID]);
    expect((await collect(store.query({ kind: { category: 0, typeId: 9 } }))).map((e) => e.header.eventId)).toEqual([CLOSE_ID]);
    expect((await collect(store.query({ scope: 'scope:fixture' }))).map((e) => e.header.eventId)).toEqual([USER_ID]);
    expect((await collect(store.query({ after: 0n }))).map((e) => e.header.eventId)).toEqual([USER_ID, CLOSE_ID]);
    expect((await collect(store.query({ limit: 1 }))).map((e) => e.header.eventId)).toEqual([OPEN_ID]);

    const walk = await store.walkAncestors(CLOSE_ID);
    expect(walk.ancestors.map((e) => e.header.eventId)).toEqual([CLOSE_ID, OPEN_ID]);
    expect(walk.boundary).toEqual({ kind: 'reached-genesis', eventId: OPEN_ID });
    expect((await store.walkAncestors(CLOSE_ID, { limit: 1 })).boundary).toEqual({ kind: 'limit-reached', eventId: OPEN_ID });
    expect((await store.walkAncestors('f'.repeat(32))).boundary.kind).toBe('no-anchor');

    await expect(store.get('f'.repeat(32))).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(store.get('nope')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await store.close();
    await expect(store.get(USER_ID)).rejects.toMatchObject({ code: 'ERR_STORE_CLOSED' });
    expect(() => store.stats()).toThrow(expect.objectContaining({ code: 'ERR_STORE_CLOSED' }));
  });

  it('refuses a directory with a pending Rust compaction, and a missing directory', async () => {
    const fs = new SimFs(5);
    fs.putFile('/rust/000001.fbat', SEGMENT);
    fs.putFile('/rust/compaction.pending', Uint8Array.of(1));
    await expect(openRustStore('/rust', { fs })).rejects.toMatchObject({ code: 'ERR_COMPACTION_RECOVERY_REFUSED' });
    await expect(openRustStore('/absent', { fs })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('an aborted signal stops the opening scan with ERR_ABORTED', async () => {
    const fs = new SimFs(7);
    fs.putFile('/rust/000001.fbat', SEGMENT);
    const ac = new AbortController();
    ac.abort();
    await expect(openRustStore('/rust', { fs, signal: ac.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });

  it('says so when Rust visibility ranges exist, since this reader does not apply them', async () => {
    const fs = new SimFs(6);
    fs.putFile('/rust/000001.fbat', SEGMENT);
    fs.putFile('/rust/visibility_ranges.fbv', Uint8Array.of(1));
    const store = await openRustStore('/rust', { fs });
    expect(store.warnings).toEqual([expect.stringMatching(/visibility_ranges\.fbv exists and is not applied/)]);
    expect(store.stats().warnings).toBe(1);
  });
});
