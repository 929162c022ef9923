// Official test vectors (fixtures/vectors) run against our primitives and, independently, against @noble and hash-wasm.
// Invariant under test: a wrong primitive cannot pass, because the expected values come from the specs, not from us.

import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as nobleEd from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { hchacha, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { blake3 as wasmBlake3 } from 'hash-wasm';
import { fromHex, toHex } from '../src/encoding/hex.js';
import { blake3, blake3Hex } from '../src/crypto/blake3.js';
import { Ed25519Signer, publicKeyFromSeed, sign, verify } from '../src/crypto/ed25519.js';
import { hchacha20, xchachaOpen, xchachaSeal } from '../src/crypto/aead.js';

nobleEd.hashes.sha512 = sha512;

const VECTORS = new URL('../../../fixtures/vectors/', import.meta.url);
const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, VECTORS), 'utf8')) as T;

interface Blake3Vectors {
  key: string;
  context_string: string;
  cases: { input_len: number; hash: string; keyed_hash: string; derive_key: string }[];
}
interface Rfc8032Vectors {
  vectors: { name: string; secret_key: string; public_key: string; message: string; signature: string }[];
}
interface WycheproofEddsa {
  numberOfTests: number;
  testGroups: { publicKey: { pk: string }; tests: { tcId: number; msg: string; sig: string; result: 'valid' | 'invalid' }[] }[];
}
interface XChaChaVectors {
  aead: { name: string; key: string; nonce: string; aad: string; plaintext: string; ciphertext: string; tag: string }[];
  hchacha20: { name: string; key: string; nonce: string; subkey: string }[];
}

const b3 = load<Blake3Vectors>('blake3_test_vectors.json');
const rfc = load<Rfc8032Vectors>('rfc8032_ed25519.json');
const wp = load<WycheproofEddsa>('wycheproof_ed25519_subset.json');
const xc = load<XChaChaVectors>('xchacha20poly1305.json');
const wpTests = wp.testGroups.flatMap((g) => g.tests.map((t) => ({ ...t, pk: g.publicKey.pk })));

const counts = { blake3: 0, ed25519: 0, xchacha: 0 };
afterAll(() => {
  // CI output shows how many official vectors actually ran.
  console.log(`vectors: blake3 ${counts.blake3}, ed25519 ${counts.ed25519}, xchacha ${counts.xchacha}`);
});

describe('BLAKE3 official vectors (BLAKE3-team/BLAKE3 test_vectors.json)', () => {
  const enc = new TextEncoder();
  const key = enc.encode(b3.key);
  const context = enc.encode(b3.context_string);
  const input = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);

  it('the file is complete', () => {
    expect(b3.cases).toHaveLength(22);
    expect(b3.cases.map((c) => c.input_len)).toContain(102400);
    expect(key.length).toBe(32);
  });

  it.each(b3.cases.map((c) => [c.input_len, c] as const))('input_len %i', async (_len, c) => {
    const data = input(c.input_len);
    const outLen = c.hash.length / 2;
    // Ours: 32-byte default output = the first 32 bytes of the extended output.
    expect(toHex(blake3(data))).toBe(c.hash.slice(0, 64));
    expect(blake3Hex(data)).toBe(c.hash.slice(0, 64));
    // Split input must not change the result (the hasher is shared and streamed).
    const mid = Math.floor(data.length / 3);
    expect(toHex(blake3(data.subarray(0, mid), data.subarray(mid)))).toBe(c.hash.slice(0, 64));
    // Independent implementations, full extended output, all three modes.
    expect(toHex(nobleBlake3(data, { dkLen: outLen }))).toBe(c.hash);
    expect(toHex(nobleBlake3(data, { dkLen: outLen, key }))).toBe(c.keyed_hash);
    expect(toHex(nobleBlake3(data, { dkLen: outLen, context }))).toBe(c.derive_key);
    expect(await wasmBlake3(data, outLen * 8)).toBe(c.hash);
    expect(await wasmBlake3(data, outLen * 8, key)).toBe(c.keyed_hash);
    counts.blake3++;
  });
});

