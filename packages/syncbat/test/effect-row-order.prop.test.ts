// Property: an effect row's lists are in Rust `String` order (UTF-8 bytes) and unique, whatever the insertion order,
// including strings with astral characters and lone surrogates, where UTF-16 order differs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EffectRow } from '../src/index.js';

const text = fc.oneof(fc.string({ maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 6 }), fc.string({ unit: 'grapheme', maxLength: 4 }));
const utf8 = new TextEncoder();

function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(utf8.encode(a)), Buffer.from(utf8.encode(b)));
}

describe('EffectRow list order', () => {
  it('keeps every list sorted by UTF-8 bytes and free of duplicates', () => {
    fc.assert(
      fc.property(fc.array(text, { maxLength: 30 }), (targets) => {
        let row = EffectRow.empty();
        for (const t of targets) row = row.readsEvent(t);
        // Lone surrogates encode to U+FFFD, so two distinct strings may share bytes: order by bytes, ties by insertion.
        const expected = [...new Set(targets)].sort((a, b) => byUtf8(a, b) || targets.indexOf(a) - targets.indexOf(b));
        expect(row.readsEvents.map((t) => [...utf8.encode(t)])).toEqual(expected.map((t) => [...utf8.encode(t)]));
      }),
      { numRuns: 400 },
    );
  });
});
