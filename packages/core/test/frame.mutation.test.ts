// The fast frame codec against the generic canonical encoder, at every integer and length boundary, and
// every refusal of the body decoder (INV-FORMAT-GOLDEN, INV-TORN-TAIL): what mutation testing found unpinned.
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { carray, cbin, cmap, cstr, cuint, encodeCanonical, type CanonicalEntry, type CanonicalValue } from '../src/encoding/canonical.js';
import { FRAME_MAGIC, MAX_FRAME_BODY_BYTES } from '../src/segment/format.js';
import { decodeFrameBody, encodeEventFrame, encodeSealFrame, FrameDecodeError, isValidFrameAt, readFrameHeader, type EventFrame, type SealFrame } from '../src/segment/frame.js';

/** Integers that sit on every msgpack width boundary, and some between. */
const uint = fc.oneof(
  fc.constantFrom(0, 1, 0x7f, 0x80, 0xfe, 0xff, 0x100, 0x101, 0xfffe, 0xffff, 0x10000, 0xfffffffe, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: 0, max: 0x7fffffff }),
  fc.maxSafeNat(),
);
const u16 = fc.oneof(fc.constantFrom(0, 0x7f, 0x80, 0xff, 0x100, 0xffff), fc.integer({ min: 0, max: 0xffff }));
const lengthOf = (max: number) => fc.oneof(fc.constantFrom(0, 1, 30, 31, 32, 33, 254, 255, 256, 257).filter((n) => n <= max), fc.integer({ min: 0, max }));
const ascii = (max: number) => lengthOf(max).chain((n) => fc.string({ unit: fc.constantFrom(...'abcxyz:-_0189'), minLength: n, maxLength: n }));
const text = fc.oneof(ascii(300), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('é', 'ü'.repeat(40), '日本'.repeat(20), 'x'.repeat(65_535), 'x'.repeat(65_536)));
const quick = { endOnFailure: true } as const;
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const payload = fc.oneof(lengthOf(300).chain((n) => bytes(n)), fc.constantFrom(65_535, 65_536).map((n) => new Uint8Array(n).fill(7)));

const eventFrame: fc.Arbitrary<EventFrame> = fc
  .record({
    id: bytes(16),
    globalSequence: uint,
    entitySequence: uint,
    kind: u16,
    entity: text,
    scope: text,
    committedAt: uint,
    prevHash: bytes(32),
    contentHash: bytes(32),
    payloadVersion: uint,
    flags: uint,
    batch: fc.option(fc.tuple(uint, fc.integer({ min: 1, max: 300 })).chain(([first, count]) => fc.record({ first: fc.constant(first), index: fc.integer({ min: 0, max: count - 1 }), count: fc.constant(count) })), { nil: undefined }),
    encryption: fc.option(fc.record({ scope: lengthOf(300).chain((n) => bytes(n)), nonce: bytes(24), generation: fc.oneof(fc.constant(0), uint) }), { nil: undefined }),
    extensions: fc.option(fc.dictionary(ascii(40), lengthOf(300).chain((n) => bytes(n)), { maxKeys: 17 }).map((d) => new Map(Object.entries(d))), { nil: undefined }),
    payload,
  })
  .map((r) => ({ type: 0 as const, ...r }));

// Format-1 seals (no header digest) and format-2 ones (with `hd`) alike.
const sealFrame: fc.Arbitrary<SealFrame> = fc.record(
  {
    type: fc.constant(1 as const),
    firstSequence: uint,
    lastSequence: uint,
    count: uint,
    keyId: bytes(32),
    root: bytes(32),
    headerDigest: bytes(32),
    signature: bytes(64),
  },
  { requiredKeys: ['type', 'firstSequence', 'lastSequence', 'count', 'keyId', 'root', 'signature'] },
);

