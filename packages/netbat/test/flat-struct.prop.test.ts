// The flat-struct writer is a fast path of the canonical encoder: for every struct it takes, its bytes are the
// generic encoder's; every struct it refuses is left to that encoder (INV-NETBAT-TERMINALS wire bytes).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { carray, cbool, cf64, cint, cnil, cstr, cstruct, decodeCanonical, encodeCanonical, type CanonicalValue } from '@batpak/core';
import { readFlatStruct, writeFlatStruct } from '../src/terminals/flat-struct.js';
import { encodeStruct } from '../src/terminals/wire.js';

const EDGES = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER];
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 28, maxLength: 300 }),
  fc.constantFrom('', 'a'.repeat(31), 'b'.repeat(32), 'c'.repeat(255), 'd'.repeat(256), 'é', 'x\u{1F600}'),
);
const flatValue: fc.Arbitrary<CanonicalValue> = fc.oneof(
  text.map(cstr),
  fc.constantFrom(...EDGES).map((n) => cint(n)),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map((n) => cint(n)),
  fc.integer({ min: -(2 ** 40), max: -1 }).map((n) => cint(n)),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n) => cint(n)),
  fc.boolean().map(cbool),
  fc.constant(cnil()),
  fc.constant(cf64(1.5)),
  fc.constant(carray([cstr('nested')])),
);
const struct = fc.array(fc.tuple(text, flatValue), { maxLength: 17 });

describe('flat-struct writer', () => {
  it('writes exactly the generic canonical bytes, or declines', () => {
    fc.assert(
      fc.property(struct, (fields) => {
        const generic = encodeCanonical(cstruct(fields));
        const flat = writeFlatStruct(fields);
        if (flat !== undefined) expect(flat).toEqual(generic);
        expect(encodeStruct(fields)).toEqual(generic);
      }),
      { numRuns: 500 },
    );
  });

  it('takes the heartbeat ack shape, and returns a copy each time', () => {
    const a = writeFlatStruct([['nonce', cstr('n-1')], ['server_ts_ms', cint(1_765_000_000_000)]]);
    const b = writeFlatStruct([['nonce', cstr('n-2')], ['server_ts_ms', cint(5)]]);
    expect(a).toEqual(encodeCanonical(cstruct([['nonce', cstr('n-1')], ['server_ts_ms', cint(1_765_000_000_000)]])));
    expect(b).toEqual(encodeCanonical(cstruct([['nonce', cstr('n-2')], ['server_ts_ms', cint(5)]])));
    expect(writeFlatStruct([['x', carray([])]])).toBeUndefined();
  });

  /** The generic lenient reading of `bytes`, or 'refused'. */
  const generic = (bytes: Uint8Array): unknown => {
    try {
      return decodeCanonical(bytes, { allowNonCanonical: true });
    } catch {
      return 'refused';
    }
  };

  it('reads exactly what the generic lenient reader reads, or declines', () => {
    // Canonical structs, then the same bytes mutated: cut, extended, a byte flipped, integers widened.
    const mutated = fc.tuple(struct, fc.nat(), fc.nat(255), fc.constantFrom('cut', 'extend', 'flip', 'none')).map(([fields, at, byte, how]) => {
      const b = encodeCanonical(cstruct(fields));
      const i = b.length === 0 ? 0 : at % b.length;
      if (how === 'cut') return b.subarray(0, i);
      if (how === 'extend') return Uint8Array.from([...b, byte]);
      if (how === 'flip') return Uint8Array.from(b, (x, j) => (j === i ? byte : x));
      return b;
    });
    const widened = fc.tuple(fc.nat(0xffffffff), fc.constantFrom(0xcc, 0xcd, 0xce)).map(([n, tag]) => {
      const w = tag === 0xcc ? 1 : tag === 0xcd ? 2 : 4;
      const v = n % 2 ** (8 * w);
      const body = Array.from({ length: w }, (_, j) => Math.floor(v / 2 ** (8 * (w - 1 - j))) & 0xff);
      return Uint8Array.from([0x81, 0xa1, 0x6e, tag, ...body]);
    });
    fc.assert(
      fc.property(fc.oneof(mutated, widened, fc.uint8Array({ maxLength: 24 })), (bytes) => {
        const flat = readFlatStruct(bytes);
        if (flat !== undefined) expect(flat).toEqual(generic(bytes));
      }),
      { numRuns: 1500 },
    );
    expect(readFlatStruct(encodeCanonical(cstruct([['nonce', cstr('bench-nonce')]])))).toEqual({ t: 'map', entries: [[cstr('nonce'), cstr('bench-nonce')]] });
  });
});
