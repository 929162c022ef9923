// Store.openReplica / Replica.apply: a replica holds the primary's events exactly as written and refuses
// anything its keys did not sign (INV-REPLICA-VERIFIED), any hole or overlap (INV-REPLICA-CONTIGUOUS),
// and resumes after a crash right after its last whole group (INV-REPLICA-RESUME).

import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, isBatpakError, Store, type Replica } from '../src/index.js';
import { encodeEventFrame, decodeFrameBody, FRAME_HEADER_BYTES, type EventFrame } from '../src/entry/format.js';
import { SimFs } from '../src/entry/testing.js';

const Note = defineEvent<{ text: string }>({ category: 3, typeId: 1, name: 'Note' });
const SEED = new Uint8Array(32).fill(9);
const OTHER_SEED = new Uint8Array(32).fill(4);

/** A signed, encrypted primary with single appends, a batch, a shred and appends after it. */
async function primary(fs: SimFs): Promise<Store> {
  const store = await Store.open({ dir: '/primary', fs, signingKey: SEED, payloadEncryption: { granularity: 'entity' } });
  for (let i = 0; i < 4; i++) await store.append(new Coordinate(`user:${i % 2}`, 'notes'), Note, { text: `note ${i}` });
  await store.appendBatch([
    { coord: new Coordinate('user:0', 'notes'), kind: Note, payload: { text: "b1" } },
    { coord: new Coordinate('user:2', 'notes'), kind: Note, payload: { text: "b2" } },
  ]);
  await store.shredScope({ entity: 'user:1' });
  await store.append(new Coordinate('user:1', 'notes'), Note, { text: 'after the shred' });
  return store;
}

/** The primary's commit groups in log order: event frames, then the group's seal. */
async function groupsOf(store: Store): Promise<Uint8Array[][]> {
  const groups: Uint8Array[][] = [];
  let open: Uint8Array[] = [];
  for await (const e of store.query()) {
    const f = await store.replicationFrames(e.header.eventId);
    open.push(f.event);
    if (f.seal !== undefined) {
      groups.push([...open, f.seal]);
      open = [];
    }
  }
  expect(open).toEqual([]);
  return groups;
}

async function refusal(p: Promise<unknown>): Promise<BatpakError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(BatpakError);
  return err as BatpakError;
}

const segmentBytes = (fs: SimFs, dir: string) =>
  Buffer.concat(fs.listFiles().filter((f) => f.startsWith(`${dir}/`) && f.endsWith('.bps')).map((f) => Buffer.from(fs.inspect(f)!.current)));

/** Re-encodes an event frame with some fields changed (a valid frame with forged content). */
function forge(frame: Uint8Array, change: (f: EventFrame) => EventFrame): Uint8Array {
  const f = decodeFrameBody(frame.subarray(FRAME_HEADER_BYTES)) as EventFrame;
  return encodeEventFrame(change({ ...f }));
}

describe('INV-REPLICA-VERIFIED: a replica holds exactly what the primary signed', () => {
  it('matches the primary event for event (ids, sequences, hashes, links, ciphertext, original receipts) and verifies', async () => {
    const fs = new SimFs(1);
    const p = await primary(fs);
    const groups = await groupsOf(p);
    const replica = await Store.openReplica('/replica', { fs, publicKeys: [p.publicKey!] });
    for (const g of groups) expect((await replica.apply(g)).applied).toBe(g.length - 1);
    await replica.close();

    const r = await Store.openReadOnly('/replica', { fs, trustedPublicKeys: [p.publicKey!] });
    const report = await r.verifyChain();
    expect(report.intact).toBe(true);
    expect(report.signaturesChecked).toBe(report.eventsChecked);
    // Read by id (getRaw): a replica holds no key, so decoding reads of sealed payloads are refused there.
    const ours = [];
    const coords = new Map<string, string>();
    for await (const e of p.query()) {
      ours.push(e.header);
      coords.set(e.header.eventId, `${e.coordinate.entity}/${e.coordinate.scope}`);
    }
    expect(r.stats().events).toBe(BigInt(ours.length));
    for (const h of ours) expect((await r.getRaw(h.eventId)).header).toEqual(h);
    // The shred system event travelled too; every receipt is the primary's original, signature included.
    expect([...coords.values()]).toContain('batpak:store/batpak:shred');
    for (const h of ours) {
      expect(await r.receipt(h.eventId)).toEqual(await p.receipt(h.eventId));
      expect((await r.getRaw(h.eventId)).bytes).toEqual((await p.getRaw(h.eventId)).bytes);
    }
    // Ciphertext stays ciphertext: the replica has no key, so an encrypted payload does not open there.
    const sealed = ours.find((h) => coords.get(h.eventId) === 'user:0/notes')!;
    expect((await refusal(r.get(sealed.eventId))).code).toMatch(/ERR_KEYSET_MISSING|ERR_PAYLOAD_SHREDDED|ERR_ENCRYPTION_NOT_CONFIGURED|ERR_PAYLOAD_DECRYPT_FAILED/);
    await r.close();
    await p.close();
  });

  it('refuses, with nothing written, a tampered frame, a forged payload, another key and an unsigned group', async () => {
    const fs = new SimFs(2);
    const p = await primary(fs);
    const groups = await groupsOf(p);
    const replica = await Store.openReplica('/replica', { fs, publicKeys: [p.publicKey!] });
    await replica.apply(groups[0]!);
    const before = segmentBytes(fs, '/replica');
    const g = groups[1]!;

    const flipped = g.map((f) => f.slice());
    flipped[0]![flipped[0]!.length - 1]! ^= 1;
    expect((await refusal(replica.apply(flipped))).details.reason).toBe('malformed');

    // A well-formed frame whose payload was swapped: its content hash no longer matches.
    const swapped = [forge(g[0]!, (f) => ({ ...f, payload: new Uint8Array([1, 2, 3]) })), ...g.slice(1)];
    expect((await refusal(replica.apply(swapped))).details.reason).toBe('content-hash');

    // Payload and content hash changed together: only the signature can tell, and it does.
    const { blake3 } = await import('../src/index.js');
    const rehashed = [forge(g[0]!, (f) => ({ ...f, payload: new Uint8Array([7]), contentHash: blake3(new Uint8Array([7])) })), ...g.slice(1)];
    expect((await refusal(replica.apply(rehashed))).details.reason).toBe('signature');

    // The primary's own group, but the replica trusts another key.
    const stranger = await Store.open({ dir: '/stranger', fs, signingKey: OTHER_SEED });
    const strangerReplica = await Store.openReplica('/replica2', { fs, publicKeys: [stranger.publicKey!] });
    expect((await refusal(strangerReplica.apply(groups[0]!))).details.reason).toBe('signature');
    expect(strangerReplica.lastSequence).toBe(0n);
    await strangerReplica.close();
    await stranger.close();

    expect((await refusal(replica.apply(g.slice(0, -1).concat(g.slice(0, 1))))).code).toBe('ERR_REPLICA_REFUSED');
    expect((await refusal(replica.apply([g[0]!]))).code).toBe('ERR_REPLICA_REFUSED');

    // Compared whole with Buffer.equals: the active segment carries megabytes of preallocated zeros, too many bytes
    // for a deep equality to walk one by one.
    expect(segmentBytes(fs, '/replica').equals(before)).toBe(true);
    expect(replica.lastSequence).toBe(1n);
    // The refusals left the replica usable: the real group still applies.
    expect((await replica.apply(g)).applied).toBe(g.length - 1);
    await replica.close();
    await p.close();
  });
});

