// INV-RUST-READ-VERIFY: every golden in fixtures/rust-core/golden/ decodes through the Rust reader's decoding
// path (wire.ts field readers, header.ts, frame.ts) and re-encodes byte for byte, as do the fixture's frames.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cbin, cstr, cstruct, cuint, cbytesArray, decodeCanonical, encodeCanonical, type CanonicalValue } from '../src/encoding/canonical.js';
import { fromHex, toHex } from '../src/encoding/hex.js';
import { decodeRustFrameBody, encodeRustFrameBody, probeFrame } from '../src/rust/frame.js';
import { decodeRustHeader, rustHeaderValue } from '../src/rust/header.js';
import { encodeRustSegmentHead, readRustSegmentHead } from '../src/rust/segment.js';
import { detectSidxFooter, encodeSidxFooter } from '../src/rust/sidx.js';
import { byteArrayOf, field, idOf, strOf, structOf, uintOf } from '../src/rust/wire.js';

const GOLDEN = new URL('../../../fixtures/rust-core/golden/', import.meta.url);
const golden = (name: string): Uint8Array => fromHex(readFileSync(new URL(`${name}.hex`, GOLDEN), 'utf8').trim());
const SEGMENT = new Uint8Array(readFileSync(new URL('../../../fixtures/rust-core/store-checkpoint-v5/000001.fbat', import.meta.url)));
const ID = '0123456789abcdef0123456789abcdef';

/** Each golden's check: decode through the reader's primitives, assert the values, return what re-encodes. */
const CASES: Record<string, (bytes: Uint8Array) => CanonicalValue> = {
  coordinate_v1: (bytes) => {
    const s = structOf(decodeCanonical(bytes), 'coordinate');
    expect(strOf(field(s, 'entity', 'coordinate'), 'entity')).toBe('entity:test');
    expect(strOf(field(s, 'scope', 'coordinate'), 'scope')).toBe('scope:test');
    expect([...s.keys()]).toEqual(['entity', 'scope']);
    return cstruct([['entity', cstr('entity:test')], ['scope', cstr('scope:test')]]);
  },
  event_header_v1: (bytes) => {
    const h = decodeRustHeader(decodeCanonical(bytes));
    expect(toHex(h.eventId)).toBe(ID);
    expect(toHex(h.correlationId)).toBe(ID);
    expect(h.causationId).toBeUndefined();
    expect(h.timestampUs).toBe(1_700_000_000_000_000n);
    expect(h.position).toEqual({ wallMs: 0n, counter: 0, depth: 0, lane: 0, sequence: 0 });
    expect(h.payloadSize).toBe(42);
    expect(h.eventKind).toBe(0xf001);
    expect(h.flags).toBe(0);
    expect(h.contentHash).toEqual(new Uint8Array(32));
    expect(h.payloadVersion).toBe(0);
    expect(h.payloadEncryption).toBeUndefined();
    expect(h.wire).toEqual({ contentHash: true, payloadVersion: true }); // the 10-key form
    return rustHeaderValue(h);
  },
  committed_v1: (bytes) => {
    // Orphaned in Rust (no reader left), kept as an encoding vector: str, bin16 id, u8 int, [u8; 32] as an int array.
    const s = structOf(decodeCanonical(bytes), 'committed');
    expect(strOf(field(s, 'payload', 'committed'), 'payload')).toBe('test_payload');
    expect(toHex(idOf(field(s, 'event_id', 'committed'), 'event_id'))).toBe(ID);
    expect(uintOf(field(s, 'sequence', 'committed'), 32, 'sequence')).toBe(42);
    expect(byteArrayOf(field(s, 'hash', 'committed'), 'hash', 32)).toEqual(new Uint8Array(32).fill(0xab));
    return cstruct([
      ['payload', cstr('test_payload')],
      ['event_id', cbin(fromHex(ID))],
      ['sequence', cuint(42)],
      ['hash', cbytesArray(new Uint8Array(32).fill(0xab))],
    ]);
  },
  wait_condition_v1: (bytes) => {
    // Externally tagged enum: mp{Event: mp{event_id: bin16}}.
    const outer = structOf(decodeCanonical(bytes), 'wait_condition');
    expect([...outer.keys()]).toEqual(['Event']);
    const inner = structOf(field(outer, 'Event', 'wait_condition'), 'Event');
    const WAIT_ID = 'deadbeefcafebabe1234567890abcdef';
    expect(toHex(idOf(field(inner, 'event_id', 'Event'), 'event_id'))).toBe(WAIT_ID);
    return cstruct([['Event', cstruct([['event_id', cbin(fromHex(WAIT_ID))]])]]);
  },
};

