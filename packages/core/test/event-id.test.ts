// Event ids as the append path makes them: UUIDv7 bytes from the clock and the random pool, and their 32-character
// lowercase hex form (written without a Buffer per id), which must be exactly what the generic hex encoder gives.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { randomBytesInto } from '../src/crypto/random.js';
import { eventIdToString, isEventIdString, newEventId } from '../src/id.js';

describe('event ids', () => {
  it('print as the lowercase hex of their 16 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (id) => {
        expect(eventIdToString(id)).toBe(Buffer.from(id).toString('hex'));
      }),
      { numRuns: 500 },
    );
    expect(eventIdToString(new Uint8Array(16).fill(0xff))).toBe('f'.repeat(32));
  });

  it('are UUIDv7 with the clock in the first 6 bytes, and no two alike', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = newEventId(0x0123_4567_89ab);
      expect([...id.subarray(0, 6)]).toEqual([0x01, 0x23, 0x45, 0x67, 0x89, 0xab]);
      expect(id[6]! >> 4).toBe(7);
      expect(id[8]! >> 6).toBe(2);
      const text = eventIdToString(id);
      expect(isEventIdString(text)).toBe(true);
      seen.add(text);
    }
    expect(seen.size).toBe(5000);
  });

  it('randomBytesInto fills only the bytes it is given, with bytes never handed out twice', () => {
    const a = new Uint8Array(12);
    const b = new Uint8Array(12);
    randomBytesInto(a, 1, 10);
    randomBytesInto(b, 1, 10);
    expect(a[0]).toBe(0);
    expect(a[11]).toBe(0);
    expect(b[0]).toBe(0);
    expect(Buffer.compare(a.subarray(1, 11), b.subarray(1, 11))).not.toBe(0);
  });
});
