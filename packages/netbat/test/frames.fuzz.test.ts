// Fuzzing every netbat decoder with mutated golden frames (INV-NETBAT-NEVER-CRASH): a line or a terminal
// message decodes to a value that re-encodes to itself, or fails with a typed error — never anything else.
import { appendFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BatpakError } from '@batpak/core';
import {
  NetbatError,
  TERMINAL_CODECS,
  TERMINAL_OPERATIONS,
  decodeHex,
  decodeRequestLine,
  decodeResponseLine,
  decodeStreamLine,
  encodeErrResponse,
  encodeOkResponse,
  encodeRequest,
  encodeStreamFrame,
} from '../src/index.js';
import { loadGoldens } from './helpers/net.js';

const CASES = Number(process.env.BATPAK_FUZZ_CASES ?? 300);
const SEED = Number(process.env.BATPAK_FUZZ_SEED ?? 0x5eed);
let cases = 0;

afterAll(() => {
  console.log(`fuzz (netbat): ${cases} cases`);
  if (process.env.BATPAK_FUZZ_COUNTS !== undefined) appendFileSync(process.env.BATPAK_FUZZ_COUNTS, `${JSON.stringify({ netbat: cases })}\n`);
});

const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const lines = loadGoldens().map((g) => fromHex(g.hex));
const terminalGoldens = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/terminal-goldens.json', import.meta.url)), 'utf8')) as Record<string, string>;

type Mutation = (b: Uint8Array) => Uint8Array;
const splice = (b: Uint8Array, at: number, remove: number, insert: Uint8Array) => new Uint8Array([...b.subarray(0, at), ...insert, ...b.subarray(at + remove)]);
const special = fc.constantFrom(0x00, 0x0a, 0x0d, 0x20, 0x2d, 0x30, 0x39, 0x41, 0x46, 0x61, 0x66, 0x7f, 0x80, 0xc0, 0xcc, 0xd9, 0xff);
const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), special);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), byte).map(([at, v]): Mutation => (b) => (b.length === 0 ? b : splice(b, at % b.length, 1, new Uint8Array([v])))),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, m]): Mutation => (b) => {
    const out = b.slice();
    if (out.length > 0) out[at % out.length]! ^= m;
    return out;
  }),
  fc.nat().map((at): Mutation => (b) => b.slice(0, at % (b.length + 1))),
  fc.tuple(fc.nat(), fc.array(byte, { minLength: 1, maxLength: 12 })).map(([at, ins]): Mutation => (b) => splice(b, at % (b.length + 1), 0, new Uint8Array(ins))),
  fc.tuple(fc.nat(), fc.nat({ max: 24 })).map(([at, n]): Mutation => (b) => {
    const from = at % (b.length + 1);
    return splice(b, from, 0, b.slice(from, from + n));
  }),
  fc.nat().map((at): Mutation => (b) => (b.length === 0 ? b : splice(b, at % b.length, 1, new Uint8Array(0)))),
);
const mutate = (originals: readonly Uint8Array[]) =>
  fc.tuple(fc.constantFrom(...originals), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([b, ms]) => ms.reduce((x, m) => m(x), b));

/** Runs a decoder; a failure must be a typed error (NetbatError, or BatpakError from core's canonical decoder). */
function attempt<T>(decode: () => T, what: string): T | undefined {
  try {
    return decode();
  } catch (err) {
    if (err instanceof NetbatError || err instanceof BatpakError) return undefined;
    throw new Error(`${what}: untyped error ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
}

describe('fuzz: netbat frames (INV-NETBAT-NEVER-CRASH)', () => {
  it(`${CASES} mutated NETBAT/1 and NETBAT/2 lines: a value that re-encodes to itself, or a NetbatError`, () => {
    const inputs = fc.sample(fc.oneof(mutate(lines), fc.uint8Array({ maxLength: 200 })), { numRuns: CASES, seed: SEED });
    for (const [k, line] of inputs.entries()) {
      const what = `line case ${k} ${JSON.stringify(Buffer.from(line).toString('latin1'))}`;
      // The wrong-answer oracle: whatever decodes is exactly what its canonical encoding decodes to.
      const req = attempt(() => decodeRequestLine(line), what);
      if (req !== undefined) expect(decodeRequestLine(encodeRequest(req.operation, req.input)), what).toEqual(req);
      const res = attempt(() => decodeResponseLine(line), what);
      if (res !== undefined) expect(decodeResponseLine(res.ok ? encodeOkResponse(res.output) : encodeErrResponse(res)), what).toEqual(res);
      const stream = attempt(() => decodeStreamLine(line), what);
      if (stream !== undefined) expect(decodeStreamLine(encodeStreamFrame(stream)), what).toEqual(stream);
      const hex = decodeHex(line);
      if (hex.ok) expect(Buffer.from(hex.bytes).toString('hex'), what).toBe(Buffer.from(line).toString('latin1').toLowerCase());
      cases++;
    }
  });

  it(`${CASES} mutated terminal messages: a value that re-encodes to itself, or a typed error`, () => {
    const codecs = TERMINAL_OPERATIONS.flatMap((op) => [TERMINAL_CODECS[op].request, TERMINAL_CODECS[op].ack]) as { schemaRef: string; encode(v: unknown): Uint8Array; decode(b: Uint8Array): unknown }[];
    const originals = codecs.map((c) => terminalGoldens[c.schemaRef]).filter((h): h is string => h !== undefined).map(fromHex);
    expect(originals.length).toBe(codecs.length);
    const inputs = fc.sample(fc.tuple(fc.nat({ max: codecs.length - 1 }), fc.oneof(mutate(originals), fc.uint8Array({ maxLength: 120 }))), { numRuns: CASES, seed: SEED + 1 });
    for (const [k, [which, bytes]] of inputs.entries()) {
      const codec = codecs[which]!;
      const what = `${codec.schemaRef} case ${k} ${Buffer.from(bytes).toString('hex')}`;
      const value = attempt(() => codec.decode(bytes), what);
      if (value !== undefined) expect(codec.decode(codec.encode(value)), what).toEqual(value);
      cases++;
    }
  });
});