describe('Rust goldens through the reader (INV-RUST-READ-VERIFY)', () => {
  it('INV-RUST-READ-VERIFY: every golden file has a decoding case', () => {
    const files = readdirSync(GOLDEN).filter((f) => f.endsWith('.hex')).map((f) => f.replace(/\.hex$/, '')).sort();
    expect(files).toEqual(Object.keys(CASES).sort());
  });

  for (const [name, check] of Object.entries(CASES)) {
    it(`INV-RUST-READ-VERIFY: ${name} decodes to its documented values and re-encodes byte for byte`, () => {
      const bytes = golden(name);
      expect(toHex(encodeCanonical(check(bytes)))).toBe(toHex(bytes));
    });
  }

  it('the id reader also takes an array of 16 integers, as Rust does', () => {
    expect(idOf({ t: 'array', items: Array.from(fromHex(ID), (v) => ({ t: 'int', v }) as CanonicalValue) }, 'id')).toEqual(fromHex(ID));
    expect(() => idOf(cbin(new Uint8Array(15)), 'id')).toThrow(/16-byte id/);
  });

  it('INV-RUST-READ-VERIFY: the fixture segment head, each frame body and the SDX2 footer re-encode byte for byte', () => {
    const head = readRustSegmentHead(SEGMENT);
    if (!head.ok) throw new Error(head.reason);
    expect(head.framesStart).toBe(57);
    expect(head.header).toEqual({ version: 1, flags: 0, createdNs: 1779011619169741720n, segmentId: 1n });
    expect(encodeRustSegmentHead(head.header)).toEqual(SEGMENT.subarray(0, 57));

    const offsets = [57, 1076, 1597];
    const ends = [1076, 1597, 2125];
    offsets.forEach((at, i) => {
      const probe = probeFrame(SEGMENT, at, SEGMENT.length);
      if (probe.kind !== 'frame') throw new Error(`frame ${i}: ${probe.kind}`);
      expect(at + probe.length).toBe(ends[i]);
      const body = decodeRustFrameBody(probe.body);
      expect(encodeRustFrameBody(body)).toEqual(probe.body);
      expect(body.header.wire).toEqual({ contentHash: true, payloadVersion: false }); // 9-key headers
    });

    const det = detectSidxFooter(SEGMENT);
    if (det.kind !== 'footer') throw new Error(det.kind);
    const f = det.footer;
    expect(f).toMatchObject({ magic: 'SDX2', stringTableOffset: 2125n, entryCount: 3, trusted: false, footerStart: 2125 });
    expect(f.entries.map((e) => [e.globalSequence, Number(e.frameOffset), e.frameLength])).toEqual([
      [0n, 57, 1019],
      [1n, 1076, 521],
      [2n, 1597, 528],
    ]);
    expect(toHex(f.entries[1]!.eventId)).toBe('0000000000000000000000000000ad05');
    expect(f.entries[1]).toMatchObject({ kind: 0x1000, clock: 0, dagLane: 5, dagDepth: 3, wallMs: 1779011619177n });
    const strings = ['batpak:store', 'batpak:lifecycle', 'entity:adr0009-checkpoint-v5', 'scope:fixture'];
    expect(encodeSidxFooter(2125n, strings, f.entries, { legacy: true })).toEqual(SEGMENT.subarray(2125));
  });
});
