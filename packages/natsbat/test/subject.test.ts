// The subject scheme: entity tokens are NATS-safe and injective; names and prefixes are validated.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENTITY_TOKEN_MAX, entityToken, NatsbatError } from '../src/index.js';
import { subjectBase, subjectFor } from '../src/subject.js';

describe('subject scheme', () => {
  it('keeps [A-Za-z0-9_-] and escapes every other UTF-8 byte as %XX', () => {
    expect(entityToken('account-1_A')).toBe('account-1_A');
    expect(entityToken('account:1')).toBe('account%3A1');
    expect(entityToken('a.b*c>d e%')).toBe('a%2Eb%2Ac%3Ed%20e%25');
    expect(entityToken('ü')).toBe('%C3%BC');
    expect(subjectFor(subjectBase('batpak', 'orders'), 'order:7')).toBe('batpak.orders.order%3A7');
  });

  it('is injective and never yields a separator, wildcard, space or empty token', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' }), fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' }), (a, b) => {
        const ta = entityToken(a);
        expect(ta).toMatch(/^[A-Za-z0-9_%-]+$/);
        if (a !== b) expect(ta).not.toBe(entityToken(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('hashes an entity whose token would exceed the limit, still injectively', () => {
    const long = 'x:'.repeat(200);
    const t = entityToken(long);
    expect(t).toMatch(/^%h[0-9a-f]{64}$/);
    expect(entityToken(`${long}y`)).not.toBe(t);
    // At the limit exactly, the escaped form is kept (and cannot start with %h).
    expect(entityToken('a'.repeat(ENTITY_TOKEN_MAX))).toBe('a'.repeat(ENTITY_TOKEN_MAX));
  });

  it('refuses names and prefixes that are not plain subject tokens', () => {
    for (const name of ['', 'a.b', 'a*', 'a>', 'a b', '$SYS', 'x'.repeat(65)]) {
      expect(() => subjectBase('batpak', name)).toThrow(NatsbatError);
    }
    for (const prefix of ['', 'a..b', 'a.*', 'a.>', '.a']) {
      expect(() => subjectBase(prefix, 'orders')).toThrow(NatsbatError);
    }
    expect(subjectBase('acme.journals', 'orders')).toBe('acme.journals.orders');
  });
});
