// Property: the direct receipt writer is byte-identical to the generic canonical encoder for every envelope it
// accepts, and declines (undefined) only when a string or drawer key leaves ASCII.
import fc from 'fast-check';
import { encodeCanonical } from '@batpak/core';
import { describe, expect, it } from 'vitest';
import { writeReceiptEnvelope } from '../src/receipt/envelope-writer.js';
import { receiptEnvelopeValue, type ReceiptEnvelope } from '../src/receipt/envelope.js';

const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 300 });
const anyText = fc.oneof(ascii, fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 40 }));
const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
const drawer = (key: fc.Arbitrary<string>) =>
  fc.array(fc.tuple(key, fc.uint8Array({ maxLength: 300 })), { maxLength: 20 }).map((entries) => new Map(entries));
const outcome = (text: fc.Arbitrary<string>) =>
  fc.oneof(
    fc.constant({ class: 'completed' as const }),
    fc.record({ class: fc.constantFrom('failed' as const, 'denied' as const), code: text, message: text }),
  );

function envelope(text: fc.Arbitrary<string>): fc.Arbitrary<ReceiptEnvelope> {
  return fc.record({
    descriptorName: text,
    receiptKind: text,
    inputHash: hash,
    outputHash: hash,
    outcome: outcome(text),
    signedExtensions: drawer(text),
    localExtensions: drawer(text),
  }, { requiredKeys: ['descriptorName', 'receiptKind', 'outcome', 'signedExtensions', 'localExtensions'] });
}

describe('writeReceiptEnvelope', () => {
  it('writes the canonical bytes of every ASCII envelope', () => {
    fc.assert(
      fc.property(envelope(ascii), (e) => {
        expect(writeReceiptEnvelope(e)).toEqual(encodeCanonical(receiptEnvelopeValue(e)));
      }),
      { numRuns: 500 },
    );
  });

  it('either matches the canonical bytes or declines, for any text', () => {
    fc.assert(
      fc.property(envelope(anyText), (e) => {
        const direct = writeReceiptEnvelope(e);
        let generic: Uint8Array | Error;
        try {
          generic = encodeCanonical(receiptEnvelopeValue(e));
        } catch (err) {
          generic = err as Error;
        }
        if (direct !== undefined) expect(direct).toEqual(generic);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a hash of the wrong length as the generic encoder does', () => {
    const e: ReceiptEnvelope = {
      descriptorName: 'a.b',
      receiptKind: '',
      inputHash: new Uint8Array(31),
      outcome: { class: 'completed' },
      signedExtensions: new Map(),
      localExtensions: new Map(),
    };
    expect(() => writeReceiptEnvelope(e)).toThrow(RangeError);
    expect(() => encodeCanonical(receiptEnvelopeValue(e))).toThrow(RangeError);
  });
});
