// Fuzzing attestation JSON (INV-ATTEST-JSON, INV-TYPED-ERRORS): mutated, truncated and random inputs to
// attestationFromJSON either parse to an attestation that re-encodes to the same JSON, or throw
// ERR_INVALID_ATTESTATION — never another error, never a hang; verifyAttestation never throws on a parsed one.
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestationFromJSON, attestationToJSON, BatpakError, Coordinate, defineEvent, Store, verifyAttestation, type AttestationJson, type HeadAttestation } from '../src/index.js';
import { publicKeyFromSeed } from '../src/crypto/ed25519.js';
import { SimFs } from '../src/entry/testing.js';

const CASES = Number(process.env.BATPAK_FUZZ_CASES ?? 300);
const SEED = Number(process.env.BATPAK_FUZZ_SEED ?? 0x5eed);
const seed = new Uint8Array(32).fill(41);
const pk = publicKeyFromSeed(seed);
const Note = defineEvent<{ n: number }>({ category: 4, typeId: 1, name: 'Note' });
let reference: AttestationJson;
let store: Store;
let cases = 0;
/** Attestations that parsed from mutated input: each is later checked against the reference store. */
const parsed: HeadAttestation[] = [];

beforeAll(async () => {
  store = await Store.open({ dir: '/s', fs: new SimFs(1), signingKey: seed });
  for (let i = 0; i < 3; i++) await store.append(new Coordinate('e', 's'), Note, { n: i });
  reference = attestationToJSON(await store.attest({ label: 'fuzz' }));
});

afterAll(async () => {
  await store.close();
  console.log(`fuzz (attestation JSON): ${cases} cases`);
  if (process.env.BATPAK_FUZZ_COUNTS !== undefined) appendFileSync(process.env.BATPAK_FUZZ_COUNTS, `${JSON.stringify({ attestations: cases })}\n`);
});

/** Parses; the only acceptable failure is ERR_INVALID_ATTESTATION. A success must round-trip. */
function parseOrTyped(input: unknown, what: string): void {
  cases++;
  let att;
  try {
    att = attestationFromJSON(input);
  } catch (err) {
    if (!(err instanceof BatpakError) || err.code !== 'ERR_INVALID_ATTESTATION') {
      throw new Error(`${what}: not ERR_INVALID_ATTESTATION: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
    return;
  }
  expect(attestationFromJSON(JSON.stringify(attestationToJSON(att)))).toEqual(att);
  const v = verifyAttestation(att, [pk]);
  expect(['valid', 'invalid']).toContain(v.status);
  if (parsed.length < 200) parsed.push(att);
}

const FIELDS = ['v', 'type', 'globalSequence', 'eventCount', 'head', 'attestedAt', 'keyId', 'signature', 'label'] as const;
const junk = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
  fc.constantFrom('18446744073709551616', '18446744073709551615', '-1', '01', '1e3', ' 1', 'ff'.repeat(32), 'FF'.repeat(32), '\ud800', 'x'.repeat(300)),
);

describe('attestation JSON fuzz (INV-ATTEST-JSON)', () => {
  it('the reference parses and verifies', () => {
    expect(verifyAttestation(attestationFromJSON(reference), [pk]).status).toBe('valid');
  });

  it('one field replaced, removed or added', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FIELDS, 'extra'), junk, fc.boolean(), (field, value, remove) => {
        const o: Record<string, unknown> = { ...reference };
        if (remove) delete o[field];
        else o[field] = value;
        parseOrTyped(o, `field ${field}`);
        parseOrTyped(JSON.stringify(o) ?? 'undefined', `field ${field} as text`);
      }),
      { numRuns: CASES, seed: SEED },
    );
  });

  it('the JSON text cut, spliced or byte-flipped', () => {
    const text = JSON.stringify(reference);
    fc.assert(
      fc.property(fc.nat(text.length), fc.nat(text.length), fc.string({ maxLength: 8 }), (a, b, insert) => {
        const [from, to] = a <= b ? [a, b] : [b, a];
        parseOrTyped(text.slice(0, from), 'truncated');
        parseOrTyped(text.slice(0, from) + insert + text.slice(to), 'spliced');
        const chars = [...text];
        if (chars.length > 0) chars[from % chars.length] = String.fromCharCode((text.charCodeAt(from % text.length) ^ (1 + (to % 255))) & 0xffff);
        parseOrTyped(chars.join(''), 'flipped');
      }),
      { numRuns: CASES, seed: SEED + 1 },
    );
  });

  it('verifyChain({ expect }) judges every parsed mutant, and any object, with a report: only the genuine one extends', async () => {
    const genuine = attestationFromJSON(reference);
    for (const att of [genuine, ...parsed]) {
      const r = await store.verifyChain({ expect: att });
      const same = JSON.stringify(attestationToJSON(att)) === JSON.stringify(attestationToJSON(genuine));
      if (same) expect(r.attestation?.status).toBe('extends');
      else expect(r.attestation?.status).not.toBe('extends');
      expect(r.intact).toBe(r.attestation?.status === 'extends');
    }
    const objects: unknown[] = [{}, { ...genuine, globalSequence: 3 }, { ...genuine, head: 'x' }, { ...genuine, version: 2 }, Object.create(null)];
    for (const o of objects) {
      const r = await store.verifyChain({ expect: o as HeadAttestation });
      expect(r.attestation?.status).toBe('unverified');
      expect(r.intact).toBe(false);
    }
    for (const o of [null, 1, 'att'] as unknown[]) {
      await expect(store.verifyChain({ expect: o as HeadAttestation })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    }
  });

  it('arbitrary JSON values and strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.string({ maxLength: 200 }), junk), (v) => {
        parseOrTyped(v, 'arbitrary');
      }),
      { numRuns: CASES, seed: SEED + 2 },
    );
  });
});
