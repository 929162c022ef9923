import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_OPERATION_NAME_BYTES,
  OperationNameError,
  checkOperationName,
  describeOperationNameViolation,
  findOperationNameViolation,
  parseOperationName,
  type OperationNameViolation,
} from '../src/operation-name.js';

const NAME_CHARS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-'];
const segment = fc.string({ unit: fc.constantFrom(...NAME_CHARS), minLength: 1, maxLength: 12 });
/** Dot-joined non-empty segments: the shape of every valid name, capped at the byte bound. */
const validName = fc
  .array(segment, { minLength: 1, maxLength: 10 })
  .map((parts) => parts.join('.'))
  .filter((s) => s.length <= MAX_OPERATION_NAME_BYTES);

describe('operation names (syncbat-hostbat.md §1.1)', () => {
  it('accepts the spec examples', () => {
    for (const name of ['ping', '0', '-', '_', 'a-b_c.d', 'a'.repeat(128), 'system.heartbeat', 'Bank.Commit']) {
      expect(findOperationNameViolation(name), name).toBeUndefined();
      expect(parseOperationName(name)).toBe(name);
    }
  });

  it('reports each rule with its kind, first failure winning', () => {
    const table: Array<[string | Uint8Array, OperationNameViolation]> = [
      ['', { kind: 'empty' }],
      ['a'.repeat(129), { kind: 'too_long', len: 129, max: 128 }],
      // too long wins over an illegal byte and over dots
      [' '.repeat(200), { kind: 'too_long', len: 200, max: 128 }],
      ['a b', { kind: 'illegal_character', byte: 0x20 }],
      ['a/b', { kind: 'illegal_character', byte: 0x2f }],
      ['a\tb', { kind: 'illegal_character', byte: 0x09 }],
      ['café', { kind: 'illegal_character', byte: 0xc3 }],
      // an illegal byte wins over dot rules
      ['.a b', { kind: 'illegal_character', byte: 0x20 }],
      ['a..b/', { kind: 'illegal_character', byte: 0x2f }],
      ['.', { kind: 'leading_or_trailing_dot' }],
      ['.x', { kind: 'leading_or_trailing_dot' }],
      ['x.', { kind: 'leading_or_trailing_dot' }],
      // leading dot wins over `..`
      ['..a', { kind: 'leading_or_trailing_dot' }],
      ['a..b', { kind: 'consecutive_dots' }],
      ['foo..bar..baz', { kind: 'consecutive_dots' }],
      [new Uint8Array([0x61, 0xff]), { kind: 'illegal_character', byte: 0xff }],
      [new Uint8Array([]), { kind: 'empty' }],
    ];
    for (const [name, expected] of table) {
      expect(findOperationNameViolation(name), String(name)).toEqual(expected);
    }
  });

  it('measures length in UTF-8 bytes, not UTF-16 units', () => {
    // 64 two-byte characters are 128 bytes (not too long), so the illegal byte is what fails.
    expect(findOperationNameViolation('é'.repeat(64))).toEqual({ kind: 'illegal_character', byte: 0xc3 });
    expect(findOperationNameViolation('é'.repeat(65))).toEqual({ kind: 'too_long', len: 130, max: 128 });
  });

  it('throws a typed error carrying the kind; the check form returns it', () => {
    let caught: unknown;
    try {
      parseOperationName('a..b');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(OperationNameError);
    expect((caught as OperationNameError).kind).toBe('consecutive_dots');
    expect((caught as OperationNameError).message).toBe("operation name must not contain '..'");
    expect(checkOperationName('')).toEqual({ ok: false, violation: { kind: 'empty' } });
    expect(checkOperationName('ok.name')).toEqual({ ok: true, name: 'ok.name' });
  });

  it('renders messages like the Rust OperationNameError display', () => {
    expect(describeOperationNameViolation({ kind: 'empty' })).toBe('operation name is empty');
    expect(describeOperationNameViolation({ kind: 'too_long', len: 200, max: 128 })).toBe(
      'operation name is 200 bytes (max 128)',
    );
    expect(describeOperationNameViolation({ kind: 'illegal_character', byte: 0x2f })).toBe(
      'operation name contains illegal byte 0x2f (allowed: [A-Za-z0-9._-])',
    );
    expect(describeOperationNameViolation({ kind: 'leading_or_trailing_dot' })).toBe(
      "operation name must not start or end with '.'",
    );
  });

  it('property: every accepted name round-trips unchanged', () => {
    fc.assert(
      fc.property(validName, (name) => {
        const result = checkOperationName(name);
        expect(result).toEqual({ ok: true, name });
        expect(parseOperationName(name)).toBe(name);
      }),
      { numRuns: 500 },
    );
  });

  it('property: injecting one illegal byte into a valid name is rejected as that byte', () => {
    const illegalByte = fc
      .integer({ min: 0, max: 255 })
      .filter((b) => !/[A-Za-z0-9._-]/.test(String.fromCharCode(b)));
    fc.assert(
      fc.property(validName, illegalByte, fc.nat(), (name, byte, at) => {
        const bytes = new TextEncoder().encode(name);
        const pos = at % (bytes.length + 1);
        const mutated = new Uint8Array(bytes.length + 1);
        mutated.set(bytes.subarray(0, pos), 0);
        mutated[pos] = byte;
        mutated.set(bytes.subarray(pos), pos + 1);
        const violation = findOperationNameViolation(mutated);
        if (mutated.length > MAX_OPERATION_NAME_BYTES) {
          expect(violation?.kind).toBe('too_long');
        } else {
          expect(violation).toEqual({ kind: 'illegal_character', byte });
        }
      }),
      { numRuns: 500 },
    );
  });
});
