// The synchronously compiled, vendored BLAKE3 wasm against hash-wasm's own async hasher and @noble/hashes.
// Invariant under test: same bytes as both for every input size, including inputs split across 16 KiB chunks.

import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createBLAKE3 } from 'hash-wasm';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { toHex } from '../src/encoding/hex.js';
import { blake3, blake3Hex, blake3Into, blake3PrefixedInto } from '../src/crypto/blake3.js';
import { BLAKE3_WASM_SOURCE } from '../src/crypto/blake3-wasm.js';

const CHUNK = 16 * 1024;
const sizes = [0, 1, 63, 64, 65, 1023, 1024, 1025, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 7, 100_000, 1 << 20];

describe('vendored BLAKE3 wasm', () => {
  it('was taken from the installed hash-wasm (rerun scripts/gen-blake3-wasm.mjs after bumping it)', () => {
    const require = createRequire(import.meta.url);
    const { version } = require('hash-wasm/package.json') as { version: string };
    expect(BLAKE3_WASM_SOURCE).toBe(`hash-wasm@${version}`);
  });

  it('matches hash-wasm and @noble/hashes at chunk boundaries and for large inputs', async () => {
    const ref = await createBLAKE3(256);
    for (const n of sizes) {
      const data = randomBytes(n);
      const expected = ref.init().update(data).digest('binary');
      expect(nobleBlake3(data)).toEqual(expected);
      expect(blake3(data)).toEqual(expected);
      expect(blake3Hex(data)).toBe(toHex(expected));
      const cut = Math.floor(n / 3);
      expect(blake3(data.subarray(0, cut), data.subarray(cut, 2 * cut), data.subarray(2 * cut))).toEqual(expected);
    }
  });

  it('matches hash-wasm on random multi-part inputs', async () => {
    const ref = await createBLAKE3(256);
    for (let i = 0; i < 300; i++) {
      const parts = Array.from({ length: i % 6 }, () => randomBytes(Math.floor(Math.random() * (i % 3 === 0 ? 40_000 : 600))));
      ref.init();
      for (const p of parts) ref.update(p);
      expect(blake3(...parts)).toEqual(ref.digest('binary'));
    }
  });

  it('blake3Into and blake3PrefixedInto write the same digest at their offset, in one call or in chunks', () => {
    const prefix = new TextEncoder().encode('batpak.test\0');
    for (const n of [...sizes, 511, 512, CHUNK - prefix.length, CHUNK - prefix.length + 1]) {
      const data = randomBytes(n + 5);
      const out = new Uint8Array(80).fill(0xaa);
      blake3Into(data, 5, n + 5, out, 7);
      expect(out.subarray(7, 39)).toEqual(nobleBlake3(data.subarray(5)));
      expect(out.subarray(0, 7).every((b) => b === 0xaa) && out.subarray(39).every((b) => b === 0xaa)).toBe(true);
      blake3PrefixedInto(prefix, data, n, out, 41);
      expect(out.subarray(41, 73)).toEqual(nobleBlake3(new Uint8Array(Buffer.concat([prefix, data.subarray(0, n)]))));
      expect(out.subarray(73).every((b) => b === 0xaa)).toBe(true);
    }
  });

  it('does not alias its output buffer', () => {
    const a = blake3(Uint8Array.of(1));
    const copy = a.slice();
    blake3(Uint8Array.of(2));
    expect(a).toEqual(copy);
  });
});
