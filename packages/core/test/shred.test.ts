// Crypto-shred (issue #5): per-scope XChaCha20-Poly1305 sealing, a durable fail-closed keyset, and
// shredScope making payloads unrecoverable while chain, receipts and signatures keep verifying.
import { inspect } from 'node:util';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store, verifyReceiptClaim, type KeyStore } from '../src/index.js';
import { SimFs, KillableFs } from '../src/entry/testing.js';
import { Keyset } from '../src/keyset/keyset.js';
import { encodeKeyset } from '../src/keyset/file.js';
import { decodeFrameBody, encodeEventFrame } from '../src/segment/frame.js';
import { blake3 } from '../src/crypto/blake3.js';

const Note = defineEvent<{ text: string }>({ category: 3, typeId: 1, name: 'Note' });
const Other = defineEvent<{ text: string }>({ category: 4, typeId: 2, name: 'Other' });
const alice = new Coordinate('user:alice', 'profile');
const bob = new Coordinate('user:bob', 'profile');
const KEY = new Uint8Array(32).fill(5);

async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<BatpakError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(BatpakError);
    expect((err as BatpakError).code).toBe(code);
    return err as BatpakError;
  }
  throw new Error(`expected ${code}`);
}

const segmentBytes = (fs: SimFs) =>
  Buffer.concat(fs.listFiles().filter((f) => f.endsWith('.bps')).map((f) => Buffer.from(fs.inspect(f)!.current)));

describe('payload encryption', () => {
  it('round-trips, and no plaintext reaches the segment files', async () => {
    const fs = new SimFs(1);
    const store = await Store.open({ dir: '/s', fs, payloadEncryption: { granularity: 'entity' } });
    const r = await store.append(alice, Note, { text: 'MARKER-secret-plaintext' });
    const raw = await store.appendRaw(bob, { category: 3, typeId: 9 }, Buffer.from('RAW-MARKER-bytes'));
    expect((await store.get(r.eventId)).payload).toEqual({ text: 'MARKER-secret-plaintext' });
    expect((await store.get(raw.eventId)).payload).toEqual(new Uint8Array(Buffer.from('RAW-MARKER-bytes')));
    const stored = await store.getRaw(r.eventId);
    expect(stored.header.encrypted).toBe(true);
    expect(blake3(stored.bytes)).toEqual(r.contentHash);
    expect(store.stats().keys).toBe(2);
    const disk = segmentBytes(fs);
    expect(disk.indexOf('MARKER')).toBe(-1);
    expect(disk.indexOf('secret')).toBe(-1);
    await store.close();
  });

  it('binds a ciphertext to its event: moved onto another event it fails authentication', async () => {
    const fs = new SimFs(2);
    const store = await Store.open({ dir: '/s', fs, payloadEncryption: {} });
    const a = await store.append(alice, Note, { text: 'aaaa' });
    const b = await store.append(alice, Note, { text: 'bbbb' });
    await store.close();
    // Put a's ciphertext (and nonce) into b's frame, fixing b's content hash and CRC so only the AEAD can tell.
    const path = '/s/000001.bps';
    const bytes = new Uint8Array(fs.inspect(path)!.current);
    const frames: { pos: number; len: number; f: ReturnType<typeof decodeFrameBody> }[] = [];
    for (let pos = 32; pos < bytes.length; ) {
      const len = new DataView(bytes.buffer, bytes.byteOffset + pos).getUint32(4);
      frames.push({ pos, len, f: decodeFrameBody(bytes.slice(pos + 12, pos + 12 + len)) });
      pos += 12 + len;
    }
    const fa = frames.find((x) => x.f.type === 0 && Buffer.from(x.f.id).toString('hex') === a.eventId)!.f as Parameters<typeof encodeEventFrame>[0];
    const xb = frames.find((x) => x.f.type === 0 && Buffer.from(x.f.id).toString('hex') === b.eventId)!;
    const forged = encodeEventFrame({ ...(xb.f as Parameters<typeof encodeEventFrame>[0]), payload: fa.payload, contentHash: blake3(fa.payload), encryption: fa.encryption });
    expect(forged.length).toBe(12 + xb.len);
    bytes.set(forged, xb.pos);
    fs.putFile(path, bytes);
    const again = await Store.open({ dir: '/s', fs, payloadEncryption: {} });
    await expectCode(again.get(b.eventId), 'ERR_PAYLOAD_DECRYPT_FAILED');
    expect((await again.get(a.eventId)).payload).toEqual({ text: 'aaaa' });
    await again.close();
  });

  it('INV-KEY-AWARE-READS: a sealed payload is never returned as plaintext by a store opened without encryption', async () => {
    const fs = new SimFs(3);
    const s1 = await Store.open({ dir: '/s', fs, payloadEncryption: {} });
    const r = await s1.append(alice, Note, { text: 'x' });
    await s1.close();
    const s2 = await Store.openReadOnly('/s', { fs });
    await expectCode(s2.get(r.eventId), 'ERR_ENCRYPTION_NOT_CONFIGURED');
    expect((await s2.getRaw(r.eventId)).header.encrypted).toBe(true);
    await s2.close();
  });
});