/** The body FORMAT.md specifies, built with the generic canonical encoder (keys in the normative order). */
function referenceBody(f: EventFrame): Uint8Array {
  const e: CanonicalEntry[] = [
    [cstr('t'), cuint(0)],
    [cstr('id'), cbin(f.id)],
    [cstr('g'), cuint(f.globalSequence)],
    [cstr('n'), cuint(f.entitySequence)],
    [cstr('k'), cuint(f.kind)],
    [cstr('e'), cstr(f.entity)],
    [cstr('s'), cstr(f.scope)],
    [cstr('ts'), cuint(f.committedAt)],
    [cstr('ph'), cbin(f.prevHash)],
    [cstr('ch'), cbin(f.contentHash)],
    [cstr('v'), cuint(f.payloadVersion)],
    [cstr('f'), cuint(f.flags)],
  ];
  if (f.batch !== undefined) e.push([cstr('b'), carray([cuint(f.batch.first), cuint(f.batch.index), cuint(f.batch.count)])]);
  if (f.encryption !== undefined) {
    const x: CanonicalEntry[] = [
      [cstr('ks'), cbin(f.encryption.scope)],
      [cstr('nc'), cbin(f.encryption.nonce)],
    ];
    if (f.encryption.generation !== 0) x.push([cstr('kg'), cuint(f.encryption.generation)]);
    e.push([cstr('x'), cmap(x)]);
  }
  if (f.extensions !== undefined && f.extensions.size > 0) {
    const keys = [...f.extensions.keys()].sort();
    e.push([cstr('r'), cmap(keys.map((k) => [cstr(k), cbin(f.extensions!.get(k)!)]))]);
  }
  e.push([cstr('p'), cbin(f.payload)]);
  return encodeCanonical(cmap(e));
}

function referenceSeal(f: SealFrame): Uint8Array {
  return encodeCanonical(
    cmap([
      [cstr('t'), cuint(1)],
      [cstr('g0'), cuint(f.firstSequence)],
      [cstr('g1'), cuint(f.lastSequence)],
      [cstr('c'), cuint(f.count)],
      [cstr('kid'), cbin(f.keyId)],
      [cstr('root'), cbin(f.root)],
      ...(f.headerDigest === undefined ? [] : [[cstr('hd'), cbin(f.headerDigest)] as CanonicalEntry]),
      [cstr('sig'), cbin(f.signature)],
    ]),
  );
}

function checkHeader(frame: Uint8Array, body: Uint8Array): void {
  const h = readFrameHeader(frame, 0);
  expect(h.magic).toBe(FRAME_MAGIC);
  expect(h.length).toBe(body.length);
  expect(h.crc).toBe(crc32(body));
  expect(frame.length).toBe(12 + body.length);
  expect(isValidFrameAt(frame, 0)).toBe(true);
}


describe('frame codec = canonical msgpack of FORMAT.md, at every boundary (INV-FORMAT-GOLDEN)', () => {
  it('event frames encode byte for byte like the generic encoder and decode back', () => {
    fc.assert(
      fc.property(eventFrame, (f) => {
        const frame = encodeEventFrame(f);
        const body = referenceBody(f);
        expect(Buffer.from(frame.subarray(12)).equals(Buffer.from(body))).toBe(true);
        checkHeader(frame, body);
        const back = decodeFrameBody(frame.subarray(12)) as EventFrame;
        // Decoding is exact: every scalar field, and the frame re-encodes to the same bytes.
        const { globalSequence, entitySequence, kind, entity, scope, committedAt, payloadVersion, flags, batch } = back;
        expect({ globalSequence, entitySequence, kind, entity, scope, committedAt, payloadVersion, flags, batch }).toEqual({
          globalSequence: f.globalSequence,
          entitySequence: f.entitySequence,
          kind: f.kind,
          entity: f.entity,
          scope: f.scope,
          committedAt: f.committedAt,
          payloadVersion: f.payloadVersion,
          flags: f.flags,
          batch: f.batch,
        });
        expect(back.encryption?.generation).toBe(f.encryption?.generation);
        expect(back.extensions?.size ?? 0).toBe(f.extensions?.size ?? 0);
        expect(Buffer.from(encodeEventFrame(back)).equals(Buffer.from(frame))).toBe(true);
      }),
      { numRuns: 150, seed: 11, ...quick },
    );
  });

  it('seal frames encode byte for byte like the generic encoder and decode back', () => {
    fc.assert(
      fc.property(sealFrame, (f) => {
        const frame = encodeSealFrame(f);
        const body = referenceSeal(f);
        expect(Buffer.from(frame.subarray(12)).equals(Buffer.from(body))).toBe(true);
        checkHeader(frame, body);
        expect(decodeFrameBody(frame.subarray(12))).toEqual(f);
      }),
      { numRuns: 200, seed: 12, ...quick },
    );
  });

  it('pre-encoded entity and scope bytes give the same frame', () => {
    const f = fc.sample(eventFrame, { numRuns: 1, seed: 3 })[0]!;
    const enc = new TextEncoder();
    expect(encodeEventFrame(f, enc.encode(f.entity), enc.encode(f.scope))).toEqual(encodeEventFrame(f));
  });
});

