// Input validation at the API edge (issue 17 items 5-7): coordinates, forged Coordinate instances and payload values.
// Invariants: INV-WELL-FORMED-STRINGS (no lone surrogate reaches a UTF-8 encoder), INV-COORDINATE-EDGE, INV-PAYLOAD-ROUND-TRIP.

import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, receiptFromJSON, receiptToJSON, Store, verifyReceiptClaim, verifyRustReceiptClaim, type AppendReceipt } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { blake3 } from '../src/crypto/blake3.js';

const Note = defineEvent<unknown>({ category: 3, typeId: 1, name: 'Note' });
const KEY = new Uint8Array(32).fill(7);

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(BatpakError);
    return (err as BatpakError).code;
  }
  return 'resolved';
}

async function open(seed = 1, extra: Partial<Parameters<typeof Store.open>[0]> = {}) {
  const fs = new SimFs(seed);
  return { fs, store: await Store.open({ dir: '/s', fs, ...extra }) };
}

describe('INV-WELL-FORMED-STRINGS lone UTF-16 surrogates', () => {
  it('are refused in an entity or scope, so "acct\\uD800" can never merge with "acct\\uFFFD"', async () => {
    expect(() => new Coordinate('acct\uD800', 'bank')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_COORDINATE' }));
    expect(() => new Coordinate('acct', 'b\uDC00ank')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_COORDINATE' }));
    // A well-formed pair (an emoji) is fine.
    expect(new Coordinate('acct\uD83D\uDE00', 'bank').entity).toBe('acct\u{1F600}');
    const { store } = await open();
    expect(await codeOf(store.append({ entity: 'acct\uD800', scope: 'bank' }, Note, 1))).toBe('ERR_INVALID_COORDINATE');
    expect(await codeOf(store.appendRaw({ entity: 'acct', scope: '\uDFFFx' }, { category: 3, typeId: 1 }, new Uint8Array(1)))).toBe('ERR_INVALID_COORDINATE');
    expect(await codeOf(store.appendBatch([{ coord: { entity: 'a', scope: 'b' }, kind: Note, payload: 1 }, { coord: { entity: 'a\uD800', scope: 'b' }, kind: Note, payload: 1 }]))).toBe('ERR_INVALID_COORDINATE');
    await store.append(new Coordinate('acct\uFFFD', 'bank'), Note, 1);
    expect((await store.verifyChain()).intact).toBe(true);
    expect(store.head('acct\uFFFD')?.entitySequence).toBe(1n);
    await store.close();
  });

  it('a receipt naming "z\\uD800" does not verify for the real "z\\uFFFD" event (claim, JSON and store)', async () => {
    const { store } = await open(2, { signingKey: KEY });
    const real = await store.append(new Coordinate('z\uFFFD', 's'), Note, { n: 1 });
    const pub = store.publicKey!;
    expect(verifyReceiptClaim(real, [pub]).status).toBe('signed');
    const forged: AppendReceipt = { ...real, coordinate: { entity: 'z\uD800', scope: 's' } };
    expect(verifyReceiptClaim(forged, [pub])).toEqual({ status: 'invalid', reason: 'coordinate: malformed' });
    expect((await store.verifyReceipt(forged)).status).toBe('invalid');
    const scopeForged: AppendReceipt = { ...real, coordinate: { entity: 'z\uFFFD', scope: 's\uDC00' } };
    expect(verifyReceiptClaim(scopeForged, [pub]).status).toBe('invalid');
    // The JSON form carries \ud800 as an escape: parsing refuses it instead of building a receipt.
    const json = JSON.stringify(receiptToJSON(real)).replace('\uFFFD', '\\ud800');
    expect(() => receiptFromJSON(json)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_RECEIPT' }));
    const ext: AppendReceipt = { ...real, extensions: new Map([['app.k\uD800', new Uint8Array(1)]]) };
    expect(verifyReceiptClaim(ext, [pub])).toEqual({ status: 'invalid', reason: 'extensions: malformed' });
    await store.close();
  });

  it('a Rust receipt claim naming "z\\uD800" is invalid, not verified as the "z\\uFFFD" one', () => {
    const claim = {
      eventId: 'ab'.repeat(16),
      globalSequence: 0n,
      coordinate: { entity: 'z\uFFFD', scope: 's' },
      kind: { category: 1, typeId: 0 },
      prevHash: new Uint8Array(32),
      contentHash: new Uint8Array(32),
    };
    expect(verifyRustReceiptClaim(claim, []).status).toBe('unsigned-accepted');
    const forged = verifyRustReceiptClaim({ ...claim, coordinate: { entity: 'z\uD800', scope: 's' } }, []);
    expect(forged.status).toBe('invalid');
    expect(forged.reason).toMatch(/lone UTF-16 surrogate/);
  });

  it('an idempotency key with a lone surrogate is refused (it would name the same event as its U+FFFD twin)', async () => {
    const { store } = await open(3);
    const first = await store.append({ entity: 'a', scope: 'b' }, Note, 1, { idempotencyKey: 'k\uFFFD' });
    expect(await codeOf(store.append({ entity: 'a', scope: 'b' }, Note, 1, { idempotencyKey: 'k\uD800' }))).toBe('ERR_INVALID_ARGUMENT');
    expect(store.lastSequence).toBe(first.globalSequence);
    await store.close();
  });

  it('importEvents refuses an extension key with a lone surrogate (frames and covers hold UTF-8)', async () => {
    const { store } = await open(10);
    const payload = new Uint8Array([1]);
    const event = (key: string) => ({
      eventId: 'ab'.repeat(16),
      coordinate: { entity: 'i', scope: 's' },
      kind: { category: 3, typeId: 1 },
      payload,
      contentHash: blake3(payload),
      payloadVersion: 0,
      extensions: new Map([[key, new Uint8Array([2])]]),
    });
    expect(await codeOf(store.importEvents([event('app.k\uD800')]))).toBe('ERR_INVALID_ARGUMENT');
    expect(store.lastSequence).toBe(0n);
    const [r] = await store.importEvents([event('app.k\uFFFD')]);
    expect(r!.extensions?.get('app.k\uFFFD')).toEqual(new Uint8Array([2]));
    await store.close();
  });

  it('a shred selector entity with a lone surrogate is refused, and destroys no other key', async () => {
    const { store } = await open(4, { payloadEncryption: {} });
    const r = await store.append({ entity: 'u\uFFFD', scope: 'p' }, Note, 'secret');
    expect(await codeOf(store.shredScope({ entity: 'u\uD800' }))).toBe('ERR_INVALID_COORDINATE');
    expect((await store.get(r.eventId)).payload).toBe('secret');
    await store.close();
  });
});

describe('INV-COORDINATE-EDGE a Coordinate is judged by its fields, not by instanceof', () => {
  it('refuses a forged instance and a plain object with bad fields; query and export keep working', async () => {
    const { store } = await open(5);
    const forged = Object.assign(Object.create(Coordinate.prototype) as Coordinate, { entity: '../etc', scope: 'x' });
    expect(forged instanceof Coordinate).toBe(true);
    expect(await codeOf(store.append(forged, Note, 1))).toBe('ERR_INVALID_COORDINATE');
    expect(await codeOf(store.appendRaw(forged, { category: 3, typeId: 1 }, new Uint8Array(1)))).toBe('ERR_INVALID_COORDINATE');
    expect(await codeOf(store.appendBatch([{ coord: forged, kind: Note, payload: 1 }]))).toBe('ERR_INVALID_COORDINATE');
    const noScope = Object.create(Coordinate.prototype) as Coordinate;
    expect(await codeOf(store.append(noScope, Note, 1))).toBe('ERR_INVALID_COORDINATE');
    expect(await codeOf(store.append({ entity: 'a|b', scope: 'x' } as unknown as Coordinate, Note, 1))).toBe('ERR_INVALID_COORDINATE');
    // A getter that answers differently on a second read cannot slip a bad value past the check.
    let reads = 0;
    const shifty = { get entity() { return reads++ === 0 ? 'ok' : '../etc'; }, scope: 'x' };
    const r = await store.append(shifty, Note, 1);
    expect(r.coordinate.entity).toBe('ok');
    const throwing = { get entity(): string { throw new Error('boom'); }, scope: 'x' };
    expect(await codeOf(store.append(throwing, Note, 1))).toBe('ERR_INVALID_COORDINATE');
    const seen: string[] = [];
    for await (const e of store.query({})) seen.push(e.coordinate.entity);
    expect(seen).toEqual(['ok']);
    expect((await store.verifyChain()).intact).toBe(true);
    await store.close();
  });
});

/** Appends `payload` and reads it back (or returns the refusal code). */
async function roundTrip(store: Store, payload: unknown): Promise<unknown> {
  const r = await store.append({ entity: 'p', scope: 's' }, Note, payload);
  return (await store.get(r.eventId)).payload;
}

describe('INV-PAYLOAD-ROUND-TRIP what a typed append accepts comes back equal, or is ERR_INVALID_PAYLOAD', () => {
  it('refuses every value that msgpack would change, and stores nothing for it', async () => {
    const { store } = await open(6);
    class Point {
      x = 1;
    }
    const sparse: unknown[] = [1];
    sparse[2] = 3;
    const named = Object.assign([1, 2], { extra: true });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    let deep: unknown = 1;
    for (let i = 0; i < 600; i++) deep = [deep];
    const refused: [string, unknown][] = [
      ['"__proto__" key', JSON.parse('{"__proto__": 1}')],
      ['nested "__proto__" key', { a: [JSON.parse('{"__proto__": {"x": 1}}')] }],
      ['lone surrogate string', 'x\uD800'],
      ['lone surrogate key', { ['k\uDC00']: 1 }],
      ['function', () => 1],
      ['function property', { f() {} }],
      ['symbol', Symbol('s')],
      ['symbol key', { [Symbol('s')]: 1 }],
      ['Promise', Promise.resolve(1)],
      ['WeakMap', new WeakMap()],
      ['WeakSet', new WeakSet()],
      ['Map', new Map([['a', 1]])],
      ['Set', new Set([1])],
      ['class instance', new Point()],
      ['Error', new Error('e')],
      ['RegExp', /x/],
      ['boxed number', Object(1)],
      ['Float64Array', new Float64Array([1.5])],
      ['Uint16Array', new Uint16Array([1])],
      ['Uint8ClampedArray', new Uint8ClampedArray([1])],
      ['ArrayBuffer', new ArrayBuffer(2)],
      ['DataView', new DataView(new ArrayBuffer(2))],
      ['sparse array', sparse],
      ['array with a named property', named],
      ['cycle', cyclic],
      ['too deep', deep],
      ['bigint above u64', 1n << 64n],
      ['bigint below i64', -(1n << 63n) - 1n],
      ['Date with own property', Object.assign(new Date(0), { tz: 'x' })],
      ['non-enumerable property', Object.defineProperty({}, 'hidden', { value: 1, enumerable: false })],
      ['throwing getter', { get x(): number { throw new Error('boom'); } }],
      ['Proxy posing as a Uint8Array', new Proxy(new Uint8Array([1]), {})],
    ];
    for (const [name, value] of refused) {
      const code = await codeOf(store.append({ entity: 'p', scope: 's' }, Note, value));
      expect({ name, code }).toEqual({ name, code: 'ERR_INVALID_PAYLOAD' });
    }
    expect(store.lastSequence).toBe(0n);
    const batch = await store.appendBatch([{ coord: { entity: 'p', scope: 's' }, kind: Note, payload: 1 }, { coord: { entity: 'p', scope: 's' }, kind: Note, payload: new Map() }]).catch((e: unknown) => e);
    expect(batch).toMatchObject({ code: 'ERR_INVALID_PAYLOAD', details: { index: 1 } });
    await store.close();
  });

  it('names where in the value the problem is', async () => {
    const { store } = await open(7);
    const err = await store.append({ entity: 'p', scope: 's' }, Note, { a: [1, { b: new Float64Array(1) }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_INVALID_PAYLOAD', details: { field: 'value.a[1].b' } });
    expect((err as Error).message).toMatch(/Float64Array/);
    await store.close();
  });

  it('keeps every documented value type exactly', async () => {
    const { store } = await open(8);
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    const accepted: unknown[] = [
      undefined,
      null,
      true,
      0,
      -1.5,
      2 ** 53 + 2,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      5n,
      (1n << 64n) - 1n,
      -(1n << 63n),
      'héllo \u{1F600}',
      '',
      new Uint8Array([1, 2, 255]),
      new Date(1_700_000_000_123),
      new Date(-1),
      [1, undefined, null, [2]],
      { a: undefined, 'b.c': [1], __proto_: 2, constructor: 'x', 1: 'one' },
      nullProto,
    ];
    for (const value of accepted) expect(await roundTrip(store, value)).toEqual(value);
    // A getter is read once; the stored value is what it answered then.
    let n = 0;
    expect(await roundTrip(store, { get v() { return ++n; } })).toEqual({ v: 1 });
    expect(n).toBe(1);
    // -0 is the one normalization: it is stored as the integer 0 (-0 === 0).
    expect(await roundTrip(store, -0)).toBe(0);
    await store.close();
  });

  it('definition validate() sees the checked copy, so a getter cannot answer validate and the encoder differently', async () => {
    const Checked = defineEvent<{ v: number }>({ category: 3, typeId: 2, name: 'Checked', validate: (p): p is { v: number } => (p as { v: number }).v === 1 });
    const { store } = await open(9);
    let n = 0;
    const r = await store.append({ entity: 'p', scope: 's' }, Checked, { get v() { return ++n; } });
    expect((await store.get(r.eventId)).payload).toEqual({ v: 1 });
    await store.close();
  });
});
