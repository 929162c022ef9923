// Head attestations (INV-ATTEST-SIGNED, INV-ATTEST-EXTENDS, INV-ATTEST-JSON): a signed statement of a
// store's log that verifies offline, and verifyChain({ expect }) proving a store still extends it —
// truncation, a deleted segment, a rollback and a rewritten prefix each fail with their reason.
import { cp, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  attestationFromJSON,
  attestationToJSON,
  BatpakError,
  Coordinate,
  defineEvent,
  HeadCommitment,
  Store,
  verifyAttestation,
  type HeadAttestation,
  type StoreOptions,
} from '../src/index.js';
import { publicKeyFromSeed } from '../src/crypto/ed25519.js';
import { SimFs } from '../src/entry/testing.js';
import { scanSegment } from '../src/segment/scan.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/event-index/checkpoint.js';
import { encodeEventFrame, type EventFrame } from '../src/segment/frame.js';
import { tempDir } from './helpers/tmp.js';

const Note = defineEvent<{ n: number }>({ category: 4, typeId: 1, name: 'Note' });
const seedA = new Uint8Array(32).fill(11);
const seedB = new Uint8Array(32).fill(12);
const pkA = publicKeyFromSeed(seedA);
const pkB = publicKeyFromSeed(seedB);

async function code(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    if (!(err instanceof BatpakError)) throw err;
    return err.code;
  }
  return undefined;
}

async function fill(store: Store, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) await store.append(new Coordinate(`e${i % 4}`, 's'), Note, { n: i });
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.bps')).sort();
}

/** Re-encodes the first event frame of the first segment (same length expected), CRC included. */
function rewriteFirstFrame(fs: SimFs, change: (f: EventFrame) => EventFrame): void {
  const seg = fs.listFiles().filter((f) => f.endsWith('.bps')).sort()[0]!;
  const bytes = new Uint8Array(fs.inspect(seg)!.current);
  const first = scanSegment(bytes, { file: seg, allowTornTail: true }).frames[0]!;
  if (first.frame.type !== 0) throw new Error('expected an event frame');
  const forged = encodeEventFrame(change(first.frame));
  expect(forged.length).toBe(first.length);
  bytes.set(forged, first.offset);
  fs.putFile(seg, bytes);
}

function options(dir: string, extra: Partial<StoreOptions> = {}): StoreOptions {
  return { dir, segmentMaxBytes: 2048, onWarning: () => undefined, ...extra };
}