describe('Ed25519 RFC 8032 §7.1', () => {
  it('has the five vectors of §7.1', () => {
    expect(rfc.vectors.map((v) => v.name)).toEqual(['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)']);
    expect(fromHex(rfc.vectors[3]!.message)).toHaveLength(1023);
  });

  it.each(rfc.vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    const seed = fromHex(v.secret_key);
    const pub = fromHex(v.public_key);
    const msg = fromHex(v.message);
    const sig = fromHex(v.signature);
    // Ours.
    expect(toHex(publicKeyFromSeed(seed))).toBe(v.public_key);
    const signer = new Ed25519Signer(seed);
    expect(toHex(signer.publicKey)).toBe(v.public_key);
    expect(toHex(signer.sign(msg))).toBe(v.signature);
    expect(toHex(sign(seed, msg))).toBe(v.signature);
    expect(verify(pub, msg, sig)).toBe(true);
    // Independent.
    expect(toHex(nobleEd.getPublicKey(seed))).toBe(v.public_key);
    expect(toHex(nobleEd.sign(msg, seed))).toBe(v.signature);
    expect(nobleEd.verify(sig, msg, pub, { zip215: false })).toBe(true);
    counts.ed25519++;
  });
});

describe('Ed25519 Wycheproof subset (C2SP/wycheproof ed25519_test.json)', () => {
  it('has valid and invalid cases', () => {
    expect(wpTests).toHaveLength(wp.numberOfTests);
    expect(wpTests.filter((t) => t.result === 'valid').length).toBeGreaterThan(0);
    expect(wpTests.filter((t) => t.result === 'invalid').length).toBeGreaterThan(0);
  });

  it.each(wpTests.map((t) => [t.tcId, t.result, t] as const))('tcId %i is %s', (_id, result, t) => {
    const pub = fromHex(t.pk);
    const msg = fromHex(t.msg);
    const sig = fromHex(t.sig);
    expect(verify(pub, msg, sig)).toBe(result === 'valid');
    // Noble's RFC 8032 mode wants exactly 64 signature bytes; other lengths are invalid by definition.
    let noble = false;
    try {
      noble = nobleEd.verify(sig, msg, pub, { zip215: false });
    } catch {
      noble = false;
    }
    expect(noble).toBe(result === 'valid');
    counts.ed25519++;
  });
});

describe('XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha)', () => {
  it.each(xc.hchacha20.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    expect(toHex(hchacha20(fromHex(v.key), fromHex(v.nonce)))).toBe(v.subkey);
    const word = (hex: string) => new Uint32Array(fromHex(hex).slice().buffer);
    const out = new Uint32Array(8);
    hchacha(new Uint32Array(new TextEncoder().encode('expand 32-byte k').buffer), word(v.key), word(v.nonce), out);
    expect(toHex(new Uint8Array(out.buffer))).toBe(v.subkey);
    counts.xchacha++;
  });

  it.each(xc.aead.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    const key = fromHex(v.key);
    const nonce = fromHex(v.nonce);
    const aad = fromHex(v.aad);
    const pt = fromHex(v.plaintext);
    const sealed = v.ciphertext + v.tag;
    // Ours.
    expect(toHex(xchachaSeal(key, nonce, pt, aad))).toBe(sealed);
    expect(toHex(xchachaOpen(key, nonce, fromHex(sealed), aad))).toBe(v.plaintext);
    // Independent.
    expect(toHex(xchacha20poly1305(key, nonce, aad).encrypt(pt))).toBe(sealed);
    expect(toHex(xchacha20poly1305(key, nonce, aad).decrypt(fromHex(sealed)))).toBe(v.plaintext);
    counts.xchacha++;
  });
});
