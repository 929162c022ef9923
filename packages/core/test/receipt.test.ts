// Signed append receipts (issue #3): cover bytes, group proofs, verdicts, policy, rotation, JSON.
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BatpakError,
  Coordinate,
  defineEvent,
  isSigned,
  isValid,
  receiptFromJSON,
  receiptToJSON,
  Store,
  verifyReceiptClaim,
  type AppendReceipt,
} from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { tempDir } from './helpers/tmp.js';
import { publicKeyFromSeed as publicKeyOf } from '../src/crypto/ed25519.js';

const Note = defineEvent<{ text: string }>({ category: 2, typeId: 1, name: 'Note' });
const seedA = new Uint8Array(32).fill(7);
const seedB = new Uint8Array(32).fill(9);
const c = (n: number) => new Coordinate(`doc:${n}`, 'notes');

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toSatisfy((e: unknown) => e instanceof BatpakError && e.code === code);
}

// ---- An independent verifier written from FORMAT.md § Receipts alone (no store code). ----
const enc = new TextEncoder();
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const u64 = (n: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(n); return b; };
function independentCover(r: AppendReceipt): Buffer {
  const kind = Buffer.alloc(2);
  kind.writeUInt16BE((r.kind.category << 12) | r.kind.typeId);
  const ext = [...(r.extensions ?? new Map())].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Buffer.concat([
    Buffer.from('batpak.receipt.v1\0'),
    Buffer.from(r.eventId, 'hex'),
    u64(r.globalSequence),
    u64(r.entitySequence),
    kind,
    u64(r.committedAt),
    u32(enc.encode(r.coordinate.entity).length), Buffer.from(r.coordinate.entity),
    u32(enc.encode(r.coordinate.scope).length), Buffer.from(r.coordinate.scope),
    r.prevHash,
    r.contentHash,
    u32(ext.length),
    ...ext.flatMap(([k, v]) => [u32(Buffer.byteLength(k)), Buffer.from(k), u32(v.length), Buffer.from(v)]),
  ]);
}
function independentVerify(r: AppendReceipt, publicKey: Uint8Array): boolean {
  let node = nobleBlake3(Buffer.concat([Buffer.from([0]), independentCover(r)]));
  r.groupProof!.siblings.forEach((sib, l) => {
    const right = Math.floor(r.groupProof!.index / 2 ** l) % 2 === 1;
    node = nobleBlake3(Buffer.concat([Buffer.from([1]), right ? sib : node, right ? node : sib]));
  });
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), publicKey]), format: 'der', type: 'spki' });
  if (Buffer.from(nobleBlake3(publicKey)).toString('hex') !== r.keyId) return false;
  return nodeVerify(null, Buffer.concat([Buffer.from('batpak.group.v1\0'), node]), key, r.signature!);
}

