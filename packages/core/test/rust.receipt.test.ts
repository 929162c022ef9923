// INV-RUST-RECEIPT-COVER: Rust batpak's receipt cover, digest, key_id and Ed25519 signature are reproduced
// exactly (the pinned example in RUST-INTEROP.md § Receipts), and Rust's verdict table maps onto ours field by field.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { blake3 } from '../src/crypto/blake3.js';
import { Ed25519Signer } from '../src/crypto/ed25519.js';
import { toHex } from '../src/encoding/hex.js';
import { receiptCover } from '../src/receipt/cover.js';
import { rustKeyId, rustReceiptCover, rustReceiptDigest, signRustReceipt, verifyRustReceiptClaim, type RustReceiptFields } from '../src/rust/receipt.js';
import { openRustStore } from '../src/rust/store.js';
import { SimFs } from '../src/entry/testing.js';

const SEGMENT = new Uint8Array(readFileSync(new URL('../../../fixtures/rust-core/store-checkpoint-v5/000001.fbat', import.meta.url)));
const USER_ID = '0000000000000000000000000000ad05';
const SEED = new Uint8Array(32).fill(7);

async function fixtureFields(): Promise<{ fields: RustReceiptFields; store: Awaited<ReturnType<typeof openRustStore>> }> {
  const fs = new SimFs(9);
  fs.putFile('/rust/000001.fbat', SEGMENT);
  const store = await openRustStore('/rust', { fs });
  return { fields: store.receiptFields(USER_ID), store };
}

