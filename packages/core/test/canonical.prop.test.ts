// Properties of the canonical codec: round trips, the smallest-integer rule, and a decoder that only fails typed.
// Invariant under test: anything the strict decoder accepts re-encodes to exactly the bytes it was given.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatpakError, isBatpakError } from '../src/errors.js';
import { fromHex, toHex } from '../src/encoding/hex.js';
import {
  MAX_CANONICAL_DEPTH,
  asByteArray,
  carray,
  cbin,
  cbool,
  cbytesArray,
  cf32,
  cf64,
  cint,
  cmap,
  cnil,
  cstr,
  cuint,
  decodeCanonical,
  encodeCanonical,
  encodeStringBytesMapCanonical,
  type CanonicalEntry,
  type CanonicalValue,
} from '../src/encoding/canonical.js';

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);

// Integers near every width boundary are where smallest-form bugs live; plain uniform bigints rarely hit them.
const boundaryInt = fc
  .constantFrom(0n, 7n, 8n, 15n, 16n, 31n, 32n, 63n, 64n, 127n, 128n, 255n, 256n, 65535n, 65536n, 2n ** 31n, 2n ** 32n, 2n ** 53n, 2n ** 63n)
  .chain((b) => fc.tuple(fc.constantFrom(-1n, 0n, 1n), fc.boolean()).map(([d, neg]) => (neg ? -(b + d) : b + d)))
  .filter((v) => v >= I64_MIN && v <= U64_MAX);
const anyInt = fc.oneof(boundaryInt, fc.bigInt({ min: I64_MIN, max: U64_MAX }), fc.integer().map(BigInt));

// Values in the decoder's normal form: no byteArray shorthand, ints normalized by cint, unique map keys.
const valueArb: fc.Arbitrary<CanonicalValue> = fc.letrec<{ value: CanonicalValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(cnil()),
    fc.boolean().map(cbool),
    anyInt.map(cint),
    fc.double().map(cf64),
    fc.float().map(cf32),
    fc.string({ unit: 'binary', maxLength: 40 }).map(cstr),
    fc.string({ unit: 'grapheme-ascii', minLength: 30, maxLength: 300 }).map(cstr),
    fc.uint8Array({ maxLength: 300 }).map(cbin),
    fc.array(tie('value'), { maxLength: 20 }).map(carray),
    fc
      .uniqueArray(fc.tuple(tie('value'), tie('value')), {
        maxLength: 20,
        selector: ([k]) => toHex(encodeCanonical(k)),
      })
      .map((entries) => cmap(entries as CanonicalEntry[])),
  ),
})).value;

function expectInvalid(fn: () => unknown): BatpakError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isBatpakError(caught, 'ERR_INVALID_ARGUMENT')).toBe(true);
  return caught as BatpakError;
}

function expectedIntLength(v: bigint): number {
  if (v >= 0n) return v < 128n ? 1 : v < 2n ** 8n ? 2 : v < 2n ** 16n ? 3 : v < 2n ** 32n ? 5 : 9;
  return v >= -32n ? 1 : v >= -(2n ** 7n) ? 2 : v >= -(2n ** 15n) ? 3 : v >= -(2n ** 31n) ? 5 : 9;
}

describe('round trips', () => {
  it('decode(encode(v)) equals v and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        const bytes = encodeCanonical(v);
        const back = decodeCanonical(bytes);
        expect(back).toEqual(v);
        expect(toHex(encodeCanonical(back))).toBe(toHex(bytes));
      }),
      { numRuns: 400 },
    );
  });

  it('a byteArray encodes exactly like the equivalent array of ints and decodes to it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        const bytes = encodeCanonical(cbytesArray(b));
        expect(toHex(bytes)).toBe(toHex(encodeCanonical(carray([...b].map(cuint)))));
        expect(asByteArray(decodeCanonical(bytes))).toEqual(b);
        // Each byte costs one (< 0x80) or two (cc xx) bytes after the header.
        const header = b.length < 16 ? 1 : 3;
        expect(bytes.length).toBe(header + b.length + b.filter((x) => x >= 0x80).length);
      }),
    );
  });

  it('every strict prefix of a valid encoding is rejected as truncated, never misread', () => {
    fc.assert(
      fc.property(valueArb, fc.nat(), (v, cut) => {
        const bytes = encodeCanonical(v);
        const prefix = bytes.subarray(0, cut % bytes.length);
        const err = expectInvalid(() => decodeCanonical(prefix));
        expect(typeof err.details.offset).toBe('number');
      }),
      { numRuns: 300 },
    );
  });
});

