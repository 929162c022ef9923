// The Buffer-backed hex codec keeps the strict refusals of the hand-written one it replaced.
// Buffer.from(s, 'hex') stops silently at a bad digit; these cases pin that netbat never does.
import { describe, expect, it } from 'vitest';
import { decodeHex, encodeHex } from '../src/index.js';
import { writeHexInto } from '../src/hex.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('hex codec', () => {
  it('encodes lowercase, also from a view into a larger buffer', () => {
    const backing = new Uint8Array([0xff, 0x00, 0xab, 0xcd, 0x01]);
    expect(encodeHex(backing.subarray(2, 4))).toBe('abcd');
    expect(encodeHex(new Uint8Array())).toBe('');
  });

  it('decodes both cases into a fresh array of its own', () => {
    for (const token of ['00fFaB', ascii('00fFaB')]) {
      const decoded = decodeHex(token);
      expect(decoded).toEqual({ ok: true, bytes: new Uint8Array([0x00, 0xff, 0xab]) });
      if (decoded.ok) expect(decoded.bytes.buffer.byteLength).toBe(3);
    }
  });

  it('refuses odd length, then size, then a bad digit anywhere (not truncating at it)', () => {
    for (const wrap of [(s: string) => s, ascii]) {
      expect(decodeHex(wrap('abc'))).toEqual({ ok: false, failure: 'odd_length' });
      expect(decodeHex(wrap('zz'), 0)).toEqual({ ok: false, failure: 'too_large' });
      expect(decodeHex(wrap('abcg'))).toEqual({ ok: false, failure: 'not_hex' });
      expect(decodeHex(wrap('gbcd'))).toEqual({ ok: false, failure: 'not_hex' });
      expect(decodeHex(wrap('ab cd '))).toEqual({ ok: false, failure: 'not_hex' });
      expect(decodeHex(wrap('0x'))).toEqual({ ok: false, failure: 'not_hex' });
    }
    // Non-ASCII: a string is measured in UTF-8 bytes; a byte above 0x7f is never a digit.
    expect(decodeHex('é')).toEqual({ ok: false, failure: 'not_hex' });
    expect(decodeHex('éa')).toEqual({ ok: false, failure: 'odd_length' });
    expect(decodeHex(new Uint8Array([0x61, 0xe1]))).toEqual({ ok: false, failure: 'not_hex' });
  });

  it('writes hex ASCII into a target at an offset', () => {
    const out = new Uint8Array(6).fill(0x2e);
    expect(writeHexInto(new Uint8Array([0x0a, 0xb0]), out, 1)).toBe(5);
    expect(new TextDecoder().decode(out)).toBe('.0ab0.');
  });

  it('agrees with Buffer on every byte value and on both sides of the short-field fast path', () => {
    for (const n of [1, 255, 256, 257, 600]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 151 + 7) & 0xff);
      const expected = Buffer.from(bytes).toString('hex');
      expect(encodeHex(bytes)).toBe(expected);
      const out = new Uint8Array(2 * n + 2);
      expect(writeHexInto(bytes, out, 1)).toBe(2 * n + 1);
      expect(new TextDecoder().decode(out.subarray(1, 2 * n + 1))).toBe(expected);
      for (const token of [expected, expected.toUpperCase()]) expect(decodeHex(ascii(token))).toEqual({ ok: true, bytes });
      // A bad digit in the last place is found, not dropped.
      expect(decodeHex(ascii(`${expected.slice(0, -1)}g`))).toEqual({ ok: false, failure: 'not_hex' });
    }
    for (let b = 0; b < 256; b++) {
      const one = new Uint8Array([b]);
      expect(decodeHex(ascii(encodeHex(one)))).toEqual({ ok: true, bytes: one });
      const isDigit = /^[0-9a-fA-F]$/.test(String.fromCharCode(b));
      expect(decodeHex(new Uint8Array([b, 0x30])).ok).toBe(isDigit);
      expect(decodeHex(new Uint8Array([0x30, b])).ok).toBe(isDigit);
    }
  });
});
