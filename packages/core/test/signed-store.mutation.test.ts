// A store that signs stays signed: an event appended without the key is a signature failure, a keyless
// writer is refused unless it opts in, and only the key holder's signed declaration allows unsigned
// appends (INV-SIGNED-STORE-UNSIGNED-EVENT). The report says how much was checked, with which keys.
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store, verifyReceiptClaim } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { publicKeyFromSeed } from '../src/crypto/ed25519.js';
import { keyIdOf } from '../src/receipt/cover.js';
import { SealChecker } from '../src/receipt/seal-check.js';
import { blake3 } from '../src/crypto/blake3.js';
import { encodePayload } from '../src/payload.js';
import type { EventFrame } from '../src/segment/frame.js';
import { policyOfFrame, policyPayload, SIGNING_POLICY_COORDINATE } from '../src/receipt/policy.js';

const Note = defineEvent<{ n: number }>({ category: 3, typeId: 9, name: 'SignedNote' });
const seed = new Uint8Array(32).fill(7);
const pk = publicKeyFromSeed(seed);
const other = publicKeyFromSeed(new Uint8Array(32).fill(8));
const at = new Coordinate('order:1', 'shop');

async function signedFive(fs: SimFs) {
  const s = await Store.open({ dir: '/db', fs, signingKey: seed });
  for (let n = 0; n < 5; n++) await s.append(at, Note, { n });
  await s.close();
}

