// Behaviour of the crypto primitives beyond the official vectors: cross-checks with @noble, misuse, tampering, hygiene.
// Invariant under test: our node:crypto/libsodium/hash-wasm paths are byte-identical to the independent pure-JS implementations.

import { inspect } from 'node:util';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as nobleEd from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { isBatpakError } from '../src/errors.js';
import { toHex } from '../src/encoding/hex.js';
import { blake3, blake3Hex } from '../src/crypto/blake3.js';
import { ED25519_SIGN_BACKEND, Ed25519Signer, publicKeyFromSeed, sign, verify } from '../src/crypto/ed25519.js';
import { nativeEd25519 } from '../src/crypto/ed25519-native.js';
import { XCHACHA_TAG_LENGTH, hchacha20, xchachaOpen, xchachaSeal } from '../src/crypto/aead.js';

nobleEd.hashes.sha512 = sha512;

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isBatpakError(err) ? err.code : `non-BatpakError: ${String(err)}`;
  }
  return undefined;
}

describe('blake3 (hash-wasm) against @noble/hashes', () => {
  it('agrees on random inputs, including multi-part input = concatenation', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 5 }), (parts) => {
        const whole = Buffer.concat(parts);
        const expected = nobleBlake3(whole);
        expect(blake3(...parts)).toEqual(expected);
        expect(blake3(whole)).toEqual(expected);
        expect(blake3Hex(...parts)).toBe(toHex(expected));
      }),
      { numRuns: 200 },
    );
  });

  it('returns a fresh array each call (the shared hasher does not leak state)', () => {
    const a = blake3(Uint8Array.of(1));
    const b = blake3(Uint8Array.of(2));
    expect(a).not.toEqual(b);
    expect(blake3(Uint8Array.of(1))).toEqual(a);
  });
});