describe('shredScope', () => {
  it('INV-SHRED-DESTROYS-PLAINTEXT, INV-KEY-AWARE-READS: payload gone, chain intact, receipts verify, siblings decrypt, survives reopen', async () => {
    const fs = new SimFs(4);
    const store = await Store.open({ dir: '/s', fs, signingKey: KEY, payloadEncryption: { granularity: 'entity' } });
    const ra = [await store.append(alice, Note, { text: 'alice-1' }), await store.append(alice, Other, { text: 'alice-2' })];
    const rb = await store.append(bob, Note, { text: 'bob-1' });
    const rawBefore = (await store.getRaw(ra[0]!.eventId)).bytes;
    expect(await store.shredScope({ entity: alice })).toMatchObject({ status: 'destroyed', destroyed: 1 });
    expect(store.stats().keys).toBe(1);
    await expectCode(store.get(ra[0]!.eventId), 'ERR_PAYLOAD_SHREDDED');
    await expectCode(store.get(ra[1]!.eventId), 'ERR_PAYLOAD_SHREDDED');
    expect((await store.getRaw(ra[0]!.eventId)).bytes).toEqual(rawBefore);
    expect((await store.get(rb.eventId)).payload).toEqual({ text: 'bob-1' });
    const listed = [];
    for await (const e of store.query({ entity: 'user:alice' })) listed.push([e.shredded, e.payload]);
    expect(listed).toEqual([[true, undefined], [true, undefined]]);
    const walk = await store.walkAncestors(ra[1]!.eventId);
    expect(walk.boundary.kind).toBe('reached-genesis');
    expect(walk.shredded).toEqual([ra[1]!.eventId, ra[0]!.eventId]);
    const report = await store.verifyChain();
    expect(report.intact).toBe(true);
    for (const r of [...ra, rb]) {
      expect(await store.verifyReceipt(r)).toEqual({ status: 'signed' });
      expect(verifyReceiptClaim(r, [store.publicKey!])).toEqual({ status: 'signed' });
    }
    // Shredding again destroys nothing, and says the scope was shredded before.
    expect(await store.shredScope({ entity: 'user:alice' })).toMatchObject({ status: 'already-shredded', destroyed: 0 });
    await store.close();

    const again = await Store.open({ dir: '/s', fs, signingKey: KEY, payloadEncryption: { granularity: 'entity' } });
    await expectCode(again.get(ra[0]!.eventId), 'ERR_PAYLOAD_SHREDDED');
    expect((await again.get(rb.eventId)).payload).toEqual({ text: 'bob-1' });
    // New events for the shredded entity get a new key generation and stay readable.
    const fresh = await again.append(alice, Note, { text: 'alice-3' });
    expect((await again.get(fresh.eventId)).payload).toEqual({ text: 'alice-3' });
    await expectCode(again.get(ra[0]!.eventId), 'ERR_PAYLOAD_SHREDDED');
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
  });

  it('INV-SYSTEM-PLAINTEXT: appends a chained, signed system event recording the shredded scope (never the key)', async () => {
    const fs = new SimFs(5);
    const store = await Store.open({ dir: '/s', fs, signingKey: KEY, payloadEncryption: {} });
    await store.append(alice, Note, { text: 'x' });
    await store.shredScope({ entity: alice });
    const system = [];
    for await (const e of store.query({ entity: 'batpak:store' })) system.push(e);
    expect(system).toHaveLength(1);
    const receipt = system[0]!;
    expect(receipt.header.kind).toEqual({ category: 0, typeId: 0x10 });
    expect(receipt.header.encrypted).toBe(false);
    expect(receipt.payload).toMatchObject({ granularity: 'entity', scope: `01${Buffer.from('user:alice').toString('hex')}` });
    expect((await store.verifyChain()).intact).toBe(true);
    await store.close();
  });

  it('INV-SHRED-SELECTOR, INV-SYSTEM-PLAINTEXT: a mismatched selector shreds nothing; without encryption it is refused', async () => {
    const fs = new SimFs(6);
    const store = await Store.open({ dir: '/s', fs, payloadEncryption: { granularity: 'entity' } });
    const r = await store.append(alice, Note, { text: 'keep' });
    await expectCode(store.shredScope({ kind: { category: 3, typeId: 1 } }), 'ERR_SHRED_SELECTOR_MISMATCH');
    await expectCode(store.shredScope({ eventId: r.eventId }), 'ERR_SHRED_SELECTOR_MISMATCH');
    expect((await store.get(r.eventId)).payload).toEqual({ text: 'keep' });
    await store.close();
    const byKind = await Store.open({ dir: '/k', fs, payloadEncryption: { granularity: 'type' } });
    await expectCode(byKind.shredScope({ kind: { category: 0, typeId: 0x10 } }), 'ERR_INVALID_KIND');
    await byKind.close();
    const plain = await Store.open({ dir: '/p', fs });
    await expectCode(plain.shredScope({ entity: alice }), 'ERR_ENCRYPTION_NOT_CONFIGURED');
    await plain.close();
  });

  it('each granularity shreds exactly its scope', async () => {
    const cases = [
      { granularity: 'category', selector: { kind: { category: 3, typeId: 77 } }, gone: ['a1', 'b1'], kept: ['a2'] },
      { granularity: 'type', selector: { kind: { category: 3, typeId: 1 } }, gone: ['a1', 'b1'], kept: ['a2'] },
      { granularity: 'event', selector: 'a1', gone: ['a1'], kept: ['b1', 'a2'] },
      { granularity: 'entity', selector: { entity: alice }, gone: ['a1', 'a2'], kept: ['b1'] },
    ] as const;
    for (const [i, c] of cases.entries()) {
      const store = await Store.open({ dir: '/s', fs: new SimFs(100 + i), payloadEncryption: { granularity: c.granularity } });
      const ids = {
        a1: (await store.append(alice, Note, { text: 'a1' })).eventId,
        b1: (await store.append(bob, Note, { text: 'b1' })).eventId,
        a2: (await store.append(alice, Other, { text: 'a2' })).eventId,
      };
      expect(await store.shredScope(c.selector === 'a1' ? { eventId: ids.a1 } : c.selector)).toMatchObject({ status: 'destroyed', granularity: c.granularity });
      for (const g of c.gone) await expectCode(store.get(ids[g]), 'ERR_PAYLOAD_SHREDDED');
      for (const k of c.kept) expect((await store.get(ids[k])).payload).toEqual({ text: k });
      expect((await store.verifyChain()).intact).toBe(true);
      await store.close();
    }
  });
});

