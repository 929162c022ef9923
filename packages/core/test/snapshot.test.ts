// Online snapshot (INV-SNAPSHOT-ATOMIC, INV-ATTEST-EXTENDS): a consistent committed prefix copied while
// writers go on; the copy opens, verifies, and the live store provably extends the copy's attestation.
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store, verifyAttestation } from '../src/index.js';
import { publicKeyFromSeed } from '../src/crypto/ed25519.js';
import { SimFs } from '../src/entry/testing.js';

const Note = defineEvent<{ n: number }>({ category: 4, typeId: 1, name: 'Note' });
const seed = new Uint8Array(32).fill(21);
const pk = publicKeyFromSeed(seed);

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof BatpakError)) throw err;
    return err.code;
  }
  return undefined;
}

describe('store.snapshot (INV-SNAPSHOT-ATOMIC)', () => {
  it('copies a consistent prefix while appends go on; the copy verifies and the live store extends it', async () => {
    const fs = new SimFs(1);
    const store = await Store.open({ dir: '/db', fs, signingKey: seed, segmentMaxBytes: 1500 });
    for (let i = 0; i < 40; i++) await store.append(new Coordinate(`e${i % 3}`, 's'), Note, { n: i });
    const writers = Array.from({ length: 30 }, (_, i) => store.append(new Coordinate(`e${i % 3}`, 's'), Note, { n: 100 + i }));
    const progress: number[] = [];
    const snapping = store.snapshot('/backup/db1', { onProgress: (done) => progress.push(done), label: 'db1' });
    for (let i = 0; i < 10; i++) writers.push(store.append(new Coordinate('late', 's'), Note, { n: 200 + i }));
    const snap = await snapping;
    await Promise.all(writers);
    expect(snap.events).toBeGreaterThanOrEqual(40n);
    expect(snap.attestation).toBeDefined();
    const att = snap.attestation!;
    expect(att.globalSequence).toBe(snap.globalSequence);
    expect(att.eventCount).toBe(snap.events);
    expect(att.label).toBe('db1');
    expect(verifyAttestation(att, [pk]).status).toBe('valid');
    expect(progress[progress.length - 1]).toBe(Number(snap.bytes));
    expect(fs.listFiles().some((f) => f.startsWith('/backup/db1.snapshot-partial'))).toBe(false);
    // The copy holds no lock, checkpoint or pending marker, only the store's files.
    expect(fs.listFiles().filter((f) => f.startsWith('/backup/db1/')).every((f) => f.endsWith('.bps'))).toBe(true);

    const copy = await Store.openReadOnly('/backup/db1', { fs, trustedPublicKeys: [pk] });
    expect(copy.lastSequence).toBe(snap.globalSequence);
    expect((await copy.verifyChain()).intact).toBe(true);
    expect((await copy.verifyChain({ expect: att })).attestation?.status).toBe('extends');
    const live = await store.verifyChain({ expect: att });
    expect(live.attestation?.status).toBe('extends');
    expect(store.lastSequence).toBeGreaterThan(snap.globalSequence);
    await copy.close();
    await store.close();
  });

  it('refuses a destination that exists, and validates its arguments', async () => {
    const fs = new SimFs(2);
    const store = await Store.open({ dir: '/db', fs, signingKey: seed });
    await store.append(new Coordinate('a', 's'), Note, { n: 1 });
    await fs.mkdir('/taken', { recursive: true });
    expect(await code(store.snapshot('/taken'))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(store.snapshot(''))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(store.snapshot('/x', { label: 'y'.repeat(300) }))).toBe('ERR_INVALID_ARGUMENT');
    await store.close();
  });

  it('an aborted snapshot publishes nothing', async () => {
    const fs = new SimFs(3);
    const store = await Store.open({ dir: '/db', fs, signingKey: seed });
    await store.append(new Coordinate('a', 's'), Note, { n: 1 });
    const ac = new AbortController();
    ac.abort();
    expect(await code(store.snapshot('/snap', { signal: ac.signal }))).toBe('ERR_ABORTED');
    expect(await fs.stat('/snap')).toBeNull();
    await store.close();
  });

  it('a keyless store snapshots without an attestation; a partial directory left by a crash is reused', async () => {
    const fs = new SimFs(4);
    const store = await Store.open({ dir: '/db', fs });
    for (let i = 0; i < 5; i++) await store.append(new Coordinate('a', 's'), Note, { n: i });
    await fs.mkdir('/snap.snapshot-partial', { recursive: true });
    fs.putFile('/snap.snapshot-partial/000001.bps', new Uint8Array(10));
    const snap = await store.snapshot('/snap');
    expect(snap.attestation).toBeUndefined();
    const copy = await Store.openReadOnly('/snap', { fs });
    expect(copy.lastSequence).toBe(5n);
    expect((await copy.verifyChain()).intact).toBe(true);
    await copy.close();
    await store.close();
  });

  it('a shredded scope stays shredded in the copy; other payloads read', async () => {
    const fs = new SimFs(5);
    const store = await Store.open({ dir: '/db', fs, signingKey: seed, payloadEncryption: {} });
    const a = await store.append(new Coordinate('alice', 's'), Note, { n: 1 });
    const b = await store.append(new Coordinate('bob', 's'), Note, { n: 2 });
    expect((await store.shredScope({ entity: 'alice' })).status).toBe('destroyed');
    const snap = await store.snapshot('/snap');
    const copy = await Store.openReadOnly('/snap', { fs, trustedPublicKeys: [pk], payloadEncryption: {} });
    expect(await code(copy.get(a.eventId))).toBe('ERR_PAYLOAD_SHREDDED');
    expect((await copy.get<{ n: number }>(b.eventId)).payload).toEqual({ n: 2 });
    expect((await copy.verifyChain({ expect: snap.attestation! })).intact).toBe(true);
    await copy.close();
    await store.close();
  });

  it('copies compaction.log, so a compacted store snapshots into a store that opens', async () => {
    const fs = new SimFs(6);
    const store = await Store.open({ dir: '/db', fs, signingKey: seed, segmentMaxBytes: 1024 });
    for (let i = 0; i < 40; i++) await store.append(new Coordinate(`e${i % 3}`, 's'), Note, { n: i });
    const before = await store.attest();
    expect((await store.compact({ strategy: 'retention', keep: (e) => (e.payload as { n: number }).n % 2 === 0 })).eventsDropped).toBeGreaterThan(0);
    const snap = await store.snapshot('/snap');
    const copy = await Store.openReadOnly('/snap', { fs, trustedPublicKeys: [pk] });
    expect((await copy.verifyChain({ expect: before })).attestation?.status).toBe('extends');
    expect((await copy.verifyChain({ expect: snap.attestation! })).intact).toBe(true);
    await copy.close();
    await store.close();
  });

  it('works from a read-only store beside the writer', async () => {
    const fs = new SimFs(7);
    const store = await Store.open({ dir: '/db', fs, signingKey: seed });
    for (let i = 0; i < 6; i++) await store.append(new Coordinate('a', 's'), Note, { n: i });
    const ro = await Store.openReadOnly('/db', { fs, signingKey: seed });
    const snap = await ro.snapshot('/snap');
    expect(snap.events).toBe(6n);
    expect((await store.verifyChain({ expect: snap.attestation! })).attestation?.status).toBe('extends');
    await ro.close();
    await store.close();
  });
});