describe('Ed25519 (libsodium or node:crypto signing, node:crypto verifying)', () => {
  it('matches @noble/ed25519 for public keys and signatures, and both verify', () => {
    fc.assert(
      fc.property(bytes(32), fc.uint8Array({ maxLength: 300 }), (seed, msg) => {
        const signer = new Ed25519Signer(seed);
        const pub = nobleEd.getPublicKey(seed);
        expect(signer.publicKey).toEqual(pub);
        expect(publicKeyFromSeed(seed)).toEqual(pub);
        const sig = signer.sign(msg);
        expect(sig).toEqual(nobleEd.sign(msg, seed));
        expect(sign(seed, msg)).toEqual(sig);
        expect(verify(pub, msg, sig)).toBe(true);
        expect(nobleEd.verify(sig, msg, pub)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('signs through libsodium where sodium-native loads, with the bytes of node:crypto and @noble/ed25519', () => {
    if (process.platform === 'linux' && process.arch === 'x64') expect(ED25519_SIGN_BACKEND).toBe('libsodium');
    expect(ED25519_SIGN_BACKEND).toBe(nativeEd25519 === undefined ? 'node:crypto' : 'libsodium');
    fc.assert(
      // Messages past 64 bytes too (the native signer copies short ones to an off-heap buffer first), and views.
      fc.property(bytes(32), fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 7 }), (seed, msg, at) => {
        const viaNode = new Ed25519Signer(seed, 'node:crypto');
        const viaDefault = new Ed25519Signer(seed);
        const host = new Uint8Array(msg.length + 8);
        host.set(msg, at);
        const view = host.subarray(at, at + msg.length);
        const expected = nobleEd.sign(msg, seed);
        expect(viaNode.publicKey).toEqual(nobleEd.getPublicKey(seed));
        expect(viaDefault.publicKey).toEqual(viaNode.publicKey);
        expect(viaNode.sign(view)).toEqual(expected);
        expect(viaDefault.sign(view)).toEqual(expected);
        // A second signature of another message shares no state with the first.
        expect(viaDefault.sign(Uint8Array.of(1))).toEqual(nobleEd.sign(Uint8Array.of(1), seed));
        expect(viaDefault.sign(msg)).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('reproduces the core.md §5.2 cross-check: seed 07×32 → public key ea4a6c63…d22c, key_id 0871f3aa…2433', () => {
    const pub = publicKeyFromSeed(new Uint8Array(32).fill(7));
    expect(toHex(pub)).toMatch(/^ea4a6c63[0-9a-f]{52}d22c$/);
    expect(blake3Hex(pub)).toMatch(/^0871f3aa[0-9a-f]{52}2433$/);
  });

  it('rejects any single-bit change to the message, signature or public key', () => {
    const signer = new Ed25519Signer(randomBytes(32));
    const msg = new Uint8Array(randomBytes(40));
    const sig = signer.sign(msg);
    const pub = signer.publicKey;
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 7 }), fc.constantFrom('msg', 'sig', 'pub'), (at, bit, which) => {
        const m = msg.slice();
        const s = sig.slice();
        const p = pub.slice();
        const target = which === 'msg' ? m : which === 'sig' ? s : p;
        target[at % target.length]! ^= 1 << bit;
        expect(verify(p, m, s)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('verify never throws: wrong lengths, wrong types, random keys and signatures all give false', () => {
    const signer = new Ed25519Signer(randomBytes(32));
    const msg = Uint8Array.of(1, 2, 3);
    const sig = signer.sign(msg);
    const pub = signer.publicKey;
    expect(verify(pub.subarray(1), msg, sig)).toBe(false);
    expect(verify(pub, msg, sig.subarray(0, 63))).toBe(false);
    expect(verify(pub, msg, new Uint8Array([...sig, 0]))).toBe(false);
    expect(verify('k' as unknown as Uint8Array, msg, sig)).toBe(false);
    expect(verify(pub, null as unknown as Uint8Array, sig)).toBe(false);
    expect(verify(pub, msg, undefined as unknown as Uint8Array)).toBe(false);
    // 2^255 - 1 is not a canonical field element; all-0xff is not a point encoding OpenSSL accepts.
    expect(verify(new Uint8Array(32).fill(0xff), msg, sig)).toBe(false);
    fc.assert(
      fc.property(bytes(32), bytes(64), fc.uint8Array({ maxLength: 16 }), (p, s, m) => {
        expect(verify(p, m, s)).toBe(false);
      }),
      { numRuns: 300 },
    );
    // The good signature still verifies after all that (the key cache holds no poisoned entry).
    expect(verify(pub, msg, sig)).toBe(true);
  });

  it('verifies correctly for more distinct keys than the key cache holds', () => {
    const signers = Array.from({ length: 300 }, () => new Ed25519Signer(randomBytes(32)));
    const msg = Uint8Array.of(9);
    const sigs = signers.map((s) => s.sign(msg));
    for (let round = 0; round < 2; round++) {
      signers.forEach((s, i) => {
        expect(verify(s.publicKey, msg, sigs[i]!)).toBe(true);
        expect(verify(s.publicKey, msg, sigs[(i + 1) % sigs.length]!)).toBe(false);
      });
    }
  });

  it('validates seed length and message type with ERR_INVALID_ARGUMENT', () => {
    expect(codeOf(() => new Ed25519Signer(new Uint8Array(31)))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => new Ed25519Signer(new Uint8Array(33)))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => publicKeyFromSeed(new Uint8Array(0)))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => sign(new Uint8Array(64), Uint8Array.of(1)))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => new Ed25519Signer('seed' as unknown as Uint8Array))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => new Ed25519Signer(new Uint8Array(32)).sign('hi' as unknown as Uint8Array))).toBe('ERR_INVALID_ARGUMENT');
  });

  it('never exposes the seed through toString, inspect, JSON or enumerable properties', () => {
    const seed = new Uint8Array(32).fill(0x5a);
    const signer = new Ed25519Signer(seed);
    const seedHex = toHex(seed);
    const seedB64 = Buffer.from(seed).toString('base64');
    const pubHex = toHex(signer.publicKey);
    const renderings = [
      String(signer),
      `${signer}`,
      inspect(signer),
      inspect(signer, { showHidden: true, depth: 10 }),
      inspect({ nested: signer }, { depth: 10 }),
      JSON.stringify(signer),
      JSON.stringify({ signer }),
    ];
    for (const text of renderings) {
      expect(text).not.toContain(seedHex);
      expect(text).not.toContain(seedB64);
      expect(text.toLowerCase()).not.toContain('5a5a5a5a');
      expect(text).toContain(pubHex);
    }
    expect(Object.keys(signer)).toEqual([]);
    expect(JSON.parse(JSON.stringify(signer))).toEqual({ type: 'Ed25519Signer', publicKey: pubHex });
  });

  it('publicKey is a defensive copy', () => {
    const signer = new Ed25519Signer(new Uint8Array(32).fill(1));
    const pub = signer.publicKey;
    pub.fill(0);
    expect(signer.publicKey).not.toEqual(pub);
    expect(verify(signer.publicKey, Uint8Array.of(), signer.sign(Uint8Array.of()))).toBe(true);
  });
});

describe('XChaCha20-Poly1305 (the backend this process uses) against @noble/ciphers', () => {
  it('seals to the same bytes as noble and each opens the other', () => {
    const sizes = fc.oneof(fc.constantFrom(0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 4096), fc.nat({ max: 5000 }));
    fc.assert(
      fc.property(bytes(32), bytes(24), sizes.chain((n) => bytes(n)), fc.uint8Array({ maxLength: 80 }), (key, nonce, pt, aad) => {
        const ours = xchachaSeal(key, nonce, pt, aad);
        const theirs = xchacha20poly1305(key, nonce, aad).encrypt(pt);
        expect(ours.length).toBe(pt.length + XCHACHA_TAG_LENGTH);
        expect(toHex(ours)).toBe(toHex(theirs));
        expect(xchachaOpen(key, nonce, theirs, aad)).toEqual(pt);
        expect(xchacha20poly1305(key, nonce, aad).decrypt(ours)).toEqual(pt);
      }),
      { numRuns: 150 },
    );
  });

  it('hchacha20 subkey drives the whole construction: the same subkey means the same ciphertext', () => {
    const key = new Uint8Array(randomBytes(32));
    const nonceA = new Uint8Array(randomBytes(24));
    const nonceB = nonceA.slice();
    nonceB[20]! ^= 1;
    // Only the last 8 nonce bytes differ: same subkey, different ChaCha nonce.
    expect(hchacha20(key, nonceA.subarray(0, 16))).toEqual(hchacha20(key, nonceB.subarray(0, 16)));
    expect(xchachaSeal(key, nonceA, Uint8Array.of(1), Uint8Array.of())).not.toEqual(xchachaSeal(key, nonceB, Uint8Array.of(1), Uint8Array.of()));
  });

  it('any altered byte, wrong key, nonce or AAD fails with ERR_PAYLOAD_DECRYPT_FAILED', () => {
    const key = new Uint8Array(randomBytes(32));
    const nonce = new Uint8Array(randomBytes(24));
    const aad = new TextEncoder().encode('entity:x');
    const pt = new Uint8Array(randomBytes(100));
    const sealed = xchachaSeal(key, nonce, pt, aad);
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const bad = sealed.slice();
        bad[at % bad.length]! ^= x;
        expect(codeOf(() => xchachaOpen(key, nonce, bad, aad))).toBe('ERR_PAYLOAD_DECRYPT_FAILED');
      }),
      { numRuns: 200 },
    );
    const flip = (b: Uint8Array, i: number) => {
      const c = b.slice();
      c[i]! ^= 0x80;
      return c;
    };
    expect(codeOf(() => xchachaOpen(flip(key, 0), nonce, sealed, aad))).toBe('ERR_PAYLOAD_DECRYPT_FAILED');
    expect(codeOf(() => xchachaOpen(key, flip(nonce, 3), sealed, aad))).toBe('ERR_PAYLOAD_DECRYPT_FAILED');
    expect(codeOf(() => xchachaOpen(key, flip(nonce, 23), sealed, aad))).toBe('ERR_PAYLOAD_DECRYPT_FAILED');
    expect(codeOf(() => xchachaOpen(key, nonce, sealed, flip(aad, 0)))).toBe('ERR_PAYLOAD_DECRYPT_FAILED');
    expect(codeOf(() => xchachaOpen(key, nonce, sealed, new Uint8Array()))).toBe('ERR_PAYLOAD_DECRYPT_FAILED');
    expect(codeOf(() => xchachaOpen(key, nonce, sealed.subarray(0, sealed.length - 1), aad))).toBe('ERR_PAYLOAD_DECRYPT_FAILED');
    expect(codeOf(() => xchachaOpen(key, nonce, sealed.subarray(0, 15), aad))).toBe('ERR_PAYLOAD_DECRYPT_FAILED');
    expect(codeOf(() => xchachaOpen(key, nonce, new Uint8Array(), aad))).toBe('ERR_PAYLOAD_DECRYPT_FAILED');
    expect(xchachaOpen(key, nonce, sealed, aad)).toEqual(pt);
  });

  it('an empty plaintext seals to just a tag that still authenticates the AAD', () => {
    const key = new Uint8Array(32);
    const nonce = new Uint8Array(24);
    const sealed = xchachaSeal(key, nonce, new Uint8Array(), Uint8Array.of(1));
    expect(sealed.length).toBe(16);
    expect(xchachaOpen(key, nonce, sealed, Uint8Array.of(1))).toEqual(new Uint8Array());
    expect(codeOf(() => xchachaOpen(key, nonce, sealed, Uint8Array.of(2)))).toBe('ERR_PAYLOAD_DECRYPT_FAILED');
  });

  it('misuse (wrong key or nonce length, non-bytes) is ERR_INVALID_ARGUMENT, not a decrypt failure', () => {
    const k = new Uint8Array(32);
    const n = new Uint8Array(24);
    const p = new Uint8Array(4);
    expect(codeOf(() => xchachaSeal(new Uint8Array(16), n, p, p))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => xchachaSeal(k, new Uint8Array(12), p, p))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => xchachaOpen(k, new Uint8Array(25), new Uint8Array(20), p))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => xchachaSeal(k, n, 'text' as unknown as Uint8Array, p))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => xchachaOpen(k, n, new Uint8Array(20), null as unknown as Uint8Array))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => hchacha20(k, new Uint8Array(24)))).toBe('ERR_INVALID_ARGUMENT');
  });

  it('does not alias or modify its inputs', () => {
    const key = new Uint8Array(32).fill(3);
    const nonce = new Uint8Array(24).fill(4);
    const pt = new Uint8Array(50).fill(5);
    const aad = Uint8Array.of(6);
    const sealed = xchachaSeal(key, nonce, pt, aad);
    const opened = xchachaOpen(key, nonce, sealed, aad);
    expect(key).toEqual(new Uint8Array(32).fill(3));
    expect(nonce).toEqual(new Uint8Array(24).fill(4));
    expect(pt).toEqual(new Uint8Array(50).fill(5));
    opened.fill(0);
    expect(xchachaOpen(key, nonce, sealed, aad)).toEqual(pt);
  });
});