describe('signed receipts', () => {
  it('a receipt signed by the store verifies with plain node:crypto and only the public key', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(1), signingKey: seedA });
    // Concurrent appends share a commit group: proofs with siblings, one signature.
    const receipts = await Promise.all(Array.from({ length: 11 }, (_, i) => store.append(c(i % 3), Note, { text: `n${i}` })));
    const batch = await store.appendBatch([
      { coord: c(1), kind: Note, payload: { text: 'b0' } },
      { coord: c(2), kind: Note, payload: { text: 'b1' } },
    ]);
    const pub = store.publicKey!;
    expect(pub).toHaveLength(32);
    for (const r of [...receipts, ...batch]) {
      expect(r.signature).toHaveLength(64);
      expect(independentVerify(r, pub)).toBe(true);
      expect(verifyReceiptClaim(r, [pub])).toEqual({ status: 'signed' });
      expect(await store.verifyReceipt(r)).toEqual({ status: 'signed' });
    }
    expect(new Set(receipts.map((r) => Buffer.from(r.signature!).toString('hex'))).size).toBeLessThan(receipts.length);
    expect(receipts.some((r) => (r.groupProof?.siblings.length ?? 0) > 0)).toBe(true);
    expect((await store.verifyChain()).intact).toBe(true);
    await store.close();
  });

  it('tampering with any single field makes a signed receipt invalid, store-less and store-side', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(2), signingKey: seedA });
    const receipts = await Promise.all(Array.from({ length: 5 }, (_, i) => store.append(c(i), Note, { text: `t${i}` })));
    const pub = store.publicKey!;
    const flip = (b: Uint8Array, i: number) => { const x = new Uint8Array(b); x[i % x.length]! ^= 1 << (i % 8); return x; };
    const tamper: ((r: AppendReceipt, n: number) => AppendReceipt)[] = [
      (r, n) => ({ ...r, eventId: Buffer.from(flip(Buffer.from(r.eventId, 'hex'), n)).toString('hex') }),
      (r, n) => ({ ...r, globalSequence: r.globalSequence + BigInt(n + 1) }),
      (r, n) => ({ ...r, entitySequence: r.entitySequence + BigInt(n + 1) }),
      (r, n) => ({ ...r, kind: { category: r.kind.category, typeId: (r.kind.typeId + n + 1) % 4096 } }),
      (r) => ({ ...r, coordinate: { ...r.coordinate, entity: `${r.coordinate.entity}x` } }),
      (r) => ({ ...r, coordinate: { ...r.coordinate, scope: `${r.coordinate.scope}x` } }),
      (r, n) => ({ ...r, contentHash: flip(r.contentHash, n) }),
      (r, n) => ({ ...r, prevHash: flip(r.prevHash, n) }),
      (r, n) => ({ ...r, committedAt: r.committedAt + BigInt(n + 1) }),
      (r, n) => ({ ...r, signature: flip(r.signature!, n) }),
      (r, n) => ({ ...r, keyId: Buffer.from(flip(Buffer.from(r.keyId!, 'hex'), n)).toString('hex') }),
      (r, n) => ({ ...r, groupProof: { index: r.groupProof!.index + 1 + (n % 3), siblings: r.groupProof!.siblings } }),
      (r) => ({ ...r, extensions: new Map([['app.note', new Uint8Array([1])]]) }),
      (r) => { const { signature: _s, ...rest } = r; return rest; },
    ];
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: receipts.length - 1 }), fc.integer({ min: 0, max: tamper.length - 1 }), fc.nat(1000), async (ri, ti, n) => {
        const bad = tamper[ti]!(receipts[ri]!, n);
        expect(verifyReceiptClaim(bad, [pub]).status).toBe('invalid');
        const v = await store.verifyReceipt(bad);
        expect(v.status).toBe('invalid');
        expect(v.reason).toMatch(/^[a-zA-Z]+: /);
      }),
      { numRuns: 200 },
    );
    await store.close();
  });

  it('names the first field that disagrees', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(3), signingKey: seedA });
    const r = await store.append(c(1), Note, { text: 'x' });
    expect((await store.verifyReceipt({ ...r, contentHash: new Uint8Array(32) })).reason).toMatch(/^contentHash:/);
    expect((await store.verifyReceipt({ ...r, globalSequence: 99n, contentHash: new Uint8Array(32) })).reason).toMatch(/^globalSequence:/);
    expect((await store.verifyReceipt({ ...r, eventId: '0'.repeat(32) })).reason).toMatch(/^eventId:/);
    expect((await store.verifyReceipt({ ...r, signature: new Uint8Array(64) })).reason).toMatch(/^signature:/);
    await store.close();
  });

  it('INV-SIGN-POLICY: a keyless store gives unsigned-accepted receipts: valid but not signed', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(4) });
    const r = await store.append(c(1), Note, { text: 'x' });
    expect(r.signature).toBeUndefined();
    const v = await store.verifyReceipt(r);
    expect(v).toEqual({ status: 'unsigned-accepted' });
    expect(isValid(v)).toBe(true);
    expect(isSigned(v)).toBe(false);
    expect(verifyReceiptClaim(r, [])).toEqual({ status: 'unsigned-accepted' });
    expect(verifyReceiptClaim(r, [new Uint8Array(32).fill(1)]).status).toBe('invalid');
    expect(store.publicKey).toBeUndefined();
    await store.close();
  });

  it("INV-SIGN-POLICY: 'required' without a key refuses to open; with downgrade it is rejected; nothing is written", async () => {
    const fs = new SimFs(5);
    await expectCode(Store.open({ dir: '/s', fs, signingPolicy: 'required' }), 'ERR_SIGNING_KEY_REQUIRED');
    await expectCode(Store.open({ dir: '/s', fs, signingPolicy: 'required', signingKey: seedA, signingDowngradeAllowed: true }), 'ERR_INVALID_OPTION');
    expect(fs.listFiles().filter((f) => f.endsWith('.bps'))).toEqual([]);
    const ok = await Store.open({ dir: '/s', fs, signingPolicy: 'required', signingKey: seedA });
    await ok.close();
  });

  it('INV-SIGN-FAIL-CLOSED: a failing signer fails the append with ERR_SIGNING_FAILED and writes nothing', async () => {
    const fs = new SimFs(6);
    let fail = false;
    const real = await Store.open({ dir: '/k', fs: new SimFs(60), signingKey: seedA });
    const publicKey = real.publicKey!;
    await real.close();
    const { Ed25519Signer } = await import('../src/crypto/ed25519.js');
    const inner = new Ed25519Signer(seedA);
    const signer = { publicKey, sign: (m: Uint8Array) => { if (fail) throw new Error('HSM offline'); return inner.sign(m); } };
    const store = await Store.open({ dir: '/s', fs, signer });
    const good = await store.append(c(1), Note, { text: 'ok' });
    const before = store.stats();
    fail = true;
    await expectCode(store.append(c(1), Note, { text: 'nope' }), 'ERR_SIGNING_FAILED');
    await expectCode(store.appendBatch([{ coord: c(2), kind: Note, payload: { text: 'nope' } }]), 'ERR_SIGNING_FAILED');
    expect(store.stats()).toEqual(before);
    fail = false;
    const after = await store.append(c(1), Note, { text: 'ok2' });
    expect(after.prevHash).toEqual(good.contentHash);
    expect(after.globalSequence).toBe(good.globalSequence + 1n);
    await store.close();
    const again = await Store.open({ dir: '/s', fs, signer });
    expect(again.stats().events).toBe(2n);
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
  });

  it('with signingDowngradeAllowed a failing signer yields unsigned receipts marked as downgraded', async () => {
    const signer = { publicKey: new Uint8Array(32).fill(3), sign: (): Uint8Array => { throw new Error('HSM offline'); } };
    const warnings: string[] = [];
    const store = await Store.open({ dir: '/s', fs: new SimFs(7), signer, signingDowngradeAllowed: true, onWarning: (w) => warnings.push(w) });
    const r = await store.append(c(1), Note, { text: 'x' });
    expect(r.signature).toBeUndefined();
    expect(new TextDecoder().decode(r.extensions?.get('batpak.signing.downgrade'))).toContain('HSM offline');
    expect(await store.verifyReceipt(r)).toEqual({ status: 'unsigned-accepted' });
    expect(warnings.some((w) => w.includes('downgraded'))).toBe(true);
    await store.close();
  });

  it('keys rotate: reopened with a new key, old receipts verify against the old public key', async () => {
    const fs = new SimFs(8);
    const s1 = await Store.open({ dir: '/s', fs, signingKey: seedA });
    const oldPub = s1.publicKey!;
    const r1 = await s1.append(c(1), Note, { text: 'old' });
    await s1.close();
    const s2 = await Store.open({ dir: '/s', fs, signingKey: seedB, trustedPublicKeys: [oldPub] });
    const r2 = await s2.append(c(1), Note, { text: 'new' });
    expect(r2.keyId).not.toBe(r1.keyId);
    expect(await s2.verifyReceipt(r1)).toEqual({ status: 'signed' });
    expect(await s2.verifyReceipt(r2)).toEqual({ status: 'signed' });
    expect(verifyReceiptClaim(r1, [oldPub])).toEqual({ status: 'signed' });
    expect(verifyReceiptClaim(r1, [s2.publicKey!]).status).toBe('invalid');
    expect((await s2.verifyChain()).intact).toBe(true);
    await s2.close();
    const s3 = await Store.open({ dir: '/s', fs, signingKey: seedB });
    expect((await s3.verifyReceipt(r1)).reason).toMatch(/^keyId: unknown/);
    await s3.close();
  });

  it('receipts round-trip through portable JSON and still verify', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(9), signingKey: seedA });
    const rs = await Promise.all([1, 2, 3].map((i) => store.append(c(i), Note, { text: `j${i}` })));
    for (const r of rs) {
      const text = JSON.stringify(receiptToJSON(r));
      const back = receiptFromJSON(text);
      expect(back).toEqual(r);
      expect(verifyReceiptClaim(back, [store.publicKey!])).toEqual({ status: 'signed' });
      expect(JSON.parse(text).globalSequence).toBe(r.globalSequence.toString());
    }
    expect(() => receiptFromJSON('{"v":1}')).toThrow(BatpakError);
    expect(() => receiptFromJSON('not json')).toThrow(BatpakError);
    await store.close();
  });

  it('idempotent replays return the original receipt exactly, signature and proof included', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(10), signingKey: seedA });
    const [a] = await Promise.all([
      store.append(c(1), Note, { text: 'x' }, { idempotencyKey: 'k' }),
      store.append(c(2), Note, { text: 'y' }),
      store.append(c(3), Note, { text: 'z' }),
    ]);
    expect(a!.groupProof!.siblings.length).toBeGreaterThan(0);
    const b = await store.append(c(1), Note, { text: 'x' }, { idempotencyKey: 'k' });
    expect(b).toEqual(a);
    expect(verifyReceiptClaim(b, [store.publicKey!])).toEqual({ status: 'signed' });
    await store.close();
  });

  it('store.receipt(eventId) rebuilds the original receipt from disk — after reopen and compaction, without the key', async () => {
    const fs = new SimFs(21);
    const store = await Store.open({ dir: '/s', fs, signingKey: seedA, segmentMaxBytes: 600 });
    const receipts: AppendReceipt[] = [];
    for (let round = 0; round < 6; round++) {
      receipts.push(...(await Promise.all(Array.from({ length: 5 }, (_, i) => store.append(c(i), Note, { text: `r${round}-${i}` })))));
    }
    for (const r of receipts) expect(await store.receipt(r.eventId)).toEqual(r);
    await store.close();
    // A writer without the key must say so (INV-SIGNED-STORE-UNSIGNED-EVENT); receipts need no key.
    const keyless = await Store.open({ dir: '/s', fs, allowUnsignedAfterSigned: true });
    for (const r of receipts) expect(await keyless.receipt(r.eventId)).toEqual(r);
    // Retention drops some members of signed groups: survivors' receipts still come back whole.
    const result = await keyless.compact({ strategy: 'retention', keep: (e) => !(e.payload as { text: string }).text.endsWith('-0') });
    expect(result.eventsDropped).toBeGreaterThan(0);
    let checked = 0;
    for (const r of receipts) {
      const back = await keyless.receipt(r.eventId).catch(() => undefined);
      if (back === undefined) continue;
      expect(back).toEqual(r);
      expect(verifyReceiptClaim(back, [publicKeyOf(seedA)])).toEqual({ status: 'signed' });
      checked++;
    }
    expect(checked).toBeGreaterThan(receipts.length / 2);
    await keyless.close();
  });
});

