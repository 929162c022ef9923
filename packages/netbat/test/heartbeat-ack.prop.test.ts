// The heartbeat's usual-form ack is a fast path of its codecs: whenever it answers, its bytes are exactly what decoding
// the request and encoding the ack give (INV-NETBAT-TERMINALS wire bytes); every other request is left to the codecs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { carray, cstr, cstruct, cuint, encodeCanonical, type CanonicalValue } from '@batpak/core';
import { TERMINAL_CODECS } from '../src/index.js';
import { usualAck } from '../src/terminals/heartbeat.js';

const codecs = TERMINAL_CODECS['system.heartbeat'];

/** What the codecs answer for `input` at `ms`, or 'refused' when the request does not decode. */
function generic(input: Uint8Array, ms: number): Uint8Array | 'refused' {
  let nonce: string;
  try {
    ({ nonce } = codecs.request.decode(input));
  } catch {
    return 'refused';
  }
  return codecs.ack.encode({ nonce, serverTsMs: BigInt(ms) });
}

/** A str8 header for any length: the non-canonical form for lengths under 32. */
function str8(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  return bytes.length > 255 ? new Uint8Array([0xda, bytes.length >> 8, bytes.length & 0xff, ...bytes]) : new Uint8Array([0xd9, bytes.length, ...bytes]);
}

const nonce = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 25, maxLength: 300 }),
  fc.constantFrom('', 'bench-nonce', 'a'.repeat(31), 'b'.repeat(32), 'c'.repeat(255), 'd'.repeat(256), 'é', 'x\u{1F600}'),
);
const ms = fc.oneof(
  fc.constantFrom(0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 1_765_000_000_000, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);
const request = fc.oneof(
  // The canonical request, and other forms the lenient reader takes or refuses.
  nonce.map((n) => encodeCanonical(cstruct([['nonce', cstr(n)]]))),
  nonce.map((n) => new Uint8Array([0x81, 0xa5, ...new TextEncoder().encode('nonce'), ...str8(n)])),
  nonce.map((n) => encodeCanonical(carray([cstr(n)]))),
  nonce.map((n) => encodeCanonical(cstruct([['nonce', cstr(n)], ['extra', cuint(1)]]))),
  fc.constantFrom<CanonicalValue>(cstruct([]), cstruct([['nonce', cuint(1)]]), cstruct([['nonc', cstr('x')]])).map((v) => encodeCanonical(v)),
  fc.uint8Array({ maxLength: 40 }),
);

describe('system.heartbeat usual-form ack', () => {
  it('answers exactly what the codecs answer, or leaves the request to them', () => {
    let taken = 0;
    fc.assert(
      fc.property(request, fc.nat(40), fc.nat(255), ms, (bytes, at, byte, clock) => {
        for (const input of [bytes, Uint8Array.from(bytes, (b, i) => (i === at ? byte : b)), bytes.subarray(0, at)]) {
          const fast = usualAck(input, clock);
          if (fast === undefined) continue;
          taken++;
          expect(fast).toEqual(generic(input, clock));
        }
      }),
      { numRuns: 2_000 },
    );
    expect(taken).toBeGreaterThan(500);
  });

  it('takes the canonical request of an ASCII nonce up to 255 bytes, and nothing else', () => {
    const ack = usualAck(encodeCanonical(cstruct([['nonce', cstr('bench-nonce')]])), 1_765_000_000_000);
    expect(ack).toEqual(codecs.ack.encode({ nonce: 'bench-nonce', serverTsMs: 1_765_000_000_000n }));
    expect(usualAck(encodeCanonical(cstruct([['nonce', cstr('c'.repeat(255))]])), 5)).toBeDefined();
    expect(usualAck(encodeCanonical(cstruct([['nonce', cstr('é')]])), 5)).toBeUndefined();
    // `short` as a str8 decodes to the same nonce, but its canonical form is a fixstr: not echoed byte for byte.
    expect(usualAck(new Uint8Array([0x81, 0xa5, 0x6e, 0x6f, 0x6e, 0x63, 0x65, ...str8('short')]), 5)).toBeUndefined();
  });
});