describe('INV-REPLICA-CONTIGUOUS: no hole, no overlap', () => {
  it('refuses a group that skips sequences; a group already held is a no-op', async () => {
    const fs = new SimFs(3);
    const p = await primary(fs);
    const groups = await groupsOf(p);
    const replica = await Store.openReplica('/replica', { fs, publicKeys: [p.publicKey!] });
    const gap = await refusal(replica.apply(groups[1]!));
    expect(gap.details).toMatchObject({ reason: 'sequence', expected: 1 });
    expect(replica.lastSequence).toBe(0n);
    await replica.apply(groups[0]!);
    await replica.apply(groups[1]!);
    expect(await replica.apply(groups[0]!)).toEqual({ applied: 0, lastSequence: 2n });
    await replica.close();
    await p.close();
  });

  it('refuses without keys', async () => {
    const fs = new SimFs(4);
    const err = await refusal(Store.openReplica('/replica', { fs, publicKeys: [] }));
    expect(err.code).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('INV-REPLICA-RESUME: a crashed replica resumes after its last whole group', () => {
  it('after a crash mid-stream it reopens at a group boundary, and catching up gives the primary exactly', async () => {
    for (const seed of [5, 6, 7, 8]) {
      const fs = new SimFs(seed);
      const p = await primary(fs);
      const groups = await groupsOf(p);
      const want = [];
      for await (const e of p.query()) want.push(e.header);
      await p.close();
      let replica: Replica = await Store.openReplica('/replica', { fs, publicKeys: [p.publicKey!], sync: 'none' });
      for (const g of groups.slice(0, 4)) await replica.apply(g);
      // Kill the process: unsynced bytes may be torn or lost.
      fs.crash({ tear: true });
      replica = await Store.openReplica('/replica', { fs, publicKeys: [p.publicKey!] });
      const boundaries = [0n];
      let n = 0n;
      for (const g of groups) boundaries.push((n += BigInt(g.length - 1)));
      expect(boundaries).toContain(replica.lastSequence);
      for (const g of groups) await replica.apply(g);
      await replica.close();
      const r = await Store.openReadOnly('/replica', { fs, trustedPublicKeys: [p.publicKey!] });
      expect((await r.verifyChain()).intact).toBe(true);
      expect(r.stats().events).toBe(BigInt(want.length));
      for (const h of want) expect((await r.getRaw(h.eventId)).header).toEqual(h);
      await r.close();
    }
  });

  it('a writable Store.open of the replica without the primary key is refused (it would fork the log)', async () => {
    const fs = new SimFs(9);
    const p = await primary(fs);
    const replica = await Store.openReplica('/replica', { fs, publicKeys: [p.publicKey!] });
    for (const g of await groupsOf(p)) await replica.apply(g);
    await replica.close();
    const err = await refusal(Store.open({ dir: '/replica', fs }));
    expect(isBatpakError(err, 'ERR_SIGNING_KEY_REQUIRED') || isBatpakError(err, 'ERR_ENCRYPTION_NOT_CONFIGURED')).toBe(true);
    await p.close();
  });
});