describe('INV-SIGNED-STORE-UNSIGNED-EVENT: unsigned events in a store that signs', () => {
  it('a keyless writer is refused on a signed store; the opt-in appends, and verifyChain names the forged event', async () => {
    const fs = new SimFs(1);
    await signedFive(fs);
    await expect(Store.open({ dir: '/db', fs })).rejects.toMatchObject({ code: 'ERR_SIGNING_KEY_REQUIRED' });
    // The refusal released the lock: the opt-in open works at once.
    const w = await Store.open({ dir: '/db', fs, allowUnsignedAfterSigned: true });
    const forged = await w.append(at, Note, { n: 99 });
    await w.close();
    expect(forged.signature).toBeUndefined();
    expect(verifyReceiptClaim(forged, [pk]).status).toBe('invalid');

    const r = await Store.openReadOnly('/db', { fs, trustedPublicKeys: [pk] });
    const report = await r.verifyChain();
    expect(report.intact).toBe(false);
    expect(report.signatureFailures).toEqual([forged.eventId]);
    expect(report.signaturesChecked).toBe(5);
    expect(report.keyIds).toEqual([keyIdOf(pk)]);
    expect(report.contentHashMismatches).toEqual([]);
    await r.close();
    // Without keys the store itself says it signs: the unsigned event still fails, nothing was checked.
    const blind = await Store.openReadOnly('/db', { fs });
    const b = await blind.verifyChain();
    expect(b.signatureFailures).toEqual([forged.eventId]);
    expect(b.signaturesChecked).toBe(0);
    expect(b.keyIds).toEqual([]);
    expect(b.intact).toBe(false);
    await blind.close();
    // chainVerification 'recompute' refuses the forged store even for the key holder.
    await expect(Store.open({ dir: '/db', fs, signingKey: seed, chainVerification: 'recompute' })).rejects.toMatchObject({ code: 'ERR_CHAIN_VERIFICATION_FAILED' });
  });

  it('read-only opens and an unsigned store are not refused; an unsigned store has nothing to check until keys are given', async () => {
    const fs = new SimFs(2);
    await signedFive(fs);
    const ro = await Store.openReadOnly('/db', { fs });
    expect((await ro.verifyChain()).intact).toBe(true);
    await ro.close();

    const plain = await Store.open({ dir: '/plain', fs });
    const e = await plain.append(at, Note, { n: 1 });
    const report = await plain.verifyChain();
    expect(report).toMatchObject({ intact: true, signatureFailures: [], signaturesChecked: 0, keyIds: [] });
    await plain.close();
    // Given keys, a verifier expects signatures: an unsigned event is a failure.
    const withKeys = await Store.openReadOnly('/plain', { fs, trustedPublicKeys: [pk] });
    expect(await withKeys.verifyChain()).toMatchObject({ intact: false, signatureFailures: [e.eventId], signaturesChecked: 0 });
    await withKeys.close();
  });

  it('a seal from a key the verifier does not trust is a failure and counts as no check', async () => {
    const fs = new SimFs(3);
    await signedFive(fs);
    const r = await Store.openReadOnly('/db', { fs, trustedPublicKeys: [other] });
    const report = await r.verifyChain();
    expect(report.signatureFailures).toHaveLength(5);
    expect(report.signaturesChecked).toBe(0);
    expect(report.keyIds).toEqual([]);
    await r.close();
  });

  it("the key holder's declaration allows unsigned appends until a later one refuses them", async () => {
    const fs = new SimFs(4);
    await signedFive(fs);
    const holder = await Store.open({ dir: '/db', fs, signingKey: seed });
    const decl = await holder.declareSigningPolicy({ unsignedAppends: 'allowed' });
    expect(decl.signature).toBeDefined();
    await holder.close();
    const w = await Store.open({ dir: '/db', fs, allowUnsignedAfterSigned: true });
    await w.append(at, Note, { n: 6 });
    await expect(w.declareSigningPolicy({ unsignedAppends: 'allowed' })).rejects.toMatchObject({ code: 'ERR_SIGNING_KEY_REQUIRED' });
    await w.close();
    const check = async () => {
      const r = await Store.openReadOnly('/db', { fs, trustedPublicKeys: [pk] });
      const report = await r.verifyChain();
      await r.close();
      return report;
    };
    expect(await check()).toMatchObject({ intact: true, signatureFailures: [], signaturesChecked: 6 });

    const again = await Store.open({ dir: '/db', fs, signingKey: seed });
    await again.declareSigningPolicy({ unsignedAppends: 'refused' });
    await again.close();
    const late = await Store.open({ dir: '/db', fs, allowUnsignedAfterSigned: true });
    const refused = await late.append(at, Note, { n: 7 });
    await late.close();
    expect(await check()).toMatchObject({ intact: false, signatureFailures: [refused.eventId], signaturesChecked: 7 });
  });

  it('declareSigningPolicy checks its argument and needs a writable store; the option must be a boolean', async () => {
    const fs = new SimFs(5);
    const s = await Store.open({ dir: '/db', fs, signingKey: seed });
    await expect(s.declareSigningPolicy({ unsignedAppends: 'maybe' } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(s.declareSigningPolicy(null as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await s.close();
    const ro = await Store.openReadOnly('/db', { fs, signingKey: seed });
    await expect(ro.declareSigningPolicy({ unsignedAppends: 'allowed' })).rejects.toMatchObject({ code: 'ERR_READ_ONLY' });
    await ro.close();
    await expect(Store.open({ dir: '/db', fs, allowUnsignedAfterSigned: 'yes' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });
});

describe('SealChecker: declarations and unsigned events, one rule at a time', () => {
  const frame = (g: number, sealed: boolean, payload = encodePayload({ n: g }), kind = 0x3009): EventFrame => ({
    type: 0,
    id: new Uint8Array(16).fill(g),
    globalSequence: g,
    entitySequence: g,
    kind,
    entity: 'e',
    scope: 's',
    committedAt: 1,
    prevHash: new Uint8Array(32),
    contentHash: blake3(payload),
    payloadVersion: 1,
    flags: sealed ? 0x04 : 0,
    payload,
  });
  const policy = (g: number, v: string, sealed = true) => frame(g, sealed, encodePayload({ unsignedAppends: v, declaredAt: 1 }), 0x0012);

  it('without requireSigned an unsigned event passes; with it, it fails', () => {
    const lax = new SealChecker({ keys: [], requireSigned: false });
    lax.event(frame(1, false), 'a');
    expect(lax.finish()).toEqual({ failures: [], signaturesChecked: 0, keyIds: [], headersUnverified: 0 });
    const strict = new SealChecker({ keys: [], requireSigned: true });
    strict.event(frame(1, false), 'a');
    expect(strict.finish().failures).toEqual(['a']);
  });

  it('a sealed frame on disk turns the rule on even when the caller thought the store unsigned', () => {
    const c = new SealChecker({ keys: [], requireSigned: false });
    c.event(frame(1, false), 'a');
    c.event(frame(2, true), 'b');
    c.event(frame(3, false), 'c');
    expect(c.finish().failures).toEqual(['b', 'a', 'c']);
  });

  it('ids given as bytes (unsealedEventAt, verifyChain reading in place) fail in the order met, as hex, like strings', () => {
    const id = (n: number) => new Uint8Array(16).fill(n);
    const hex = (n: number) => Buffer.from(id(n)).toString('hex');
    const c = new SealChecker({ keys: [], requireSigned: false });
    const buf = new Uint8Array(40);
    // Many ids, so the byte table grows; each read from a reused buffer at an offset.
    for (let n = 1; n <= 300; n++) {
      buf.set(id(n), 7);
      if (n % 3 === 0) c.event(frame(n, false), hex(n));
      else c.unsealedEventAt(buf, 7);
      buf.fill(0);
    }
    c.event(frame(301, true), 'sealed');
    expect(c.finish().failures).toEqual(['sealed', ...Array.from({ length: 300 }, (_, k) => hex(k + 1))]);
    const strict = new SealChecker({ keys: [], requireSigned: true });
    strict.unsealedEventAt(id(9), 0);
    expect(strict.finish().failures).toEqual([hex(9)]);
    const lax = new SealChecker({ keys: [], requireSigned: false });
    lax.unsealedEventAt(id(9), 0);
    expect(lax.finish().failures).toEqual([]);
  });

  it('an unsealed declaration, or one whose seal never comes, allows nothing', () => {
    const c = new SealChecker({ keys: [], requireSigned: true });
    c.event(policy(1, 'allowed', false), 'p');
    c.event(frame(2, false), 'x');
    expect(c.finish().failures).toEqual(['p', 'x']);
    const d = new SealChecker({ keys: [], requireSigned: true });
    d.event(policy(1, 'allowed'), 'p');
    d.event(frame(2, false), 'x');
    expect(d.finish().failures).toEqual(['x', 'p']);
  });

  it('a sealed event with no seal, or a seal naming absent members, fails', () => {
    const c = new SealChecker({ keys: [], requireSigned: false });
    c.event(frame(1, true), 'a');
    c.seal({ type: 1, firstSequence: 1, lastSequence: 2, count: 2, keyId: new Uint8Array(32), root: new Uint8Array(32), signature: new Uint8Array(64) });
    expect(c.finish().failures).toEqual(['a']);
  });
});

describe('policyOfFrame: only an intact declaration of the policy kind counts', () => {
  const frame = (payload: Uint8Array, kind = 0x0012, hash = blake3(payload)): EventFrame => ({
    type: 0,
    id: new Uint8Array(16),
    globalSequence: 1,
    entitySequence: 1,
    kind,
    entity: 'batpak:store',
    scope: 'batpak:signing-policy',
    committedAt: 1,
    prevHash: new Uint8Array(32),
    contentHash: hash,
    payloadVersion: 1,
    flags: 0x04,
    payload,
  });
  it('reads allowed and refused; anything else is no declaration', () => {
    expect(policyOfFrame(frame(encodePayload({ unsignedAppends: 'allowed', declaredAt: 1 })))).toBe('allowed');
    expect(policyOfFrame(frame(encodePayload({ unsignedAppends: 'refused', declaredAt: 1 })))).toBe('refused');
    expect(policyOfFrame(frame(encodePayload({ unsignedAppends: 'maybe' })))).toBeUndefined();
    expect(policyOfFrame(frame(encodePayload(null)))).toBeUndefined();
    expect(policyOfFrame(frame(encodePayload({ unsignedAppends: 'allowed' }), 0x3009))).toBeUndefined();
    expect(policyOfFrame(frame(encodePayload({ unsignedAppends: 'allowed' }), 0x0012, new Uint8Array(32)))).toBeUndefined();
    expect(policyOfFrame(frame(new Uint8Array([0xc1])))).toBeUndefined();
    expect(policyPayload({ unsignedAppends: 'allowed' }, 5)).toEqual({ unsignedAppends: 'allowed', declaredAt: 5 });
    expect(SIGNING_POLICY_COORDINATE).toEqual({ entity: 'batpak:store', scope: 'batpak:signing-policy' });
  });
});