describe('smallest-integer rule (rmp write_uint / write_sint)', () => {
  it('uses the smallest form, the unsigned family for >= 0, and decodes back', () => {
    fc.assert(
      fc.property(anyInt, (n) => {
        const bytes = encodeCanonical(cint(n));
        expect(bytes.length).toBe(expectedIntLength(n));
        const tag = bytes[0]!;
        if (n >= 0n) expect(tag < 0x80 || (tag >= 0xcc && tag <= 0xcf)).toBe(true);
        else expect(tag >= 0xe0 || (tag >= 0xd0 && tag <= 0xd3)).toBe(true);
        const back = decodeCanonical(bytes);
        expect(back.t === 'int' && BigInt(back.v) === n).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('number and bigint inputs give identical bytes and an identical normalized value', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(cint(n)).toEqual(cint(BigInt(n)));
        expect(toHex(encodeCanonical(cint(n)))).toBe(toHex(encodeCanonical(cint(BigInt(n)))));
      }),
    );
  });

  it('the same value in any wider form is refused by default and accepted when asked', () => {
    const wider = (n: bigint): Uint8Array[] => {
      const out: Uint8Array[] = [];
      const put = (tag: number, size: number, v: bigint) => {
        const b = new Uint8Array(1 + size);
        b[0] = tag;
        const dv = new DataView(b.buffer);
        if (size === 1) dv.setUint8(1, Number(BigInt.asUintN(8, v)));
        if (size === 2) dv.setUint16(1, Number(BigInt.asUintN(16, v)));
        if (size === 4) dv.setUint32(1, Number(BigInt.asUintN(32, v)));
        if (size === 8) dv.setBigUint64(1, BigInt.asUintN(64, v));
        out.push(b);
      };
      const len = expectedIntLength(n);
      const sizes = [1, 2, 4, 8] as const;
      sizes.forEach((size, i) => {
        if (1 + size <= len) return;
        if (n >= 0n) {
          if (n < 2n ** BigInt(8 * size)) put(0xcc + i, size, n);
          // A signed tag for a non-negative value is also a form rmp never writes.
          if (n < 2n ** BigInt(8 * size - 1)) put(0xd0 + i, size, n);
        } else if (n >= -(2n ** BigInt(8 * size - 1))) {
          put(0xd0 + i, size, n);
        }
      });
      return out;
    };
    fc.assert(
      fc.property(anyInt, (n) => {
        for (const bytes of wider(n)) {
          expectInvalid(() => decodeCanonical(bytes));
          const v = decodeCanonical(bytes, { allowNonCanonical: true });
          expect(v).toEqual(cint(n));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('pins the boundaries byte for byte', () => {
    const cases: [bigint, string][] = [
      [0n, '00'],
      [127n, '7f'],
      [128n, 'cc80'],
      [255n, 'ccff'],
      [256n, 'cd0100'],
      [65535n, 'cdffff'],
      [65536n, 'ce00010000'],
      [2n ** 32n - 1n, 'ceffffffff'],
      [2n ** 32n, 'cf0000000100000000'],
      [U64_MAX, 'cfffffffffffffffff'],
      [-1n, 'ff'],
      [-32n, 'e0'],
      [-33n, 'd0df'],
      [-128n, 'd080'],
      [-129n, 'd1ff7f'],
      [-32768n, 'd18000'],
      [-32769n, 'd2ffff7fff'],
      [-(2n ** 31n), 'd280000000'],
      [-(2n ** 31n) - 1n, 'd3ffffffff7fffffff'],
      [I64_MIN, 'd38000000000000000'],
    ];
    for (const [n, hex] of cases) expect(toHex(encodeCanonical(cint(n))), String(n)).toBe(hex);
  });
});

describe('strict decoder: malformed input is a typed error with an offset', () => {
  const cases: [string, string, number][] = [
    ['empty input', '', 0],
    ['reserved byte c1', 'c1', 0],
    ['ext type d4', 'd40100', 0],
    ['ext type c7', 'c70101ff', 0],
    ['truncated fixstr', 'a56162', 1],
    ['truncated u32', 'ce0001', 1],
    ['array32 claiming 2^32-1 items', 'ddffffffff', 5],
    ['map32 claiming 2^32-1 entries', 'dfffffffff', 5],
    ['bin32 claiming 4 GiB', 'c6ffffffff00', 5],
    ['invalid UTF-8 in a string', 'a2c328', 1],
    ['UTF-8 encoded surrogate', 'a3eda080', 1],
    ['trailing bytes', '0000', 1],
    ['u8 for a fixint value', 'cc05', 0],
    ['str8 for a short string', 'd903616263', 0],
    ['array16 for 1 item', 'dc000100', 0],
    ['map16 for 1 entry', 'de0001a16100', 0],
    ['bin16 for 1 byte', 'c5000100', 0],
    ['duplicate map key', '82a16100a16101', 4],
  ];

  it.each(cases)('%s', (_name, hex, offset) => {
    const err = expectInvalid(() => decodeCanonical(fromHex(hex)));
    expect(err.details.offset).toBe(offset);
    expect(err.message).toContain(`offset ${offset}`);
  });

  it(`nesting deeper than ${MAX_CANONICAL_DEPTH} is refused without a stack overflow`, () => {
    const deep = new Uint8Array(5000).fill(0x91);
    deep[deep.length - 1] = 0xc0;
    expectInvalid(() => decodeCanonical(deep));
    const ok = new Uint8Array(MAX_CANONICAL_DEPTH + 1).fill(0x91);
    ok[ok.length - 1] = 0xc0;
    expect(toHex(encodeCanonical(decodeCanonical(ok)))).toBe(toHex(ok));
  });

  it('a NaN payload is kept only if it survives the JS round trip', () => {
    for (const hex of ['cb7ff8000000000000', 'cb7ff0000000000001', 'cbfff0000000000abc', 'ca7fc00000', 'ca7f800001', 'caff800123']) {
      let back: CanonicalValue;
      try {
        back = decodeCanonical(fromHex(hex));
      } catch (err) {
        expect(isBatpakError(err, 'ERR_INVALID_ARGUMENT'), hex).toBe(true);
        continue;
      }
      expect(toHex(encodeCanonical(back)), hex).toBe(hex);
    }
    // The quiet NaN that DataView writes is always accepted.
    expect(Number.isNaN((decodeCanonical(fromHex('cb7ff8000000000000')) as { v: number }).v)).toBe(true);
  });

  it('a leading U+FEFF survives a round trip (TextDecoder would strip it by default)', () => {
    const bytes = encodeCanonical(cstr('\ufeffx'));
    expect(toHex(bytes)).toBe('a4efbbbf78');
    expect(decodeCanonical(bytes)).toEqual(cstr('\ufeffx'));
  });

  it('arbitrary bytes either decode to a value that re-encodes identically, or fail typed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        let value: CanonicalValue;
        try {
          value = decodeCanonical(bytes);
        } catch (err) {
          expect(isBatpakError(err, 'ERR_INVALID_ARGUMENT')).toBe(true);
          expect(typeof (err as BatpakError).details.offset).toBe('number');
          return;
        }
        expect(toHex(encodeCanonical(value))).toBe(toHex(bytes));
      }),
      { numRuns: 5000 },
    );
  });

  it('mutated valid encodings never escape as another exception type', () => {
    fc.assert(
      fc.property(valueArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (v, at, b) => {
        const bytes = encodeCanonical(v);
        bytes[at % bytes.length] = b;
        try {
          const back = decodeCanonical(bytes);
          expect(toHex(encodeCanonical(back))).toBe(toHex(bytes));
        } catch (err) {
          expect(isBatpakError(err, 'ERR_INVALID_ARGUMENT')).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('allowNonCanonical accepts what rmp would not write, but still refuses malformed input', () => {
    expect(decodeCanonical(fromHex('82a16100a16101'), { allowNonCanonical: true })).toEqual(
      cmap([
        [cstr('a'), cint(0)],
        [cstr('a'), cint(1)],
      ]),
    );
    expect(decodeCanonical(fromHex('d903616263'), { allowNonCanonical: true })).toEqual(cstr('abc'));
    expectInvalid(() => decodeCanonical(fromHex('a56162'), { allowNonCanonical: true }));
  });

  it('refuses a non-Uint8Array input with the same error type', () => {
    expectInvalid(() => decodeCanonical('00' as unknown as Uint8Array));
  });
});

describe('encoder refuses values it cannot write faithfully', () => {
  it.each<[string, () => unknown]>([
    ['unsafe number', () => cint(2 ** 53)],
    ['fractional number', () => cint(1.5)],
    ['above u64', () => cint(U64_MAX + 1n)],
    ['below i64', () => cint(I64_MIN - 1n)],
    ['negative uint', () => cuint(-1)],
    ['f32 that would round', () => cf32(0.1)],
    ['lone high surrogate', () => encodeCanonical(cstr('a\ud800'))],
    ['lone low surrogate', () => encodeCanonical(cstr('\udc00b'))],
    ['hand-built unsafe int', () => encodeCanonical({ t: 'int', v: 2 ** 60 })],
    ['unknown kind', () => encodeCanonical({ t: 'date' } as unknown as CanonicalValue)],
    ['malformed node', () => encodeCanonical({ t: 'bin' } as unknown as CanonicalValue)],
  ])('%s', (_name, fn) => {
    expectInvalid(fn);
  });

  it('a cyclic value is refused at the depth limit instead of overflowing the stack', () => {
    const items: CanonicalValue[] = [];
    const cyclic = carray(items);
    items.push(cyclic);
    expectInvalid(() => encodeCanonical(cyclic));
  });

  it('a surrogate pair is fine and becomes 4 UTF-8 bytes', () => {
    expect(toHex(encodeCanonical(cstr('\u{1f600}')))).toBe('a4f09f9880');
  });
});

describe('encodeStringBytesMapCanonical (Rust BTreeMap<String, Vec<u8>>)', () => {
  it('empty map is 0x80', () => {
    expect(toHex(encodeStringBytesMapCanonical(new Map()))).toBe('80');
  });

  it('sorts by UTF-8 bytes, not by JS UTF-16 order', () => {
    // U+10000 (f0 90 80 80) sorts after U+FFFF (ef bf bf) in UTF-8, but before it in UTF-16 (d800 < ffff).
    const m = new Map<string, Uint8Array>([
      ['\u{10000}', Uint8Array.of(1)],
      ['b', Uint8Array.of(200)],
      ['\uffff', Uint8Array.of()],
      ['a', Uint8Array.of(0, 255)],
    ]);
    const v = decodeCanonical(encodeStringBytesMapCanonical(m));
    expect(v.t === 'map' && v.entries.map(([k]) => (k.t === 'str' ? k.v : ''))).toEqual(['a', 'b', '\uffff', '\u{10000}']);
    expect(toHex(encodeStringBytesMapCanonical(new Map([['k', Uint8Array.of(0x7f, 0x80)]])))).toBe('81a16b927fcc80');
  });

  it('is independent of insertion order and equals a hand-sorted map', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.string({ unit: 'binary', maxLength: 12 }), fc.uint8Array({ maxLength: 8 })), {
          selector: ([k]) => k,
          maxLength: 12,
        }),
        (pairs) => {
          const forward = encodeStringBytesMapCanonical(new Map(pairs));
          const backward = encodeStringBytesMapCanonical(new Map([...pairs].reverse()));
          expect(toHex(backward)).toBe(toHex(forward));
          const enc = new TextEncoder();
          const sorted = [...pairs].sort(([a], [b]) => Buffer.compare(enc.encode(a), enc.encode(b)));
          const manual = encodeCanonical(cmap(sorted.map(([k, b]): CanonicalEntry => [cstr(k), cbytesArray(b)])));
          expect(toHex(forward)).toBe(toHex(manual));
        },
      ),
    );
  });
});
