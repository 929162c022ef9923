// The plain-JavaScript BLAKE3 of one short chunk (the signed group's leaves and nodes) against @noble/hashes and
// the vendored wasm. Invariant under test: same bytes for every length 0…1024, whatever lies past the message.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { blake3 } from '../src/crypto/blake3.js';
import { blake3ShortInto, SHORT_MAX } from '../src/crypto/blake3-short.js';

/** blake3ShortInto of `msg`, laid out at byte `from` of a bigger buffer whose other bytes are `fill`. */
function shortHash(msg: Uint8Array, fill: number, outAt = 0, from = 0): Uint8Array {
  const buf = new Uint8Array(from + SHORT_MAX + 64).fill(fill);
  buf.set(msg, from);
  const out = new Uint8Array(outAt + 40).fill(0xee);
  blake3ShortInto(new DataView(buf.buffer), from, msg.length, out, outAt);
  // Nothing outside out[outAt, outAt + 32) is written.
  expect(out.subarray(0, outAt).every((b) => b === 0xee)).toBe(true);
  expect(out.subarray(outAt + 32).every((b) => b === 0xee)).toBe(true);
  return out.slice(outAt, outAt + 32);
}

describe('blake3ShortInto (one chunk, plain JavaScript)', () => {
  it('matches @noble/hashes and the wasm for every length up to one chunk, with any bytes past the message', () => {
    expect(SHORT_MAX).toBe(1024);
    for (let n = 0; n <= SHORT_MAX; n++) {
      const msg = new Uint8Array(randomBytes(n));
      const expected = nobleBlake3(msg);
      expect(blake3(msg)).toEqual(expected);
      // Past the message: zeros, ones, and the message's own bytes repeated must all be ignored.
      expect(shortHash(msg, 0, n % 5)).toEqual(expected);
      expect(shortHash(msg, 0xff)).toEqual(expected);
      // At any byte of its buffer (aligned or not), with bytes before it too.
      expect(shortHash(msg, 0x5a, 0, 1 + (n % 67))).toEqual(expected);
    }
  });

  it('matches @noble/hashes on random messages, one call after another (no state carried over)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: SHORT_MAX }), { minLength: 1, maxLength: 4 }), (msgs) => {
        for (const m of msgs) expect(shortHash(m, m.length & 0xff, 0, m.length % 13)).toEqual(nobleBlake3(m));
      }),
      { numRuns: 200 },
    );
  });

  it('hashes the official BLAKE3 test vectors of one chunk or less (fixtures/vectors) to their digests', () => {
    const file = new URL('../../../fixtures/vectors/blake3_test_vectors.json', import.meta.url);
    const { cases } = JSON.parse(readFileSync(file, 'utf8')) as { cases: { input_len: number; hash: string }[] };
    const short = cases.filter((c) => c.input_len <= SHORT_MAX);
    expect(short.map((c) => c.input_len)).toEqual([0, 1, 1023, 1024]);
    for (const c of short) {
      const msg = Uint8Array.from({ length: c.input_len }, (_, i) => i % 251);
      expect(Buffer.from(shortHash(msg, 7)).toString('hex')).toBe(c.hash.slice(0, 64));
    }
  });
});
