// Property (INV-PAYLOAD-ROUND-TRIP): any value a typed append accepts comes back deep-equal through append + get.
// Two generators: the documented value model (always accepted), and fast-check's "anything" (accepted and equal, or ERR_INVALID_PAYLOAD).

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatpakError, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';

const Any = defineEvent<unknown>({ category: 3, typeId: 7, name: 'Any' });
const RUNS = Number(process.env.BATPAK_PROP_RUNS ?? 150);

let store: Store;
beforeAll(async () => {
  store = await Store.open({ dir: '/p', fs: new SimFs(11), sync: 'none' });
});
afterAll(async () => {
  await store.close();
});

/** -0 is documented to come back as 0 (they are ===); everything else must be exactly equal. */
function normalized(v: unknown): unknown {
  if (Object.is(v, -0)) return 0;
  if (Array.isArray(v)) return v.map(normalized);
  if (v instanceof Uint8Array || v instanceof Date || typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalized(x)]));
}

const key = fc.string({ unit: 'grapheme', maxLength: 6 }).filter((k) => k !== '__proto__');
const leaf = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer(),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.uint8Array({ maxLength: 12 }),
  fc.date({ noInvalidDate: false }),
);
const modelValue = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 }),
  ),
})).value;

async function appendAndGet(value: unknown): Promise<unknown> {
  const r = await store.append({ entity: 'prop', scope: 's' }, Any, value);
  return (await store.get(r.eventId)).payload;
}

describe('INV-PAYLOAD-ROUND-TRIP property', () => {
  it('every value of the documented model is accepted and comes back deep-equal', async () => {
    await fc.assert(
      fc.asyncProperty(modelValue, async (value) => {
        expect(await appendAndGet(value)).toEqual(normalized(value));
      }),
      { numRuns: RUNS },
    );
  });

  it('any JS value is either refused with ERR_INVALID_PAYLOAD or comes back deep-equal', async () => {
    const anything = fc.anything({
      maxDepth: 3,
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true,
      withUnicodeString: true,
      key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'k\uD800', '\uDC00')),
    });
    await fc.assert(
      fc.asyncProperty(anything, async (value) => {
        let back: unknown;
        try {
          back = await appendAndGet(value);
        } catch (err) {
          expect(err).toBeInstanceOf(BatpakError);
          expect((err as BatpakError).code).toBe('ERR_INVALID_PAYLOAD');
          return;
        }
        expect(normalizedStrict(back)).toStrictEqual(normalizedStrict(value));
      }),
      { numRuns: RUNS },
    );
  });
});

/**
 * Strict comparison form, applied to both sides: bytes compare as bytes (msgpackr returns a Buffer, or a plain
 * Uint8Array when empty: both are Uint8Arrays), null-prototype objects as plain ones, -0 as 0. Nothing else is
 * normalized, so a dropped key, a hole, a changed type or a lost property still fails.
 */
function normalizedStrict(v: unknown): unknown {
  if (Object.is(v, -0)) return 0;
  if (v instanceof Uint8Array) return { bytes: [...v] };
  if (Array.isArray(v)) return v.map(normalizedStrict);
  if (v instanceof Date || typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = normalizedStrict(x);
  return out;
}