describe('persisted signatures in verifyChain', () => {
  it("rewriting an entity's last event (payload, stored hash and CRC together) is detected in a signed store", async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir, signingKey: seedA });
    await store.append(c(1), Note, { text: 'first' });
    const last = await store.append(c(1), Note, { text: 'AAAA' });
    await store.close();
    // Forge: same-length payload, recomputed content hash and frame CRC.
    const path = join(dir, '000001.bps');
    const bytes = await readFile(path);
    const at = bytes.indexOf(Buffer.from('AAAA'));
    const { unpack } = await import('msgpackr');
    const { blake3 } = await import('../src/crypto/blake3.js');
    bytes.write('BBBB', at, 'latin1');
    // Find the frame that holds the payload and fix its content hash and CRC.
    let pos = 32;
    let done = false;
    while (pos < bytes.length && !done) {
      const len = bytes.readUInt32BE(pos + 4);
      const body = bytes.subarray(pos + 12, pos + 12 + len);
      if (at >= pos + 12 && at < pos + 12 + len) {
        const m = unpack(body) as { ch: Uint8Array; p: Uint8Array };
        const chAt = body.indexOf(Buffer.from(m.ch));
        Buffer.from(blake3(m.p)).copy(body, chAt);
        expect(chAt).toBeGreaterThan(0);
        // chAt was found before the payload was rewritten? recompute from the new payload:
        bytes.writeUInt32BE(crc32(body), pos + 8);
        done = true;
      }
      pos += 12 + len;
    }
    expect(done).toBe(true);
    await writeFile(path, bytes);
    // Without a key, content hash and links agree; only the seal's structure gives it away (its root no
    // longer matches the covers) — and no signature was checked (a forger who also rewrote the root would pass)...
    const keyless = await Store.openReadOnly(dir);
    const blind = await keyless.verifyChain();
    expect(blind.contentHashMismatches).toEqual([]);
    expect(blind.danglingLinks).toEqual([]);
    expect(blind.signaturesChecked).toBe(0);
    await keyless.close();
    // ...with the key, the seal's signature no longer matches the rewritten event.
    const signed = await Store.openReadOnly(dir, { signingKey: seedA });
    const report = await signed.verifyChain();
    expect(report.intact).toBe(false);
    expect(report.signatureFailures).toEqual([last.eventId]);
    expect((await signed.verifyReceipt(last)).reason).toMatch(/^contentHash:/);
    await signed.close();
  });
});

