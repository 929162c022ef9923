// INV-RUST-RECEIPT-COVER: an extension key is any ASCII `ns.field` to Rust batpak, control characters included
// (`ns.f\t`), so a Rust receipt carrying such a key — built here on a frame of the shared Rust fixture —
// verifies store-free and against the store.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { blake3 } from '../src/crypto/blake3.js';
import { Ed25519Signer } from '../src/crypto/ed25519.js';
import { encodeCoordinateCanonical, encodeStringBytesMapCanonical } from '../src/encoding/canonical.js';
import { fromHex, toHex } from '../src/encoding/hex.js';
import { decodeRustFrameBody, encodeRustFrameBody, rustFrameBytes } from '../src/rust/frame.js';
import { isRustExtensionKey, rustKeyId, verifyRustReceiptClaim, type RustReceiptClaim } from '../src/rust/receipt.js';
import { openRustStore } from '../src/rust/store.js';
import { SimFs } from '../src/entry/testing.js';

const SEGMENT = new Uint8Array(readFileSync(new URL('../../../fixtures/rust-core/store-checkpoint-v5/000001.fbat', import.meta.url)));
const USER = { start: 1076, end: 1597, eventId: '0000000000000000000000000000ad05' };
const KEY = 'ns.f\t';
const SEED = new Uint8Array(32).fill(7);

/** The fixture with the user event's frame re-written to carry one more receipt extension, `ns.f\t`. */
function withControlKey(): Uint8Array {
  const body = decodeRustFrameBody(SEGMENT.subarray(USER.start + 8, USER.end));
  const receiptExtensions = new Map([...body.receiptExtensions, [KEY, Uint8Array.of(9)]]);
  const frame = rustFrameBytes(encodeRustFrameBody({ ...body, receiptExtensions, wireHasExtensions: true }));
  return new Uint8Array(Buffer.concat([SEGMENT.subarray(0, USER.start), frame, SEGMENT.subarray(USER.end)]));
}

/** Rust's cover, laid out by hand: 0x01 | id u128le | seq u64le | mp{entity, scope} | kind u16le | prev | content | mp(extensions). */
function coverByHand(c: Omit<RustReceiptClaim, 'keyId' | 'signature'>): Uint8Array {
  const le = (hex: string) => fromHex(hex).reverse();
  const seq = new Uint8Array(8);
  new DataView(seq.buffer).setBigUint64(0, c.globalSequence, true);
  const kind = (c.kind.category << 12) | c.kind.typeId;
  return new Uint8Array(
    Buffer.concat([
      Uint8Array.of(0x01),
      le(c.eventId),
      seq,
      encodeCoordinateCanonical(c.coordinate.entity, c.coordinate.scope),
      Uint8Array.of(kind & 0xff, kind >> 8),
      c.prevHash,
      c.contentHash,
      encodeStringBytesMapCanonical(c.extensions ?? new Map()),
    ]),
  );
}

describe('Rust extension keys (INV-RUST-RECEIPT-COVER)', () => {
  it('INV-RUST-RECEIPT-COVER: a Rust receipt whose extension key holds a control character verifies, store-free and against the store', async () => {
    const fs = new SimFs(11);
    fs.putFile('/rust/000001.fbat', withControlKey());
    const store = await openRustStore('/rust', { fs });
    const fields = store.receiptFields(USER.eventId);
    expect([...(fields.extensions ?? new Map()).keys()]).toEqual(['app.audit', KEY]);

    const signer = new Ed25519Signer(SEED);
    const claim: RustReceiptClaim = { ...fields, keyId: rustKeyId(signer.publicKey), signature: signer.sign(blake3(coverByHand(fields))) };
    expect(verifyRustReceiptClaim(claim, [signer.publicKey])).toMatchObject({ status: 'signed' });
    expect(store.verifyReceipt(claim, [signer.publicKey])).toMatchObject({ status: 'signed' });
    // The key is bound like any other: another value under it does not verify.
    const other = { ...claim, extensions: new Map([...fields.extensions!, [KEY, Uint8Array.of(8)]]) };
    expect(verifyRustReceiptClaim(other, [signer.publicKey])).toMatchObject({ status: 'invalid', reason: 'signature: does not verify' });
    expect(toHex(blake3(coverByHand(fields)))).not.toBe(toHex(blake3(coverByHand({ ...fields, extensions: new Map([['app.audit', Uint8Array.of(5, 3)]]) }))));
  });

  it('keys stay ASCII `ns.field` of 1..=256 characters, as Rust requires', () => {
    for (const ok of ['ns.f\t', 'a.b', '\u0000.\u007f', `${'n'.repeat(127)}.${'f'.repeat(128)}`]) expect(isRustExtensionKey(ok), JSON.stringify(ok)).toBe(true);
    for (const bad of ['', 'nodot', 'a.b.c', '.f', 'ns.', 'ns.é', `${'n'.repeat(128)}.${'f'.repeat(128)}`]) expect(isRustExtensionKey(bad), JSON.stringify(bad)).toBe(false);
  });
});
