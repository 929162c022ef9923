// EntityHeads keys (chain/entity-heads.ts) at their edges: U+0080 (the first non-ASCII code unit), strings whose UTF-8
// outgrows the encoder's scratch, keys bigger than the arena, lone surrogates differing anywhere, and many keys that
// are prefixes of each other in one table (so probes meet other keys). Two keys are one chain exactly when the
// strings are equal (INV-CHAIN-RECOMPUTE: links are judged per entity).
import { describe, expect, it } from 'vitest';
import { EntityHeads } from '../src/chain/entity-heads.js';

const h = (b: number): Uint8Array => new Uint8Array(32).fill(b);
const ZERO = new Uint8Array(32);
const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

/** Starts a chain for `s` as a string, then checks its bytes find the same chain (and a linked second event). */
function sameChain(heads: EntityHeads, s: string, mark: number): void {
  expect(heads.follow(s, ZERO, 0, h(mark), 0), `first event of ${JSON.stringify(s.slice(0, 8))}`).toBe(true);
  const key = utf8(s);
  expect(heads.followAt(key, 0, key.length, h(mark), 0, h(mark + 1), 0), `bytes of ${JSON.stringify(s.slice(0, 8))}`).toBe(true);
}

describe('EntityHeads keys', () => {
  it('U+0080 and longer non-ASCII strings are keyed by their UTF-8 bytes', () => {
    const heads = new EntityHeads();
    sameChain(heads, '\u0080', 1);
    sameChain(heads, 'a\u0080b', 3);
    // 400 bytes of UTF-8 from 200 code units: more than the encoder's first scratch holds.
    sameChain(heads, 'é'.repeat(200), 5);
    sameChain(heads, `x${'€'.repeat(300)}`, 7);
    expect(heads.size).toBe(4);
  });

  it('a key bigger than the whole key arena is kept whole', () => {
    const heads = new EntityHeads();
    sameChain(heads, 'k'.repeat(10_000), 1);
    sameChain(heads, 'k'.repeat(9_999), 3);
    sameChain(heads, `${'k'.repeat(9_999)}j`, 5);
    expect(heads.size).toBe(3);
    expect(heads.follow('k'.repeat(10_000), h(2), 0, h(9), 0)).toBe(true);
  });

  it('lone-surrogate strings that differ in any one code unit are different chains', () => {
    const heads = new EntityHeads();
    const names = ['a\uD800', 'b\uD800', '\uD800a', '\uD800b', 'ab\uDC00c', 'ab\uDC00d', 'ab\uDC01c', '\uD800'];
    names.forEach((s, i) => expect(heads.follow(s, ZERO, 0, h(10 + i), 0), s).toBe(true));
    expect(heads.size).toBe(names.length);
    names.forEach((s, i) => expect(heads.follow(s, h(10 + i), 0, h(10 + i), 0), s).toBe(true));
  });

  it('hundreds of keys that are prefixes of each other each keep their own head', () => {
    const heads = new EntityHeads();
    const n = 600;
    const name = (k: number) => 'p'.repeat(k + 1);
    const mark = (k: number) => h(k % 256).map((b, i) => (i === 1 ? k >> 8 : b));
    for (let k = 0; k < n; k++) expect(heads.follow(name(k), ZERO, 0, mark(k), 0)).toBe(true);
    expect(heads.size).toBe(n);
    for (let k = 0; k < n; k++) {
      const key = utf8(name(k));
      expect(heads.followAt(key, 0, key.length, mark(k), 0, mark(k), 0), `prefix ${k}`).toBe(true);
    }
  });
});
