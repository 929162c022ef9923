// The Bloom filter of index files (FORMAT.md § Segment index files, Bloom filters): MurmurHash3 matches
// its published vectors, a filter never forgets a key, its false-positive rate is about 1 % at 10 bits
// per key, and a damaged section does not decode.
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BloomFilter, bloomSectionBytes, decodeBloom, encodeBloom, murmur3 } from '../src/event-index/bloom-filter.js';
import { rng } from './helpers/index-file-fixture.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('Bloom filter', () => {
  it('MurmurHash3 x86_32 gives the published values', () => {
    expect(murmur3(new Uint8Array(0), 0)).toBe(0);
    expect(murmur3(new Uint8Array(0), 1)).toBe(0x514e28b7);
    expect(murmur3(new Uint8Array(0), 0xffffffff)).toBe(0x81f16f39);
    expect(murmur3(new Uint8Array(4), 0)).toBe(0x2362f9de);
    expect(murmur3(ascii('aaaa'), 0x9747b28c)).toBe(0x5a97808a);
    expect(murmur3(ascii('aaa'), 0x9747b28c)).toBe(0x283e0130);
    expect(murmur3(ascii('aa'), 0x9747b28c)).toBe(0x5d211726);
    expect(murmur3(ascii('a'), 0x9747b28c)).toBe(0x7fa09ea6);
    expect(murmur3(ascii('Hello, world!'), 0x9747b28c)).toBe(0x24884cba);
    expect(murmur3(ascii('The quick brown fox jumps over the lazy dog'), 0x9747b28c)).toBe(0x2fa826cd);
  });

  it('never forgets a key, and lets about 1 % of absent keys through', () => {
    const rnd = rng(42);
    const key = () => new Uint8Array(16).map(() => Math.floor(rnd() * 256));
    const f = BloomFilter.sizedFor(20_000, 7);
    const keys = Array.from({ length: 20_000 }, key);
    for (const k of keys) f.add(k);
    for (const k of keys) expect(f.mayContain(k)).toBe(true);
    let passed = 0;
    for (let i = 0; i < 200_000; i++) if (f.mayContain(key())) passed++;
    // k = 7 at 10 bits per key: 0.82 % in theory.
    expect(passed / 200_000).toBeGreaterThan(0.004);
    expect(passed / 200_000).toBeLessThan(0.015);
  });

  it('INV-INDEX-FILE-CHECKED: round-trips through its section, and a changed byte or a wrong key count does not decode', () => {
    const f = BloomFilter.sizedFor(10, 99);
    for (let i = 0; i < 10; i++) f.add(new Uint8Array([i]));
    const out = new Uint8Array(bloomSectionBytes(10));
    expect(encodeBloom(f, out, 0, crc32)).toBe(out.length);
    const back = decodeBloom(out, 10, crc32)!;
    expect(back.seed).toBe(99);
    for (let i = 0; i < 10; i++) expect(back.mayContain(new Uint8Array([i]))).toBe(true);
    expect(decodeBloom(out, 11, crc32)).toBeUndefined();
    for (let at = 0; at < out.length; at++) {
      const bad = out.slice();
      bad[at]! ^= 0x20;
      expect(decodeBloom(bad, 10, crc32), `byte ${at}`).toBeUndefined();
    }
  });
});