describe('receipt extensions', () => {
  it('are stored with the event, covered by the signature, and validated', async () => {
    const fs = new SimFs(20);
    const store = await Store.open({ dir: '/s', fs, signingKey: seedA });
    const r = await store.append(c(1), Note, { text: 'x' }, { extensions: { 'app.audit': new Uint8Array([5, 3]) } });
    expect([...(r.extensions ?? new Map())]).toEqual([['app.audit', new Uint8Array([5, 3])]]);
    expect(verifyReceiptClaim(r, [store.publicKey!])).toEqual({ status: 'signed' });
    const changed = { ...r, extensions: new Map([['app.audit', new Uint8Array([5, 4])]]) };
    expect(verifyReceiptClaim(changed, [store.publicKey!]).status).toBe('invalid');
    expect((await store.verifyReceipt(changed)).reason).toMatch(/^extensions:/);
    await expect(store.append(c(1), Note, { text: 'x' }, { extensions: { 'batpak.x': new Uint8Array(1) } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(store.append(c(1), Note, { text: 'x' }, { extensions: { nodot: new Uint8Array(1) } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    const raw = await store.appendRaw(c(2), { category: 2, typeId: 5 }, new Uint8Array([1]), { payloadVersion: 3, extensions: new Map([['x.y', new Uint8Array(0)]]) });
    expect((await store.getRaw(raw.eventId)).header.payloadVersion).toBe(3);
    expect(store.head('doc:2')?.eventId).toBe(raw.eventId);
    expect(store.head('nobody')).toBeUndefined();
    await store.close();
    const again = await Store.open({ dir: '/s', fs, signingKey: seedA });
    expect(await again.verifyReceipt(r)).toEqual({ status: 'signed' });
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
  });
});

describe('receiptCoverOf (the commit path) gives the bytes of receiptCover', () => {
  it('for any counters, kind, coordinate, hashes and extensions', async () => {
    const { receiptCover, receiptCoverOf } = await import('../src/receipt/cover.js');
    const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
    fc.assert(
      fc.property(
        bytes(16),
        fc.array(fc.nat({ max: Number.MAX_SAFE_INTEGER }), { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.string({ maxLength: 40 }),
        bytes(32),
        bytes(32),
        fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), { maxKeys: 3 }), { nil: undefined }),
        (id, [g, s, t], kind, entity, scope, prev, content, ext) => {
          const extensions = ext === undefined ? undefined : new Map(Object.entries(ext));
          const fast = receiptCoverOf({ idBytes: id, globalSequence: g!, entitySequence: s!, kind, committedAt: t!, entity, scope, prevHash: prev, contentHash: content, extensions });
          const reference = receiptCover(
            {
              eventId: Buffer.from(id).toString('hex'),
              globalSequence: BigInt(g!),
              entitySequence: BigInt(s!),
              kind: { category: kind >>> 12, typeId: kind & 0xfff },
              coordinate: { entity, scope },
              contentHash: content,
              prevHash: prev,
              committedAt: BigInt(t!),
              ...(extensions === undefined ? {} : { extensions }),
            },
          );
          expect(Buffer.from(fast).equals(Buffer.from(reference))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
