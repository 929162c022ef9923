// Golden conformance of the canonical encoder: Rust batpak's own pinned bytes, rebuilt by hand and round-tripped.
// Invariant: every golden .hex and every frame of the Rust-written segment re-encodes byte for byte.

import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { blake3 } from '../src/crypto/blake3.js';
import { bytesEqual, fromHex, toHex } from '../src/encoding/hex.js';
import {
  asByteArray,
  cbin,
  cbytesArray,
  cnil,
  cstr,
  cstruct,
  cuint,
  decodeCanonical,
  decodeCanonicalAt,
  encodeCanonical,
  encodeCoordinateCanonical,
  encodeStringBytesMapCanonical,
  type CanonicalMap,
  type CanonicalValue,
} from '../src/encoding/canonical.js';

const FIXTURES = new URL('../../../fixtures/rust-core/', import.meta.url);
const golden = (name: string): string => readFileSync(new URL(`golden/${name}.hex`, FIXTURES), 'utf8').trim();

// Reads a field of a decoded struct; the goldens are structs, so a missing key is a test failure.
function field(value: CanonicalValue, name: string): CanonicalValue {
  if (value.t !== 'map') throw new Error(`expected a map around ${name}, got ${value.t}`);
  const hit = value.entries.find(([k]) => k.t === 'str' && k.v === name);
  if (hit === undefined) throw new Error(`missing field ${name}`);
  return hit[1];
}

const keysOf = (value: CanonicalValue): string[] =>
  value.t === 'map' ? value.entries.map(([k]) => (k.t === 'str' ? k.v : `<${k.t}>`)) : [];

const ID = fromHex('0123456789abcdef0123456789abcdef');

describe('core.md §12.1 goldens, built by hand', () => {
  it('coordinate_v1 = mp{entity, scope}', () => {
    const bytes = encodeCoordinateCanonical('entity:test', 'scope:test');
    expect(toHex(bytes)).toBe(golden('coordinate_v1'));
    expect(bytes.length).toBe(37);
  });

  it('event_header_v1: bin16 ids, uint64 timestamp, int-array content hash', () => {
    const header = cstruct([
      ['event_id', cbin(ID)],
      ['correlation_id', cbin(ID)],
      ['causation_id', cnil()],
      ['timestamp_us', cuint(1_700_000_000_000_000)],
      [
        'position',
        cstruct([
          ['wall_ms', cuint(0)],
          ['counter', cuint(0)],
          ['depth', cuint(0)],
          ['lane', cuint(0)],
          ['sequence', cuint(0)],
        ]),
      ],
      ['payload_size', cuint(42)],
      ['event_kind', cuint(0xf001)],
      ['flags', cuint(0)],
      ['content_hash', cbytesArray(new Uint8Array(32))],
      ['payload_version', cuint(0)],
    ]);
    const bytes = encodeCanonical(header);
    expect(toHex(bytes)).toBe(golden('event_header_v1'));
    expect(bytes.length).toBe(248);
    // The two bytes msgpackr gets wrong: uint64 (cf) for the timestamp, not int64 (d3) or float64 (cb).
    expect(bytes[88]).toBe(0xcf);
    expect(toHex(bytes.subarray(173, 176))).toBe('cdf001');
  });

  it('committed_v1: bytes >= 0x80 in an int array take two bytes each', () => {
    const committed = cstruct([
      ['payload', cstr('test_payload')],
      ['event_id', cbin(ID)],
      ['sequence', cuint(42)],
      ['hash', cbytesArray(new Uint8Array(32).fill(0xab))],
    ]);
    const bytes = encodeCanonical(committed);
    expect(toHex(bytes)).toBe(golden('committed_v1'));
    expect(bytes.length).toBe(131);
  });

  it('wait_condition_v1: externally tagged enum mp{Event: mp{event_id}}', () => {
    const wait = cstruct([['Event', cstruct([['event_id', cbin(fromHex('deadbeefcafebabe1234567890abcdef'))]])]]);
    expect(toHex(encodeCanonical(wait))).toBe(golden('wait_condition_v1'));
  });

  it.each(['coordinate_v1', 'event_header_v1', 'committed_v1', 'wait_condition_v1'])(
    '%s decodes and re-encodes identically',
    (name) => {
      const bytes = fromHex(golden(name));
      const value = decodeCanonical(bytes);
      expect(toHex(encodeCanonical(value))).toBe(golden(name));
    },
  );

  it('decodes event_header_v1 into the documented fields', () => {
    const v = decodeCanonical(fromHex(golden('event_header_v1')));
    expect(keysOf(v)).toEqual([
      'event_id',
      'correlation_id',
      'causation_id',
      'timestamp_us',
      'position',
      'payload_size',
      'event_kind',
      'flags',
      'content_hash',
      'payload_version',
    ]);
    expect(field(v, 'event_id')).toEqual(cbin(ID));
    expect(field(v, 'causation_id')).toEqual(cnil());
    expect(field(v, 'timestamp_us')).toEqual(cuint(1_700_000_000_000_000));
    expect(field(v, 'event_kind')).toEqual(cuint(0xf001));
    expect(asByteArray(field(v, 'content_hash'))).toEqual(new Uint8Array(32));
  });
});

