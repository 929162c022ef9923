// Terminal message codecs against Rust's golden bytes: every request and ack of the six reference operations
// encodes to the bytes rmp-serde writes for Rust hbat's fixture value, and decodes back (INV-NETBAT-TERMINALS).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeCanonical, cstruct, cstr, cuint, carray } from '@batpak/core';
import { TERMINAL_CODECS, TERMINAL_OPERATIONS, encodeHex, decodeHex, type EventSummary, type TerminalOperation } from '../src/index.js';
import { eventSummarySpec } from '../src/terminals/summary.js';
import { readStruct, wstruct } from '../src/terminals/wire.js';

const goldens = JSON.parse(readFileSync(new URL('./fixtures/terminal-goldens.json', import.meta.url), 'utf8')) as Record<string, string>;
const hex = (h: string): Uint8Array => {
  const d = decodeHex(h);
  if (!d.ok) throw new Error('bad hex');
  return d.bytes;
};
const utf8 = (s: string) => new TextEncoder().encode(s);

const ID = '0123456789abcdef0123456789abcdef';
const ZERO_ID = '00000000000000000000000000000000';
const AA = hex('aa'.repeat(32));
const FIXTURE_PAYLOAD = hex('81a56e6f6e6365b66865617274626561742d666978747572652d30303031');
const KIND = { category: 0xf, typeId: 0xa01 };
const SUMMARY: EventSummary = {
  eventId: ID,
  globalSequence: 42n,
  wallMs: 1_700_000_000_000n,
  clock: 7,
  correlationId: ZERO_ID,
  kind: KIND,
  entity: 'fixture:bank',
  scope: 'fixture-scope',
  contentHash: AA,
};

const FIXTURES: { readonly [Op in TerminalOperation]: { request: unknown; ack: unknown } } = {
  'system.heartbeat': { request: { nonce: 'heartbeat-fixture-0001' }, ack: { nonce: 'heartbeat-fixture-0001', serverTsMs: 1_700_000_000_000n } },
  'bank.commit': {
    request: { entity: 'fixture:bank', scope: 'fixture-scope', kind: KIND, payload: FIXTURE_PAYLOAD },
    ack: { eventId: ID, sequence: 42n, contentHash: AA, keyId: 'b'.repeat(64), extensions: new Map([['syncbat.descriptor', utf8('bank.commit')]]) },
  },
  'event.get': {
    request: { eventId: ID },
    ack: {
      eventId: ID,
      sequence: 42n,
      timestampUs: 1_700_000_000_000_000n,
      correlationId: ZERO_ID,
      kind: KIND,
      entity: 'fixture:bank',
      scope: 'fixture-scope',
      payload: FIXTURE_PAYLOAD,
      contentHash: AA,
    },
  },
  'event.query': {
    request: { entity: 'fixture:bank', scope: 'fixture-scope', kind: KIND, after: 41n, limit: 2 },
    ack: { entries: [SUMMARY], nextAfter: 42n, truncated: false },
  },
  'event.walk': { request: { eventId: ID, limit: 3 }, ack: { entries: [SUMMARY] } },
  'receipt.verify': {
    request: { eventId: ID, sequence: 42n, contentHash: AA, keyId: 'b'.repeat(64), extensions: new Map() },
    ack: { valid: true, outcome: 'unsigned_accepted' },
  },
};

describe('INV-NETBAT-TERMINALS terminal codecs reproduce Rust hbat golden bytes', () => {
  for (const op of TERMINAL_OPERATIONS) {
    for (const side of ['request', 'ack'] as const) {
      const codec = TERMINAL_CODECS[op][side] as { schemaRef: string; encode(v: unknown): Uint8Array; decode(b: Uint8Array): unknown };
      const fixture = FIXTURES[op][side];
      it(`${codec.schemaRef}: encodes the fixture to the golden and decodes the golden to the fixture`, () => {
        const golden = goldens[codec.schemaRef];
        expect(golden, `golden ${codec.schemaRef}`).toBeDefined();
        expect(encodeHex(codec.encode(fixture))).toBe(golden);
        expect(codec.decode(hex(golden!))).toEqual(fixture);
      });
    }
  }

  it('event.query.summary: the nested summary struct is byte-identical on its own', () => {
    expect(encodeHex(encodeCanonical(wstruct(eventSummarySpec, SUMMARY)))).toBe(goldens['event.query.summary']);
  });

  it('schema refs are Rust hbat schema refs', () => {
    for (const op of TERMINAL_OPERATIONS) {
      expect(TERMINAL_CODECS[op].request.schemaRef).toBe(`${op}.request`);
      expect(TERMINAL_CODECS[op].ack.schemaRef).toBe(op === 'event.query' ? 'event.query.ack' : `${op}.ack`);
    }
  });
});