describe('store.attest (INV-ATTEST-SIGNED)', () => {
  it('needs a signing key', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(1) });
    await fill(store, 0, 2);
    expect(await code(store.attest())).toBe('ERR_SIGNING_KEY_REQUIRED');
    await store.close();
  });

  it('verifies offline with only the public key; any changed field or another key is invalid', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(2), signingKey: seedA });
    await fill(store, 0, 7);
    const att = await store.attest({ label: 'orders-eu' });
    expect(att.globalSequence).toBe(7n);
    expect(att.eventCount).toBe(7n);
    expect(att.label).toBe('orders-eu');
    expect(verifyAttestation(att, [pkA])).toEqual({ status: 'valid' });
    expect(verifyAttestation(att, [pkB]).status).toBe('invalid');
    expect(verifyAttestation(att, [pkB, pkA])).toEqual({ status: 'valid' });
    const tampered: HeadAttestation[] = [
      { ...att, globalSequence: 8n },
      { ...att, eventCount: 6n },
      { ...att, head: att.head.map((b, i) => (i === 0 ? b ^ 1 : b)) },
      { ...att, attestedAt: att.attestedAt + 1n },
      { ...att, label: 'orders-us' },
    ];
    for (const t of tampered) expect(verifyAttestation(t, [pkA])).toEqual({ status: 'invalid', reason: 'signature: does not verify' });
    expect(verifyAttestation({ ...att, keyId: 'zz' }, [pkA])).toEqual({ status: 'invalid', reason: 'keyId: malformed' });
    expect(await code(() => verifyAttestation(att, ['nope' as unknown as Uint8Array]))).toBe('ERR_INVALID_ARGUMENT');
    await store.close();
  });

  it('JSON round-trips exactly and parses strictly', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(3), signingKey: seedA });
    await fill(store, 0, 3);
    const att = await store.attest();
    const json = JSON.stringify(attestationToJSON(att));
    expect(attestationFromJSON(json)).toEqual(att);
    expect(attestationFromJSON(JSON.parse(json))).toEqual(att);
    const o = JSON.parse(json) as Record<string, unknown>;
    for (const bad of [{ ...o, extra: 1 }, { ...o, v: 2 }, { ...o, globalSequence: 3 }, { ...o, head: 'AB' }, { ...o, eventCount: '4' }, { ...o, signature: undefined }]) {
      expect(await code(() => attestationFromJSON(bad))).toBe('ERR_INVALID_ATTESTATION');
    }
    expect(await code(() => attestationFromJSON('{'))).toBe('ERR_INVALID_ATTESTATION');
    expect(await code(() => attestationToJSON({ ...att, head: new Uint8Array(3) }))).toBe('ERR_INVALID_ATTESTATION');
    await store.close();
  });

  it('the head is the running hash over the receipts, recomputable from receipts alone', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(4), signingKey: seedA });
    const head = new HeadCommitment();
    for (let i = 0; i < 5; i++) head.addReceipt(await store.append(new Coordinate('e', 's'), Note, { n: i }));
    const att = await store.attest();
    expect(head.head).toEqual(att.head);
    expect(head.eventCount).toBe(att.eventCount);
    await store.close();
  });

  it('through: attests exactly a prefix, which the grown store extends; past the end is refused', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(11), signingKey: seedA });
    await fill(store, 0, 9);
    const att = await store.attest({ through: 4n });
    expect(att.globalSequence).toBe(4n);
    expect(att.eventCount).toBe(4n);
    expect((await store.verifyChain({ expect: att })).attestation?.status).toBe('extends');
    expect(await code(store.attest({ through: 10n }))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(store.attest({ through: -1n }))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(store.attest({ label: 'é'.repeat(200) }))).toBe('ERR_INVALID_ARGUMENT');
    await store.close();
  });

  it('attest and verifyChain({ expect }) write nothing: a crash at any point of them leaves the directory as it was', async () => {
    const fs = new SimFs(13);
    const w = await Store.open({ dir: '/s', fs, signingKey: seedA });
    await fill(w, 0, 12);
    await w.close();
    const before = fs.snapshot();
    const ro = await Store.openReadOnly('/s', { fs, signingKey: seedA });
    const att = await ro.attest();
    expect((await ro.verifyChain({ expect: att })).intact).toBe(true);
    await ro.close();
    const after = fs.snapshot();
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [path, info] of before) expect(after.get(path)!.current).toEqual(info.current);
  });

  it('HeadCommitment refuses out-of-order or malformed input with typed errors', async () => {
    const h = new HeadCommitment();
    h.add(2n, new Uint8Array(16), new Uint8Array(32));
    expect(await code(() => h.add(2n, new Uint8Array(16), new Uint8Array(32)))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(() => h.add(3 as unknown as bigint, new Uint8Array(16), new Uint8Array(32)))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(() => h.add(3n, new Uint8Array(15), new Uint8Array(32)))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(() => h.addReceipt({} as never))).toBe('ERR_INVALID_RECEIPT');
    expect(h.eventCount).toBe(1n);
  });

  it('refuses to vouch for a store that does not verify', async () => {
    const fs = new SimFs(5);
    const s1 = await Store.open({ dir: '/s', fs, signingKey: seedA, checkpoint: 'off' });
    await fill(s1, 0, 4);
    await s1.close();
    // Change a payload byte behind the store's back, frame CRC recomputed: only the content hash tells.
    rewriteFirstFrame(fs, (f) => ({ ...f, payload: f.payload.map((b, i) => (i === f.payload.length - 1 ? b ^ 1 : b)) }));
    const s2 = await Store.openReadOnly('/s', { fs, signingKey: seedA, checkpoint: 'off', onWarning: () => undefined });
    expect(await code(s2.attest())).toBe('ERR_CHAIN_VERIFICATION_FAILED');
    await s2.close();
  });
});