describe('keyset durability', () => {
  it('INV-KEYSET-FAIL-CLOSED: each of the five corruptions refuses to open with ERR_CORRUPT_KEYSET', async () => {
    const base = new SimFs(7);
    const s = await Store.open({ dir: '/s', fs: base, payloadEncryption: { granularity: 'entity' } });
    const r = await s.append(alice, Note, { text: 'x' });
    await s.close();
    const good = base.inspect('/s/keyset.bpk')!.current;
    const bodyFix = (b: Uint8Array) => {
      const out = new Uint8Array(b);
      new DataView(out.buffer).setUint32(8, crc32(out.subarray(12)), true);
      return out;
    };
    const variants: Record<string, Uint8Array> = {
      magic: (() => { const b = new Uint8Array(good); b[0]! ^= 1; return b; })(),
      version: (() => { const b = new Uint8Array(good); b[6] = 2; return b; })(),
      crc: (() => { const b = new Uint8Array(good); b[b.length - 1]! ^= 1; return b; })(),
      decode: bodyFix(new Uint8Array([...good.subarray(0, 12), 0xc1, 0xc1, 0xc1])),
      granularity: encodeKeyset({ granularity: 'category', keys: [], destroyed: [] }),
      short: good.subarray(0, 7),
    };
    for (const [name, bytes] of Object.entries(variants)) {
      const fs = new SimFs(8);
      for (const f of base.listFiles()) fs.putFile(f, base.inspect(f)!.current);
      fs.putFile('/s/keyset.bpk', bytes);
      const err = await expectCode(Store.open({ dir: '/s', fs, payloadEncryption: { granularity: 'entity' } }), 'ERR_CORRUPT_KEYSET');
      expect(err.message, name).toMatch(/keyset/);
      // Nothing was re-minted or rewritten.
      expect(fs.inspect('/s/keyset.bpk')!.current).toEqual(bytes);
    }
    const ok = await Store.open({ dir: '/s', fs: base, payloadEncryption: { granularity: 'entity' } });
    expect((await ok.get(r.eventId)).payload).toEqual({ text: 'x' });
    await ok.close();
  });

  it('INV-KEY-FENCE: a key whose flush failed is flushed by the next append before it is acknowledged', async () => {
    const sim = new SimFs(9);
    const proc = new KillableFs(sim);
    const store = await Store.open({ dir: '/s', fs: proc, payloadEncryption: {} });
    sim.failOn('rename', 1, 'EIO');
    await expectCode(store.append(alice, Note, { text: 'first' }), 'ERR_IO');
    expect(store.stats().events).toBe(0n);
    // The key minted by the failed append is reused by this one; the fence must flush it again.
    const second = await store.append(alice, Note, { text: 'second' });
    proc.kill();
    sim.crash();
    const again = await Store.open({ dir: '/s', fs: new KillableFs(sim), payloadEncryption: {} });
    expect((await again.get(second.eventId)).payload).toEqual({ text: 'second' });
    await again.close();
  });

  it('a lost keyset fails closed per event (ERR_KEYSET_MISSING) and never re-mints a used generation', async () => {
    const fs = new SimFs(10);
    const s1 = await Store.open({ dir: '/s', fs, payloadEncryption: {} });
    const old = await s1.append(alice, Note, { text: 'old' });
    await s1.close();
    await fs.remove('/s/keyset.bpk');
    await fs.syncDir('/s');
    const s2 = await Store.open({ dir: '/s', fs, payloadEncryption: {} });
    await expectCode(s2.get(old.eventId), 'ERR_KEYSET_MISSING');
    const fresh = await s2.append(alice, Note, { text: 'fresh' });
    expect((await s2.getRaw(fresh.eventId)).header.encrypted).toBe(true);
    expect((await s2.get(fresh.eventId)).payload).toEqual({ text: 'fresh' });
    await expectCode(s2.get(old.eventId), 'ERR_KEYSET_MISSING');
    await s2.close();
  });

  it('the destroyed key does not remain in the keyset file; keys never appear in inspect, toString or JSON', async () => {
    const fs = new SimFs(11);
    const store = await Store.open({ dir: '/s', fs, payloadEncryption: {} });
    await store.append(alice, Note, { text: 'x' });
    await store.append(bob, Note, { text: 'y' });
    const image = fs.inspect('/s/keyset.bpk')!.current;
    const ks = await Keyset.load({ name: 'mem', load: async () => new Uint8Array(image), persist: async () => undefined }, 'entity');
    const aliceScope = new Uint8Array([1, ...Buffer.from('user:alice')]);
    const bobScope = new Uint8Array([1, ...Buffer.from('user:bob')]);
    const aliceKey = Buffer.from((ks.lookup(aliceScope, 0) as { key: Uint8Array }).key);
    const bobKey = Buffer.from((ks.lookup(bobScope, 0) as { key: Uint8Array }).key);
    expect(Buffer.from(image).indexOf(aliceKey)).toBeGreaterThan(0);
    for (const text of [inspect(ks), String(ks), JSON.stringify(ks), inspect(store), JSON.stringify(store.stats(), (_k, v) => (typeof v === 'bigint' ? String(v) : v))]) {
      expect(text.includes(aliceKey.toString('hex'))).toBe(false);
      expect(text.includes(aliceKey.toString('base64'))).toBe(false);
    }
    await store.shredScope({ entity: alice });
    const after = Buffer.from(fs.inspect('/s/keyset.bpk')!.current);
    expect(after.indexOf(aliceKey)).toBe(-1);
    expect(after.indexOf(bobKey)).toBeGreaterThan(0);
    await store.close();
  });

  it('keys can live in another KeyStore (a separate volume, a KMS): nothing key-related is written to the data dir', async () => {
    let image: Uint8Array | undefined;
    const keyStore: KeyStore = { name: 'memory', load: async () => image, persist: async (b) => void (image = new Uint8Array(b)) };
    const fs = new SimFs(12);
    const store = await Store.open({ dir: '/s', fs, payloadEncryption: { keyStore } });
    const r = await store.append(alice, Note, { text: 'elsewhere' });
    expect(image).toBeDefined();
    expect(fs.listFiles().some((f) => f.includes('keyset'))).toBe(false);
    await store.close();
    const again = await Store.open({ dir: '/s', fs, payloadEncryption: { keyStore } });
    expect((await again.get(r.eventId)).payload).toEqual({ text: 'elsewhere' });
    await again.shredScope({ entity: alice });
    await again.close();
    const third = await Store.open({ dir: '/s', fs, payloadEncryption: { keyStore } });
    await expectCode(third.get(r.eventId), 'ERR_PAYLOAD_SHREDDED');
    await third.close();
  });
});