describe('Rust-written segment store-checkpoint-v5/000001.fbat (core.md §4.2, §12.2)', () => {
  const file = new Uint8Array(readFileSync(new URL('store-checkpoint-v5/000001.fbat', FIXTURES)));
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);

  interface Frame {
    readonly offset: number;
    readonly crc: number;
    readonly body: Uint8Array;
  }

  // The SDX2 trailer (u64le string_table_offset | u32le entry_count | "SDX2") marks where frames end.
  const trailerMagic = new TextDecoder().decode(file.subarray(file.length - 4));
  const framesEnd = Number(dv.getBigUint64(file.length - 16, true));
  const headerLen = dv.getUint32(4);
  const frames: Frame[] = [];
  for (let off = 8 + headerLen; off < framesEnd; ) {
    const len = dv.getUint32(off);
    frames.push({ offset: off, crc: dv.getUint32(off + 4), body: file.subarray(off + 8, off + 8 + len) });
    off += 8 + len;
  }

  it('has the documented container layout', () => {
    expect(file.length).toBe(2701);
    expect(new TextDecoder().decode(file.subarray(0, 4))).toBe('FBAT');
    expect(headerLen).toBe(49);
    expect(trailerMagic).toBe('SDX2');
    expect(framesEnd).toBe(2125);
    expect(frames.map((f) => f.offset)).toEqual([57, 1076, 1597]);
    expect(frames.map((f) => f.body.length)).toEqual([1011, 513, 520]);
    const last = frames[frames.length - 1]!;
    expect(last.offset + 8 + last.body.length).toBe(framesEnd);
  });

  it('segment header decodes to {version:1, flags:0, created_ns, segment_id:1} and re-encodes identically', () => {
    const bytes = file.subarray(8, 8 + headerLen);
    const header = decodeCanonical(bytes);
    expect(keysOf(header)).toEqual(['version', 'flags', 'created_ns', 'segment_id']);
    expect(field(header, 'version')).toEqual(cuint(1));
    expect(field(header, 'segment_id')).toEqual(cuint(1));
    // created_ns is above 2^53: it must come back as a bigint, not a rounded number.
    expect(field(header, 'created_ns')).toEqual(cuint(0x18b051a45be7ab98n));
    expect(bytesEqual(encodeCanonical(header), bytes)).toBe(true);
  });

  it('every frame body: CRC-32 matches, decodes, re-encodes byte for byte', () => {
    expect(frames).toHaveLength(3);
    for (const f of frames) {
      expect(crc32(f.body) >>> 0).toBe(f.crc);
      const value = decodeCanonical(f.body);
      expect(keysOf(value)).toEqual(['event', 'entity', 'scope', 'receipt_extensions']);
      expect(toHex(encodeCanonical(value))).toBe(toHex(f.body));
    }
    expect(frames.map((f) => f.crc.toString(16))).toEqual(['f34dabf2', '65b03809', expect.any(String)]);
  });

  it('frame contents agree with the spec: kinds, hashes, chain link, extensions', () => {
    const decoded = frames.map((f) => decodeCanonical(f.body));
    const header = (i: number) => field(field(decoded[i]!, 'event'), 'header');
    const chain = (i: number) => field(field(decoded[i]!, 'event'), 'hash_chain');
    const payload = (i: number) => asByteArray(field(field(decoded[i]!, 'event'), 'payload'));

    expect(decoded.map((_, i) => field(header(i), 'event_kind'))).toEqual([cuint(0x08), cuint(0x1000), cuint(0x09)]);
    // 9-key headers: these frames predate payload_version.
    expect(keysOf(header(0))).not.toContain('payload_version');
    expect(keysOf(header(0))).toHaveLength(9);

    for (let i = 0; i < decoded.length; i++) {
      const p = payload(i);
      expect(p).toBeDefined();
      expect(field(header(i), 'payload_size')).toEqual(cuint(p!.length));
      const hash = blake3(p!);
      expect(asByteArray(field(header(i), 'content_hash'))).toEqual(hash);
      expect(asByteArray(field(chain(i), 'event_hash'))).toEqual(hash);
    }
    expect(toHex(asByteArray(field(chain(1), 'event_hash'))!).startsWith('0a7ddac6')).toBe(true);
    // Frame 2 continues the batpak:store chain begun by frame 0.
    expect(asByteArray(field(chain(2), 'prev_hash'))).toEqual(asByteArray(field(chain(0), 'event_hash')));
    expect(asByteArray(field(chain(0), 'prev_hash'))).toEqual(new Uint8Array(32));

    // The payload of the DATA event is itself canonical msgpack {fixture: "checkpoint-v5"}.
    expect(decodeCanonical(payload(1)!)).toEqual(cstruct([['fixture', cstr('checkpoint-v5')]]));

    expect(field(decoded[1]!, 'entity')).toEqual(cstr('entity:adr0009-checkpoint-v5'));
    expect(field(decoded[1]!, 'scope')).toEqual(cstr('scope:fixture'));
  });

  it('the helpers reproduce the frame bytes of the coordinate and the receipt extension map', () => {
    const body = frames[1]!.body;
    const ext = encodeStringBytesMapCanonical(new Map([['app.audit', Uint8Array.of(5, 3)]]));
    expect(toHex(ext)).toBe('81a9' + toHex(new TextEncoder().encode('app.audit')) + '920503');
    // receipt_extensions is the last field, so the body ends with exactly these bytes.
    expect(toHex(body.subarray(body.length - ext.length))).toBe(toHex(ext));

    // entity then scope appear as consecutive fields of the frame map: key/value bytes match the helper.
    const coord = encodeCoordinateCanonical('entity:adr0009-checkpoint-v5', 'scope:fixture');
    expect(toHex(body)).toContain(toHex(coord.subarray(1)));
    const empty = encodeStringBytesMapCanonical(new Map());
    expect(toHex(empty)).toBe('80');
    expect(toHex(frames[0]!.body.subarray(frames[0]!.body.length - 1))).toBe('80');
  });

  it('receipt cover of the DATA event hashes to the core.md §5.2 cross-check digest', () => {
    const decoded = decodeCanonical(frames[1]!.body);
    const header = field(field(decoded, 'event'), 'header');
    const id = field(header, 'event_id');
    if (id.t !== 'bin') throw new Error('event_id is not bin');
    const chain = field(field(decoded, 'event'), 'hash_chain');
    const le = (n: bigint, bytes: number) => {
      const out = new Uint8Array(bytes);
      for (let i = 0; i < bytes; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
      return out;
    };
    const cover = Buffer.concat([
      Uint8Array.of(0x01),
      Uint8Array.from(id.v).reverse(),
      le(1n, 8),
      encodeCoordinateCanonical('entity:adr0009-checkpoint-v5', 'scope:fixture'),
      le(0x1000n, 2),
      asByteArray(field(chain, 'prev_hash'))!,
      asByteArray(field(chain, 'event_hash'))!,
      encodeStringBytesMapCanonical(new Map([['app.audit', Uint8Array.of(5, 3)]])),
    ]);
    expect(cover.length).toBe(162);
    expect(toHex(blake3(cover))).toBe('8b1498a6d7cc77c652ba73741065d30f4d9a18382ce429a8a8f247340f008871');
  });

  it('decodeCanonicalAt walks a value embedded in a larger buffer', () => {
    const { value, end } = decodeCanonicalAt(file, 8);
    expect(end).toBe(8 + headerLen);
    expect((value as CanonicalMap).entries).toHaveLength(4);
  });
});