describe('verifyChain({ expect }) (INV-ATTEST-EXTENDS)', () => {
  it('a store extends its own attestation, also after more appends', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(6), signingKey: seedA });
    await fill(store, 0, 10);
    const att = await store.attest();
    await fill(store, 10, 5);
    const report = await store.verifyChain({ expect: att });
    expect(report.attestation).toEqual({ status: 'extends', globalSequence: 10n, eventCount: 10n });
    expect(report.intact).toBe(true);
    await store.close();
  });

  it('truncation (newest segment deleted) fails: truncated', async () => {
    const dir = await tempDir();
    const s = await Store.open(options(dir, { signingKey: seedA }));
    await fill(s, 0, 60);
    const att = await s.attest();
    await s.close();
    const segs = await segmentFiles(dir);
    expect(segs.length).toBeGreaterThan(2);
    await unlink(join(dir, segs[segs.length - 1]!));
    const ro = await Store.openReadOnly(dir, { trustedPublicKeys: [pkA], onWarning: () => undefined });
    const report = await ro.verifyChain({ expect: att });
    expect(report.intact).toBe(false);
    expect(report.attestation?.status).toBe('truncated');
    expect(report.attestation?.reason).toMatch(/truncated or rolled back/);
    await ro.close();
  });

  it('every segment deleted fails: truncated, 0 events', async () => {
    const dir = await tempDir();
    const s = await Store.open(options(dir, { signingKey: seedA }));
    await fill(s, 0, 30);
    const att = await s.attest();
    await s.close();
    for (const f of await segmentFiles(dir)) await unlink(join(dir, f));
    const ro = await Store.openReadOnly(dir, { trustedPublicKeys: [pkA], onWarning: () => undefined });
    const report = await ro.verifyChain({ expect: att });
    expect(report.intact).toBe(false);
    expect(report.attestation?.status).toBe('truncated');
    expect(report.attestation?.reason).toMatch(/ends at global sequence 0 \(0 events\)/);
    await ro.close();
  });

  it('a rollback to an older copy fails: truncated; a fork after it fails: diverged', async () => {
    const dir = await tempDir();
    const old = await tempDir();
    const s = await Store.open(options(dir, { signingKey: seedA }));
    await fill(s, 0, 20);
    await s.close();
    await rm(old, { recursive: true });
    await cp(dir, old, { recursive: true });
    const s2 = await Store.open(options(dir, { signingKey: seedA }));
    await fill(s2, 20, 20);
    const att = await s2.attest();
    await s2.close();
    // Roll back: the directory is replaced by the older copy.
    await rm(dir, { recursive: true });
    await cp(old, dir, { recursive: true });
    const ro = await Store.openReadOnly(dir, { trustedPublicKeys: [pkA], onWarning: () => undefined });
    const r1 = await ro.verifyChain({ expect: att });
    expect(r1.attestation?.status).toBe('truncated');
    expect(r1.intact).toBe(false);
    await ro.close();
    // Then the rolled-back copy is written to again (by the key holder, even): a fork, not an extension.
    const fork = await Store.open(options(dir, { signingKey: seedA }));
    await fill(fork, 100, 25);
    const r2 = await fork.verifyChain({ expect: att });
    expect(r2.intact).toBe(false);
    expect(r2.attestation?.status).toBe('diverged');
    expect(r2.attestation?.reason).toMatch(/differ from the attested ones/);
    await fork.close();
  });

  it('a deleted middle segment fails (the open refuses the hole, or the check reports it)', async () => {
    const dir = await tempDir();
    const s = await Store.open(options(dir, { signingKey: seedA }));
    await fill(s, 0, 60);
    const att = await s.attest();
    await s.close();
    const segs = await segmentFiles(dir);
    await unlink(join(dir, segs[0]!));
    const ro = await Store.openReadOnly(dir, { trustedPublicKeys: [pkA], onWarning: () => undefined }).catch((err: unknown) => err);
    if (ro instanceof Store) {
      const report = await ro.verifyChain({ expect: att });
      expect(report.intact).toBe(false);
      expect(report.attestation?.status).toBe('diverged');
      expect(report.attestation?.reason).toMatch(/attested events are missing/);
      await ro.close();
    } else {
      expect((ro as BatpakError).code).toBe('ERR_CORRUPT_SEGMENT');
    }
  });

  it('an attestation signed by an unknown key is unverified; a rotated-out key in trustedPublicKeys keeps it verifiable', async () => {
    const fs = new SimFs(7);
    const s1 = await Store.open({ dir: '/s', fs, signingKey: seedA });
    await fill(s1, 0, 6);
    const att = await s1.attest();
    await s1.close();
    const s2 = await Store.open({ dir: '/s', fs, signingKey: seedB });
    const r1 = await s2.verifyChain({ expect: att });
    expect(r1.attestation?.status).toBe('unverified');
    expect(r1.intact).toBe(false);
    await s2.close();
    const s3 = await Store.open({ dir: '/s', fs, signingKey: seedB, trustedPublicKeys: [pkA] });
    await fill(s3, 6, 3);
    const r2 = await s3.verifyChain({ expect: att });
    expect(r2.attestation?.status).toBe('extends');
    expect(r2.intact).toBe(true);
    // The new key's attestation also covers the old key's events.
    const att2 = await s3.attest();
    expect(verifyAttestation(att2, [pkB]).status).toBe('valid');
    await s3.close();
  });

  it('a rewritten event in the prefix (frame re-encoded, CRC fixed) fails: diverged', async () => {
    const fs = new SimFs(8);
    const s1 = await Store.open({ dir: '/s', fs, signingKey: seedA, checkpoint: 'off' });
    await fill(s1, 0, 5);
    const att = await s1.attest();
    await s1.close();
    // Same length: change the committed time by one (the payload and its hash untouched).
    rewriteFirstFrame(fs, (f) => ({ ...f, committedAt: f.committedAt + 1 }));
    const ro = await Store.openReadOnly('/s', { fs, trustedPublicKeys: [pkA], checkpoint: 'off', onWarning: () => undefined });
    const report = await ro.verifyChain({ expect: att });
    expect(report.intact).toBe(false);
    expect(report.attestation?.status).toBe('diverged');
    await ro.close();
  });
});

