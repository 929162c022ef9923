// verifyChain's chain heads keyed by the entity's bytes (chain/entity-heads.ts): each entity's chain is its own, an
// entity given as a string and as its UTF-8 bytes is one chain, and two different strings are never one chain — a
// lone surrogate included, which has no UTF-8 encoding (INV-CHAIN-RECOMPUTE: links are judged per entity).
import { describe, expect, it } from 'vitest';
import { EntityHeads } from '../src/chain/entity-heads.js';

const h = (b: number): Uint8Array => new Uint8Array(32).fill(b);
const ZERO = new Uint8Array(32);
const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

describe('EntityHeads', () => {
  it('keeps every chain’s head apart, for more chains than its first tables hold (grown and rehashed)', () => {
    const heads = new EntityHeads();
    const chains = 1500;
    const first = (c: number) => h(c % 251).map((b, i) => (i === 0 ? c >> 8 : b));
    for (let c = 0; c < chains; c++) expect(heads.follow(`e${c}`, ZERO, 0, first(c), 0)).toBe(true);
    expect(heads.size).toBe(chains);
    for (let c = 0; c < chains; c++) expect(heads.follow(`e${c}`, first(c), 0, h(7), 0)).toBe(true);
    expect(heads.size).toBe(chains);
    // Each chain's head moved on: its first hash no longer links, and another chain's never did.
    expect(heads.follow('e3', first(3), 0, h(8), 0)).toBe(false);
    expect(heads.follow('e4', h(7), 0, h(8), 0)).toBe(true);
    expect(heads.follow('e1499', first(1498), 0, h(8), 0)).toBe(false);
    // A chain's first event must link to the zero hash: anything else is a broken link, and it still becomes the head.
    expect(heads.follow('new', h(1), 0, h(2), 0)).toBe(false);
    expect(heads.follow('new', h(2), 0, h(3), 0)).toBe(true);
  });

  it('an entity as a string and as its UTF-8 bytes (anywhere in a buffer) is one chain; prefixes and one-byte changes are not', () => {
    const heads = new EntityHeads();
    const names = ['a', 'ab', 'abc', 'abd', 'é-non-ascii', 'e-non-ascii', '日本', 'x'.repeat(300), 'x'.repeat(301), ''];
    for (const [i, name] of names.entries()) expect(heads.follow(name, ZERO, 0, h(i + 1), 0)).toBe(true);
    expect(heads.size).toBe(names.length);
    for (const [i, name] of names.entries()) {
      const bytes = utf8(name);
      const buf = new Uint8Array(7 + bytes.length + 5).fill(0xaa);
      buf.set(bytes, 7);
      // prev and content read in place from another buffer, at offsets.
      const hashes = new Uint8Array(3 + 64);
      hashes.set(h(i + 1), 3);
      hashes.set(h(100 + i), 35);
      expect(heads.followAt(buf, 7, bytes.length, hashes, 3, hashes, 35)).toBe(true);
    }
    expect(heads.size).toBe(names.length);
    for (const [i, name] of names.entries()) expect(heads.follow(name, h(100 + i), 0, h(200), 0)).toBe(true);
  });

  it('a string with a lone surrogate is its own chain: not U+FFFD’s, not the bytes EF BF BD', () => {
    const heads = new EntityHeads();
    expect(heads.follow('a\uFFFD', ZERO, 0, h(1), 0)).toBe(true);
    expect(heads.follow('a\uD800', ZERO, 0, h(2), 0)).toBe(true);
    expect(heads.follow('a\uDC00', ZERO, 0, h(3), 0)).toBe(true);
    expect(heads.size).toBe(3);
    expect(heads.followAt(utf8('a\uFFFD'), 0, 4, h(1), 0, h(4), 0)).toBe(true);
    expect(heads.follow('a\uD800', h(2), 0, h(5), 0)).toBe(true);
    expect(heads.follow('a\uDC00', h(3), 0, h(6), 0)).toBe(true);
    expect(heads.size).toBe(3);
  });

  it('copies the content hash: a reused read buffer does not move a head', () => {
    const heads = new EntityHeads();
    const buf = h(9);
    expect(heads.follow('e', ZERO, 0, buf, 0)).toBe(true);
    buf.fill(1);
    expect(heads.follow('e', h(9), 0, h(2), 0)).toBe(true);
  });
  it('compares a head and a key word by word to the last byte: one differing byte anywhere (unaligned, any length) breaks a link or makes another chain', () => {
    const heads = new EntityHeads();
    // Hashes read at an odd offset of a shared buffer (the walk reads them in place).
    const buf = new Uint8Array(5 + 32 + 32);
    const head = h(9).map((b, i) => b + i);
    expect(heads.follow('k', ZERO, 0, head, 0)).toBe(true);
    for (let k = 0; k < 32; k++) {
      buf.set(head, 5);
      buf[5 + k]! ^= 0x80;
      buf.set(head, 37);
      // Not linked (the byte at k differs), and the content still becomes the head: the next, exact link holds.
      expect(heads.followAt(new Uint8Array([0x6b]), 0, 1, buf, 5, buf, 37), `byte ${k}`).toBe(false);
    }
    expect(heads.follow('k', head, 0, h(1), 0)).toBe(true);
    for (let length = 1; length <= 9; length++) {
      const key = new Uint8Array(3 + length + 3).fill(0x61);
      expect(heads.followAt(key, 3, length, ZERO, 0, h(length), 0), `new key of ${length}`).toBe(true);
      for (let k = 0; k < length; k++) {
        const other = key.slice();
        other[3 + k] = 0x62;
        // Another key (one byte differs): a chain of its own, whose first link is the zero hash.
        expect(heads.followAt(other, 3, length, h(length), 0, h(length), 0), `key of ${length}, byte ${k}`).toBe(false);
      }
      expect(heads.followAt(key.slice(), 3, length, h(length), 0, h(100 + length), 0), `same key of ${length}`).toBe(true);
    }
  });
});
