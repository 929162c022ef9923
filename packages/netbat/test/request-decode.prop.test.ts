// The request decoder's fast path for well-formed CALL lines answers exactly what the full decoder answers, or declines:
// every line it takes decodes the same there, and every error still comes from the full decoder in the documented order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type Limits } from '../src/index.js';
import { decodeAnyLine, decodeWellFormedCall } from '../src/frame.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const piece = fc.constantFrom('NETBAT/1', 'NETBAT/2', 'CALL', 'call', ' ', '  ', 'ping', 'a.b', 'a..b', '.a', 'x'.repeat(129), '00', '0', 'zz', 'ff'.repeat(40), '\r', '\n', 'é');
const wellFormed = fc
  .tuple(fc.constantFrom('ping', 'system.heartbeat', 'a.b', 'p', 'x'.repeat(128)), fc.uint8Array({ maxLength: 60 }), fc.constantFrom('\n', '\r\n', ''))
  .map(([op, input, eol]) => enc(`NETBAT/1 CALL ${op} ${Buffer.from(input).toString('hex')}${eol}`));
const line = fc.oneof(
  wellFormed,
  // Well-formed lines with one byte changed, cut, or pieces glued in.
  fc.tuple(wellFormed, fc.nat(200), fc.nat(255)).map(([l, at, b]) => Uint8Array.from(l, (x, i) => (i === at % l.length ? b : x))),
  fc.tuple(wellFormed, fc.nat(200)).map(([l, at]) => l.subarray(0, at % (l.length + 1))),
  fc.tuple(wellFormed, fc.nat(200), piece).map(([l, at, p]) => { const k = at % (l.length + 1); return new Uint8Array([...l.subarray(0, k), ...enc(p), ...l.subarray(k)]); }),
  fc.array(piece, { maxLength: 8 }).map((ps) => enc(ps.join(''))),
);
const limits = fc.constantFrom<Limits>(DEFAULT_LIMITS, { ...DEFAULT_LIMITS, maxOperationNameBytes: 3 }, { ...DEFAULT_LIMITS, maxInputBytes: 8 });

function full(l: Uint8Array, lim: Limits): unknown {
  try {
    return decodeAnyLine(l, lim);
  } catch (err) {
    return { error: (err as { code: string }).code, message: (err as Error).message };
  }
}

describe('request decoding: fast path', () => {
  it('decodes every line it takes exactly as the full decoder does, and takes the well-formed ones', () => {
    let taken = 0;
    fc.assert(
      fc.property(line, limits, (l, lim) => {
        const fast = decodeWellFormedCall(l, lim);
        if (fast === undefined) return;
        taken++;
        expect(fast).toEqual(full(l, lim));
      }),
      { numRuns: 3_000 },
    );
    expect(taken).toBeGreaterThan(300);
  });
});