describe('terminal request decoding is lenient like rmp-serde from_slice', () => {
  const heartbeat = TERMINAL_CODECS['system.heartbeat'].request;
  const commit = TERMINAL_CODECS['bank.commit'].request;

  it('accepts the array (compact) form of a struct', () => {
    const bytes = encodeCanonical(carray([cstr('n-1')]));
    expect(heartbeat.decode(bytes)).toEqual({ nonce: 'n-1' });
  });

  it('ignores unknown fields and accepts uppercase hex', () => {
    const bytes = encodeCanonical(cstruct([['nonce', cstr('n')], ['extra', cuint(1)]]));
    expect(heartbeat.decode(bytes)).toEqual({ nonce: 'n' });
    const get = TERMINAL_CODECS['event.get'].request.decode(encodeCanonical(cstruct([['event_id_hex', cstr(ID.toUpperCase())]])));
    expect(get).toEqual({ eventId: ID });
  });

  it('decodes the older five-field bank.commit request (no idempotency_key_hex)', () => {
    const bytes = encodeCanonical(
      cstruct([
        ['entity', cstr('a:1')],
        ['scope', cstr('s')],
        ['kind_category', cuint(1)],
        ['kind_type_id', cuint(2)],
        ['payload_hex', cstr('c0')],
      ]),
    );
    expect(commit.decode(bytes)).toEqual({ entity: 'a:1', scope: 's', kind: { category: 1, typeId: 2 }, payload: hex('c0') });
  });

  it('names the missing or mistyped field', () => {
    expect(() => heartbeat.decode(encodeCanonical(cstruct([])))).toThrow(/system\.heartbeat\.request: missing field `nonce`/);
    expect(() => heartbeat.decode(encodeCanonical(cstruct([['nonce', cuint(1)]])))).toThrow(/field `nonce` must be a string/);
    expect(() => TERMINAL_CODECS['event.get'].request.decode(encodeCanonical(cstruct([['event_id_hex', cstr('abcd')]])))).toThrow(/16 bytes/);
    expect(() => heartbeat.decode(hex('c1'))).toThrow(/system\.heartbeat\.request/);
  });

  it('event.query: kind_type_id without kind_category is refused', () => {
    const bytes = encodeCanonical(cstruct([['kind_type_id', cuint(1)], ['limit', cuint(1)]]));
    expect(() => TERMINAL_CODECS['event.query'].request.decode(bytes)).toThrow(/kind_type_id requires kind_category/);
  });

  it('a group-signed claim appends group_proof after the Rust fields and round-trips', () => {
    const claim = {
      eventId: ID,
      sequence: 1n,
      contentHash: AA,
      keyId: 'c'.repeat(64),
      signature: new Uint8Array(64).fill(7),
      extensions: new Map<string, Uint8Array>(),
      groupProof: { index: 1, siblings: [new Uint8Array(32).fill(9)] },
    };
    const bytes = TERMINAL_CODECS['bank.commit'].ack.encode(claim);
    expect(bytes[0]).toBe(0x87); // seven fields: Rust's six, then group_proof
    expect(TERMINAL_CODECS['receipt.verify'].request.decode(bytes)).toEqual(claim);
    const summary = readStruct(eventSummarySpec, wstruct(eventSummarySpec, SUMMARY));
    expect(summary).toEqual(SUMMARY);
  });
});