describe('Rust receipt cover (INV-RUST-RECEIPT-COVER)', () => {
  it('INV-RUST-RECEIPT-COVER: the fixture user event gives the Rust cover, 162 bytes, digest 8b1498a6…8871', async () => {
    const { fields } = await fixtureFields();
    expect(fields).toMatchObject({
      eventId: USER_ID,
      globalSequence: 1n,
      coordinate: { entity: 'entity:adr0009-checkpoint-v5', scope: 'scope:fixture' },
      kind: { category: 1, typeId: 0 },
      prevHash: new Uint8Array(32),
    });
    expect(toHex(fields.contentHash)).toMatch(/^0a7ddac6.*58b1$/);
    expect([...(fields.extensions ?? [])]).toEqual([['app.audit', Uint8Array.of(5, 3)]]);
    const cover = rustReceiptCover(fields);
    expect(cover.length).toBe(162);
    // Layout: version, id u128le, sequence u64le, mp{entity, scope}, kind u16le, prev, content, mp(extensions).
    expect(cover[0]).toBe(0x01);
    expect(toHex(cover.subarray(1, 17))).toBe('05ad0000000000000000000000000000');
    expect(toHex(cover.subarray(17, 25))).toBe('0100000000000000');
    expect(cover[25]).toBe(0x82);
    expect(toHex(cover.subarray(82, 84))).toBe('0010');
    expect(toHex(cover.subarray(148))).toBe('81a96170702e617564697492' + '0503');
    expect(toHex(blake3(cover))).toBe('8b1498a6d7cc77c652ba73741065d30f4d9a18382ce429a8a8f247340f008871');
    expect(rustReceiptDigest(fields)).toEqual(blake3(cover));
  });

  it('INV-RUST-RECEIPT-COVER: seed 07×32 gives public key ea4a6c63…d22c and key_id 0871f3aa…2433', () => {
    const pub = new Ed25519Signer(SEED).publicKey;
    expect(toHex(pub)).toBe('ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c');
    expect(rustKeyId(pub)).toMatch(/^0871f3aa[0-9a-f]{52}2433$/);
  });

  it('INV-RUST-RECEIPT-COVER: a Rust-format receipt signed with seed 07×32 verifies, store-free and against the store', async () => {
    const { fields, store } = await fixtureFields();
    const claim = signRustReceipt(fields, SEED);
    const pub = new Ed25519Signer(SEED).publicKey;
    expect(claim.keyId).toBe(rustKeyId(pub));
    expect(claim.signature).toHaveLength(64);
    // RFC 8032 is deterministic: the signature is exactly Ed25519(seed, blake3(cover)).
    expect(claim.signature).toEqual(new Ed25519Signer(SEED).sign(rustReceiptDigest(fields)));
    expect(verifyRustReceiptClaim(claim, [pub])).toEqual({ status: 'signed' });
    expect(store.verifyReceipt(claim, [pub])).toEqual({ status: 'signed' });
    // Rotation: any configured key's public key is accepted.
    const other = new Ed25519Signer(new Uint8Array(32).fill(9)).publicKey;
    expect(verifyRustReceiptClaim(claim, [other, pub])).toEqual({ status: 'signed' });
  });

  it("INV-RUST-RECEIPT-COVER: Rust's verdict table, in our words, with the reason naming the field", async () => {
    const { fields, store } = await fixtureFields();
    const pub = new Ed25519Signer(SEED).publicKey;
    const signed = signRustReceipt(fields, SEED);
    const zero = '0'.repeat(64);
    const v = (c: Parameters<typeof verifyRustReceiptClaim>[0], keys: Uint8Array[]) => verifyRustReceiptClaim(c, keys);
    // none | zero | empty → UnsignedAccepted
    expect(v(fields, [])).toEqual({ status: 'unsigned-accepted' });
    expect(v({ ...fields, keyId: zero }, [])).toEqual({ status: 'unsigned-accepted' });
    // none | zero | non-empty → UnsignedReceiptRejected
    expect(v(fields, [pub])).toMatchObject({ status: 'invalid', reason: expect.stringMatching(/^signature: unsigned receipt rejected/) });
    // none | non-zero → MissingSignature
    expect(v({ ...fields, keyId: signed.keyId! }, [])).toMatchObject({ status: 'invalid', reason: expect.stringMatching(/^signature: missing/) });
    // some | zero → ZeroKeyWithSignature
    expect(v({ ...signed, keyId: zero }, [pub])).toMatchObject({ status: 'invalid', reason: expect.stringMatching(/^keyId: zero key id/) });
    // some | unknown → UnknownSigningKey
    expect(v(signed, [])).toMatchObject({ status: 'invalid', reason: 'keyId: unknown signing key' });
    // some | known, bad → InvalidSignature; every covered field is bound by the signature
    const bad = signed.signature!.slice();
    bad[0]! ^= 1;
    expect(v({ ...signed, signature: bad }, [pub])).toMatchObject({ status: 'invalid', reason: 'signature: does not verify' });
    const tampered: Partial<RustReceiptFields>[] = [
      { globalSequence: 2n },
      { coordinate: { entity: 'entity:other', scope: 'scope:fixture' } },
      { kind: { category: 1, typeId: 1 } },
      { prevHash: new Uint8Array(32).fill(1) },
      { contentHash: new Uint8Array(32).fill(1) },
      { extensions: new Map([['app.audit', Uint8Array.of(5, 4)]]) },
      { eventId: '0000000000000000000000000000ad06' },
    ];
    for (const t of tampered) {
      expect(v({ ...signed, ...t }, [pub])).toMatchObject({ status: 'invalid', reason: 'signature: does not verify' });
      // Against the store the first differing field is named.
      const field = Object.keys(t)[0]!;
      const verdict = store.verifyReceipt({ ...signed, ...t }, [pub]);
      expect(verdict.status).toBe('invalid');
      expect(verdict.reason!.startsWith(`${field}:`)).toBe(true);
    }
    // Malformed claims name the field without throwing.
    expect(v({ ...fields, eventId: 'xyz' }, [])).toMatchObject({ status: 'invalid', reason: expect.stringMatching(/^eventId:/) });
    expect(v({ ...fields, contentHash: new Uint8Array(31) }, [])).toMatchObject({ reason: expect.stringMatching(/^contentHash:/) });
    expect(v({ ...fields, extensions: new Map([['noDot', new Uint8Array(0)]]) }, [])).toMatchObject({ reason: expect.stringMatching(/^extensions:/) });
    expect(v({ ...fields, coordinate: { entity: '', scope: 's' } }, [])).toMatchObject({ reason: expect.stringMatching(/^coordinate:/) });
    expect(v({ ...signed, signature: new Uint8Array(63) }, [pub])).toMatchObject({ reason: expect.stringMatching(/^signature:/) });
  });

  it('INV-RUST-RECEIPT-COVER: the cover format differs from our receipt cover v1, so each verifies only its own', async () => {
    const { fields } = await fixtureFields();
    const ours = receiptCover({
      eventId: fields.eventId,
      globalSequence: fields.globalSequence,
      entitySequence: 0n,
      kind: fields.kind,
      coordinate: fields.coordinate,
      contentHash: fields.contentHash,
      prevHash: fields.prevHash,
      committedAt: 0n,
      ...(fields.extensions === undefined ? {} : { extensions: fields.extensions }),
    });
    expect(toHex(ours.subarray(0, 18))).toBe(toHex(new TextEncoder().encode('batpak.receipt.v1\0')));
    expect(toHex(ours)).not.toBe(toHex(rustReceiptCover(fields)));
  });
});