describe('frame body decoder refusals (INV-TORN-TAIL: damage is named, never guessed)', () => {
  const base: EventFrame = {
    type: 0,
    id: new Uint8Array(16).fill(1),
    globalSequence: 5,
    entitySequence: 2,
    kind: 0x5001,
    entity: 'e',
    scope: 's',
    committedAt: 1000,
    prevHash: new Uint8Array(32).fill(2),
    contentHash: new Uint8Array(32).fill(3),
    payloadVersion: 1,
    flags: 0,
    payload: new Uint8Array([9]),
  };
  const fields = (over: Partial<Record<string, CanonicalValue | null>> = {}, extra: CanonicalEntry[] = []): CanonicalEntry[] => {
    const all: [string, CanonicalValue][] = [
      ['t', cuint(0)],
      ['id', cbin(base.id)],
      ['g', cuint(5)],
      ['n', cuint(2)],
      ['k', cuint(0x5001)],
      ['e', cstr('e')],
      ['s', cstr('s')],
      ['ts', cuint(1000)],
      ['ph', cbin(base.prevHash)],
      ['ch', cbin(base.contentHash)],
      ['v', cuint(1)],
      ['f', cuint(0)],
      ['p', cbin(base.payload)],
    ];
    const out: CanonicalEntry[] = [];
    for (const [k, v] of all) {
      const o = over[k];
      if (o === null) continue;
      out.push([cstr(k), o ?? v]);
    }
    return [...out.slice(0, -1), ...extra, out[out.length - 1]!];
  };
  const reason = (body: Uint8Array) => {
    try {
      decodeFrameBody(body);
    } catch (err) {
      expect(err).toBeInstanceOf(FrameDecodeError);
      return (err as Error).message;
    }
    throw new Error('expected a refusal');
  };
  const body = (entries: CanonicalEntry[]) => encodeCanonical(cmap(entries));
  const raw = (...b: number[]) => new Uint8Array(b);

  it('accepts the reference body', () => {
    expect(decodeFrameBody(body(fields()))).toEqual(base);
  });

  it('names each problem', () => {
    expect(reason(raw(0x80))).toBe('empty body map');
    expect(reason(raw())).toBe('body truncated at byte 0');
    expect(reason(raw(0x90))).toBe('expected map at byte 0');
    expect(reason(body([[cstr('u'), cuint(0)]]))).toBe('body must start with key t');
    expect(reason(body([[cstr('t'), cuint(2)]]))).toBe('unknown frame type 2');
    expect(reason(body([[cstr('t'), cstr('0')]]))).toBe('expected an unsigned integer at byte 3');
    expect(reason(body(fields({}, [[cstr('zz'), cuint(1)]])))).toBe(`unknown key #${2 * 65536 + 0x7a * 256 + 0x7a}`);
    expect(reason(body(fields({}, [[cstr('longkey'), cuint(1)]])))).toBe('unknown key longkey');
    expect(reason(body(fields({}, [[cstr('g'), cuint(1)]])))).toBe('duplicate key g');
    expect(reason(body(fields({ k: cuint(0x10000) })))).toBe('kind exceeds u16');
    expect(decodeFrameBody(body(fields({ k: cuint(0xffff) }))).type).toBe(0);
    for (const k of ['id', 'g', 'n', 'k', 'e', 's', 'ts', 'ph', 'ch', 'v', 'f']) expect(reason(body(fields({ [k]: null })))).toBe(`missing key ${k}`);
    expect(reason(body(fields({ p: null })))).toBe('missing key p');
    expect(reason(body(fields({ id: cbin(new Uint8Array(15)) })))).toBe('event id must be 16 bytes, got 15');
    expect(reason(body(fields({ ph: cbin(new Uint8Array(33)) })))).toBe('prev hash must be 32 bytes, got 33');
    expect(reason(body(fields({ ch: cbin(new Uint8Array(31)) })))).toBe('content hash must be 32 bytes, got 31');
    expect(reason(body(fields({ e: cbin(new Uint8Array(1)) })))).toMatch(/^expected str at byte \d+$/);
    // Small integers where a length-prefixed value belongs: never read as a zero-length value.
    expect(reason(body(fields({ id: cuint(1) })))).toMatch(/^expected bin at byte \d+$/);
    expect(reason(raw(0x01, 0x00))).toBe('expected map at byte 0');
    expect(reason(body(fields({}, [[cstr('b'), cuint(1)]])))).toMatch(/^expected array at byte \d+$/);
    // A fixmap byte (0x80) where an integer belongs is not the integer 128.
    expect(reason(body(fields({ g: cmap([]) })))).toMatch(/^expected an unsigned integer at byte \d+$/);
    expect(reason(body(fields({ id: cstr('x') })))).toMatch(/^expected bin at byte \d+$/);
    expect(reason(body(fields({}, [[cstr('b'), carray([cuint(1), cuint(0)])]])))).toBe('batch ref must have 3 items');
    expect(reason(body(fields({}, [[cstr('b'), cmap([])]])))).toMatch(/^expected array at byte \d+$/);
    expect(reason(body(fields({}, [[cstr('b'), carray([cuint(1), cuint(0), cuint(0)])]])))).toBe('batch ref index out of range');
    expect(reason(body(fields({}, [[cstr('b'), carray([cuint(1), cuint(2), cuint(2)])]])))).toBe('batch ref index out of range');
    expect((decodeFrameBody(body(fields({}, [[cstr('b'), carray([cuint(1), cuint(1), cuint(2)])]]))) as EventFrame).batch).toEqual({ first: 1, index: 1, count: 2 });
    const nonce = cbin(new Uint8Array(24));
    const x = (entries: CanonicalEntry[]) => body(fields({}, [[cstr('x'), cmap(entries)]]));
    expect(reason(x([[cstr('ks'), cbin(raw(1))]]))).toBe('bad encryption ref');
    expect(reason(x([[cstr('kx'), cbin(raw(1))], [cstr('nc'), nonce]]))).toBe('bad encryption ref');
    expect(reason(x([[cstr('ks'), cbin(raw(1))], [cstr('nx'), nonce]]))).toBe('bad encryption ref');
    expect(reason(x([[cstr('ks'), cbin(raw(1))], [cstr('nc'), nonce], [cstr('kx'), cuint(1)]]))).toBe('bad encryption ref');
    expect(reason(x([[cstr('ks'), cbin(raw(1))], [cstr('nc'), cbin(new Uint8Array(23))]]))).toBe('nonce must be 24 bytes, got 23');
    expect(reason(x([[cstr('ks'), cbin(raw(1))], [cstr('nc'), nonce], [cstr('kg'), cuint(0)]]))).toBe('explicit key generation 0');
    expect(reason(x([[cstr('ks'), cbin(raw(1))], [cstr('nc'), nonce], [cstr('kg'), cuint(1)], [cstr('zz'), cuint(1)]]))).toBe('bad encryption ref');
    expect((decodeFrameBody(x([[cstr('ks'), cbin(raw(1))], [cstr('nc'), nonce], [cstr('kg'), cuint(3)]])) as EventFrame).encryption?.generation).toBe(3);
    const withTail = new Uint8Array([...body(fields()), 0]);
    expect(reason(withTail)).toBe('trailing bytes after body');
    expect(reason(body(fields({ g: cuint(2n ** 53n) })))).toBe('integer exceeds 2^53');
    expect(decodeFrameBody(body(fields({ g: cuint(2 ** 53 - 1) }))).type).toBe(0);
    expect(reason(body(fields({ e: cstr('ok') })).subarray(0, 40))).toMatch(/^body truncated at byte \d+$/);
    const bad = body(fields({ e: cstr('é') }));
    bad[bad.indexOf(0xc3)] = 0xff;
    expect(reason(bad)).toBe('string is not valid UTF-8');
    const long = 'é'.repeat(40);
    expect((decodeFrameBody(body(fields({ e: cstr(long) }))) as EventFrame).entity).toBe(long);
    expect((decodeFrameBody(body(fields({ e: cstr('a'.repeat(70)) }))) as EventFrame).entity).toBe('a'.repeat(70));
  });

  it('names each seal problem', () => {
    const seal = (entries: [string, CanonicalValue][]) => encodeCanonical(cmap(entries.map(([k, v]) => [cstr(k), v])));
    const good: [string, CanonicalValue][] = [
      ['t', cuint(1)],
      ['g0', cuint(1)],
      ['g1', cuint(2)],
      ['c', cuint(2)],
      ['kid', cbin(new Uint8Array(32))],
      ['root', cbin(new Uint8Array(32))],
      ['sig', cbin(new Uint8Array(64))],
    ];
    expect(decodeFrameBody(seal(good))).toMatchObject({ type: 1, firstSequence: 1, lastSequence: 2, count: 2 });
    expect(reason(seal(good.slice(0, 6)))).toBe('seal frame must have 7 or 8 keys');
    // Format 2: `hd` (32 bytes) between root and sig; a ninth key is refused.
    const v2: [string, CanonicalValue][] = [...good.slice(0, 6), ['hd', cbin(new Uint8Array(32).fill(9))], good[6]!];
    expect(decodeFrameBody(seal(v2))).toMatchObject({ type: 1, headerDigest: new Uint8Array(32).fill(9) });
    expect('headerDigest' in decodeFrameBody(seal(good))).toBe(false);
    expect(reason(seal([...v2, ['x', cuint(0)]]))).toBe('seal frame must have 7 or 8 keys');
    expect(reason(seal(v2.map(([k, v]): [string, CanonicalValue] => [k === 'hd' ? 'hx' : k, v])))).toBe('seal frame: expected key hd');
    expect(reason(seal(v2.map(([k, v]): [string, CanonicalValue] => [k, k === 'hd' ? cbin(new Uint8Array(31)) : v])))).toBe('header digest must be 32 bytes, got 31');
    expect(reason(seal([...good.slice(0, 6), ['sig', cbin(new Uint8Array(64))], ['hd', cbin(new Uint8Array(32))]]))).toBe('seal frame: expected key hd');
    for (let i = 1; i < 7; i++) {
      const renamed = good.map(([k, v], j): [string, CanonicalValue] => [j === i ? `${k}x` : k, v]);
      expect(reason(seal(renamed))).toBe(`seal frame: expected key ${good[i]![0]}`);
    }
    expect(reason(seal(good.map(([k, v]): [string, CanonicalValue] => [k, k === 'kid' ? cbin(new Uint8Array(31)) : v])))).toBe('key id must be 32 bytes, got 31');
    expect(reason(seal(good.map(([k, v]): [string, CanonicalValue] => [k, k === 'root' ? cbin(new Uint8Array(33)) : v])))).toBe('root must be 32 bytes, got 33');
    expect(reason(seal(good.map(([k, v]): [string, CanonicalValue] => [k, k === 'sig' ? cbin(new Uint8Array(63)) : v])))).toBe('signature must be 64 bytes, got 63');
    expect(reason(new Uint8Array([...seal(good), 1]))).toBe('trailing bytes after seal');
  });
});