describe('verifyChain({ expect }) and a forged checkpoint (INV-ATTEST-EXTENDS)', () => {
  it('a checkpoint record deleted (CRC recomputed) never passes: the attestation check says diverged if the event was hidden', async () => {
    const fs = new SimFs(10);
    const s1 = await Store.open({ dir: '/s', fs, signingKey: seedA });
    await fill(s1, 0, 8);
    const att = await s1.attest();
    await s1.close();
    const image = fs.inspect('/s/index.checkpoint')!.current;
    const cp = decodeCheckpoint(image)!;
    fs.putFile('/s/index.checkpoint', encodeCheckpoint({ ...cp, entries: cp.entries.filter((_, i) => i !== 3) }));
    const ro = await Store.openReadOnly('/s', { fs, trustedPublicKeys: [pkA], onWarning: () => undefined });
    const report = await ro.verifyChain({ expect: att });
    // Never intact. Either the index believed the checkpoint and lost the event — then the attestation
    // names it — or the store saw through the forgery (the event is there, the checkpoint is damage).
    expect(report.intact).toBe(false);
    if (ro.stats().events === 7n) {
      expect(report.attestation?.status).toBe('diverged');
      expect(report.attestation?.reason).toMatch(/holds 7 events up to global sequence 8, the attestation 8/);
    } else {
      expect(report.attestation?.status).toBe('extends');
    }
    await ro.close();
  });
});

describe('attestations and compaction (INV-ATTEST-EXTENDS)', () => {
  it('retention that removes events committed unsigned (a declared keyless writer) keeps an earlier attestation verifiable', async () => {
    const fs = new SimFs(12);
    const first = await Store.open({ dir: '/s', fs, signingKey: seedA, segmentMaxBytes: 1024 });
    await first.declareSigningPolicy({ unsignedAppends: 'allowed' });
    await first.close();
    const keyless = await Store.open({ dir: '/s', fs, segmentMaxBytes: 1024, allowUnsignedAfterSigned: true });
    await fill(keyless, 0, 30);
    await keyless.close();
    const store = await Store.open({ dir: '/s', fs, signingKey: seedA, segmentMaxBytes: 1024 });
    await fill(store, 30, 10);
    const att = await store.attest();
    const result = await store.compact({ strategy: 'retention', keep: (e) => (e.payload as { n: number }).n % 2 === 0 });
    expect(result.eventsDropped).toBeGreaterThan(0);
    const report = await store.verifyChain({ expect: att });
    expect(report.attestation).toEqual({ status: 'extends', globalSequence: 41n, eventCount: 41n });
    await store.close();
  });

  for (const strategy of ['merge', 'retention', 'tombstone'] as const) {
    it(`an attestation made before a ${strategy} compaction still verifies after it`, async () => {
      const fs = new SimFs(9);
      const store = await Store.open({ dir: '/s', fs, signingKey: seedA, segmentMaxBytes: 1024 });
      await fill(store, 0, 40);
      const att = await store.attest();
      const result = await store.compact(
        strategy === 'merge'
          ? { strategy }
          : strategy === 'retention'
            ? { strategy, keep: (e) => (e.payload as { n: number }).n % 3 !== 0 }
            : { strategy, drop: (e) => (e.payload as { n: number }).n % 3 === 0 },
      );
      expect(result.outcome).toBe('performed');
      if (strategy === 'retention') expect(result.eventsDropped).toBeGreaterThan(0);
      const r1 = await store.verifyChain({ expect: att });
      expect(r1.attestation?.status).toBe('extends');
      expect(r1.intact).toBe(true);
      await store.close();
      // And from a read-only verifier holding only the public key.
      const ro = await Store.openReadOnly('/s', { fs, trustedPublicKeys: [pkA] });
      const r2 = await ro.verifyChain({ expect: att });
      expect(r2.attestation?.status).toBe('extends');
      // A later attestation covers the removed events through compaction's signed record.
      const after = await Store.open({ dir: '/s', fs, signingKey: seedA });
      const att2 = await after.attest();
      expect(att2.eventCount).toBe(att.eventCount);
      expect(att2.head).toEqual(att.head);
      await after.close();
      await ro.close();
    });
  }
});
