// The encrypted append path's cheaper parts give the bytes the plain ones gave: pooled nonces are fresh, disjoint and
// never written again; the kept-array seal is xchachaSeal's bytes; the group-time four-lane hashes are blake3's; and a
// store that seals writes every content hash as blake3 of the stored ciphertext, whatever mix of lengths a group holds.
import fc from 'fast-check';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { describe, expect, it } from 'vitest';
import { Coordinate, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { xchachaSeal, xchachaSealKept } from '../src/crypto/aead.js';
import { nativeAead, nativeEncryptPath } from '../src/crypto/aead-native.js';
import { blake3 } from '../src/crypto/blake3.js';
import { blake3Each } from '../src/crypto/blake3x4-rows.js';
import { randomNonce24 } from '../src/crypto/random.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('pooled nonces', () => {
  it('are 24-byte views of off-heap buffers, each region handed out once and never written again', () => {
    const drawn = Array.from({ length: 1000 }, () => randomNonce24());
    const copies = drawn.map((n) => hex(n));
    // All distinct (a repeat of 192 random bits would mean a reused region).
    expect(new Set(copies).size).toBe(drawn.length);
    const regions = new Map<ArrayBufferLike, number[]>();
    for (const n of drawn) {
      expect(n.length).toBe(24);
      const offsets = regions.get(n.buffer) ?? [];
      offsets.push(n.byteOffset);
      regions.set(n.buffer, offsets);
    }
    // Several buffers (a refill makes a new one), each cut front to back without overlap.
    expect(regions.size).toBeGreaterThan(1);
    for (const offsets of regions.values()) {
      for (let i = 1; i < offsets.length; i++) expect(offsets[i]! - offsets[i - 1]!).toBe(24);
    }
    // Drawing more never rewrites a nonce handed out before.
    for (let i = 0; i < 1000; i++) randomNonce24();
    expect(drawn.map((n) => hex(n))).toEqual(copies);
  });
});

describe('the kept-array seal', () => {
  it('is used through libsodium\'s own binding where sodium-native loads', () => {
    expect(nativeEncryptPath).toBe(nativeAead === undefined ? undefined : 'binding');
  });

  it('gives xchachaSeal\'s and @noble/ciphers\' bytes, for pooled nonces and reused AADs alike', () => {
    const aad = new Uint8Array(60);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ minLength: 60, maxLength: 60 }), (key, pt, aadBytes) => {
        aad.set(aadBytes);
        const nonce = randomNonce24();
        const kept = hex(xchachaSealKept(key, nonce, pt, aad));
        expect(kept).toBe(hex(xchachaSeal(key, nonce.slice(), pt, aad.slice())));
        expect(kept).toBe(hex(xchacha20poly1305(key, nonce, aad).encrypt(pt)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('blake3Each', () => {
  it('writes blake3 of every input, for any mix of lengths (runs of one length, empty, over one chunk)', () => {
    const length = fc.oneof(fc.constantFrom(0, 1, 63, 64, 65, 272, 1023, 1024, 1025, 3000), fc.nat({ max: 1100 }));
    const runs = fc.array(fc.tuple(length, fc.integer({ min: 1, max: 9 })), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(runs, fc.nat(), (spec, seed) => {
        const inputs: Uint8Array[] = [];
        for (const [len, count] of spec) {
          for (let k = 0; k < count; k++) inputs.push(Uint8Array.from({ length: len }, (_, i) => (i * 31 + seed + inputs.length * 7) & 0xff));
        }
        const outs = inputs.map(() => new Uint8Array(32));
        blake3Each(inputs, outs);
        expect(outs.map(hex)).toEqual(inputs.map((x) => hex(blake3(x))));
      }),
      { numRuns: 150 },
    );
  });
});

describe('a store that seals', () => {
  it('writes blake3 of the stored ciphertext as every content hash, across groups of mixed lengths, and verifies', async () => {
    const fs = new SimFs(11);
    const store = await Store.open({ dir: '/s', fs, payloadEncryption: {} });
    const kind = { category: 3, typeId: 1 };
    const coords = Array.from({ length: 6 }, (_, i) => new Coordinate(`e${i}`, 's'));
    const receipts = (
      await Promise.all([
        ...Array.from({ length: 40 }, (_, i) => store.appendRaw(coords[i % 6]!, kind, new Uint8Array(i % 3 === 0 ? 256 : 17 + i).fill(i))),
        store.appendBatch(Array.from({ length: 9 }, (_, i) => ({ coord: coords[i % 2]!, kind, payload: new Uint8Array(i < 5 ? 300 : 2000 + i).fill(i) }))),
        store.appendRaw(coords[0]!, kind, new Uint8Array(0)),
      ])
    ).flat();
    expect(receipts.length).toBe(50);
    for (const r of receipts) {
      const stored = await store.getRaw(r.eventId);
      expect(stored.header.encrypted).toBe(true);
      expect(hex(r.contentHash)).toBe(hex(blake3(stored.bytes)));
    }
    const report = await store.verifyChain();
    expect(report.contentHashMismatches).toEqual([]);
    expect(report.intact).toBe(true);
    await store.close();
  });
});