describe('frame header checks (INV-TORN-TAIL)', () => {
  const frame = encodeSealFrame({ type: 1, firstSequence: 1, lastSequence: 1, count: 1, keyId: new Uint8Array(32), root: new Uint8Array(32), signature: new Uint8Array(64) });

  it('isValidFrameAt refuses every way a frame can be incomplete or damaged', () => {
    const at = (b: Uint8Array, pos = 0) => isValidFrameAt(b, pos);
    const padded = new Uint8Array([0, 0, ...frame]);
    expect(at(padded, 2)).toBe(true);
    expect(at(padded, 1)).toBe(false);
    expect(at(frame.subarray(0, 11))).toBe(false);
    expect(at(frame.subarray(0, 12))).toBe(false);
    expect(at(frame.subarray(0, frame.length - 1))).toBe(false);
    const set = (off: number, v: number) => {
      const b = frame.slice();
      new DataView(b.buffer).setUint32(off, v);
      return b;
    };
    expect(at(set(0, FRAME_MAGIC + 1))).toBe(false);
    expect(at(set(4, 0))).toBe(false);
    expect(at(set(4, MAX_FRAME_BODY_BYTES + 1))).toBe(false);
    expect(at(set(8, 0))).toBe(false);
    const flipped = frame.slice();
    flipped[20]! ^= 1;
    expect(at(flipped)).toBe(false);
    // A frame exactly filling the buffer is valid; one byte of garbage after it does not matter.
    expect(at(new Uint8Array([...frame, 0xff]))).toBe(true);
  });

  it('readFrameHeader reads big-endian fields at any offset, as unsigned', () => {
    const b = new Uint8Array([9, 0xff, 0xfe, 0xfd, 0xfc, 0x00, 0x00, 0x01, 0x02, 0x80, 0x00, 0x00, 0x01]);
    expect(readFrameHeader(b, 1)).toEqual({ magic: 0xfffefdfc, length: 0x102, crc: 0x80000001 });
  });
});
