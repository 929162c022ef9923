// Every refusal of the keyset, compaction marker/log and receipt-JSON decoders, with the reason it names
// (INV-KEYSET-FAIL-CLOSED, INV-TYPED-ERRORS): written to kill the mutants Stryker found alive (GAUNTLET.md).
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BatpakError, receiptFromJSON, receiptToJSON, type AppendReceipt } from '../src/index.js';
import { carray, cbin, cf64, cint, cmap, cnil, cstr, cuint, decodeCanonical, encodeCanonical, type CanonicalValue } from '../src/encoding/canonical.js';
import { decodeKeyset, encodeKeyset } from '../src/keyset/file.js';
import { decodeMarker, encodeMarker } from '../src/compaction/marker.js';
import { decodeCompactionLog, encodeCompactionLog, RemovedSet, type CompactionEntry } from '../src/compaction/log.js';

/** The refusal `fn` throws: its code and the reason (or field) it names. */
function refusal(fn: () => unknown): { code: string; reason: unknown; field: unknown; message: string } {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof BatpakError)) throw err;
    return { code: err.code, reason: err.details.reason, field: err.details.field, message: err.message };
  }
  throw new Error('expected a refusal');
}

/** A container image `magic | version u16le | crc32 u32le | body` with a chosen body, version and CRC. */
function image(magic: string, body: Uint8Array, opts: { version?: number; crc?: number } = {}): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  out.set(new TextEncoder().encode(magic), 0);
  const dv = new DataView(out.buffer);
  dv.setUint16(6, opts.version ?? 1, true);
  dv.setUint32(8, opts.crc ?? crc32(body), true);
  out.set(body, 12);
  return out;
}
const enc = (v: CanonicalValue) => encodeCanonical(v);
const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe('keyset image refusals name their reason (INV-KEYSET-FAIL-CLOSED)', () => {
  const keysetBody = (g: CanonicalValue, k: CanonicalValue = carray([]), d: CanonicalValue = carray([])) =>
    enc(cmap([[cstr('g'), g], [cstr('k'), k], [cstr('d'), d]]));
  const reason = (b: Uint8Array) => {
    const r = refusal(() => decodeKeyset(b, 'entity', '/k'));
    expect(r.code).toBe('ERR_CORRUPT_KEYSET');
    expect(r.message).toContain('keyset /k refused: ');
    return r.reason;
  };

  it('round-trips a sorted image and refuses each kind of damage', () => {
    const good = encodeKeyset({
      granularity: 'entity',
      keys: [
        { scope: bytes(3, 2), generation: 1, key: bytes(32, 9) },
        { scope: bytes(3, 2), generation: 0, key: bytes(32, 8) },
        { scope: bytes(2, 1), generation: 4, key: bytes(32, 7) },
      ],
      destroyed: [
        { scope: bytes(3, 2), generation: 2 },
        { scope: bytes(1, 5), generation: 0 },
      ],
    });
    const back = decodeKeyset(good, 'entity', '/k');
    expect(back.keys.map((k) => [k.scope.length, k.generation])).toEqual([
      [2, 4],
      [3, 0],
      [3, 1],
    ]);
    // Sorted by scope bytes (02 02 02 before 05), then generation.
    expect(back.destroyed.map((d) => [d.scope.length, d.generation])).toEqual([
      [3, 2],
      [1, 0],
    ]);
    expect(good.subarray(0, 6)).toEqual(new TextEncoder().encode('BPKEYS'));
    expect(reason(good.subarray(0, 11))).toBe('short header');
    expect(decodeKeyset(image('BPKEYS', keysetBody(cuint(1))), 'entity', '/k').keys).toEqual([]);
    expect(reason(image('BPKEYX', keysetBody(cuint(1))))).toBe('bad magic');
    expect(reason(image('BPKEYS', keysetBody(cuint(1)), { version: 2 }))).toBe('unsupported version 2');
    expect(reason(image('BPKEYS', keysetBody(cuint(1)), { version: 2, crc: 0 }))).toBe('unsupported version 2');
    expect(reason(image('BPKEYS', keysetBody(cuint(1)), { crc: 12345 }))).toBe('CRC mismatch');
    expect(reason(image('BPKEYS', new Uint8Array([0xc1])))).toMatch(/^body does not decode: /);
    expect(reason(image('BPKEYS', enc(carray([]))))).toBe('body is not the keyset map');
    expect(reason(image('BPKEYS', enc(cmap([[cstr('g'), cuint(1)], [cstr('k'), carray([])]]))))).toBe('body is not the keyset map');
    expect(reason(image('BPKEYS', enc(cmap([[cstr('x'), cuint(1)], [cstr('k'), carray([])], [cstr('d'), carray([])]]))))).toBe("body key 0 is not 'g'");
    expect(reason(image('BPKEYS', enc(cmap([[cstr('g'), cuint(1)], [cstr('x'), carray([])], [cstr('d'), carray([])]]))))).toBe("body key 1 is not 'k'");
    expect(reason(image('BPKEYS', enc(cmap([[cstr('g'), cuint(1)], [cstr('k'), carray([])], [cstr('x'), carray([])]]))))).toBe("body key 2 is not 'd'");
    expect(reason(image('BPKEYS', keysetBody(cstr('1'))))).toBe('granularity is not an unsigned integer');
    expect(reason(image('BPKEYS', keysetBody(cint(-1))))).toBe('granularity is not an unsigned integer');
    expect(reason(image('BPKEYS', keysetBody(cuint(9))))).toBe('unknown granularity 9');
    expect(reason(image('BPKEYS', keysetBody(cuint(0))))).toBe('unknown granularity 0');
    expect(reason(image('BPKEYS', keysetBody(cuint(2))))).toBe("granularity is 'category' but the store is configured for 'entity'");
    expect(reason(image('BPKEYS', keysetBody(cuint(1), cmap([]))))).toBe('keys is not a list');
    expect(reason(image('BPKEYS', keysetBody(cuint(1), carray([]), cmap([]))))).toBe('destroyed is not a list');
    expect(reason(image('BPKEYS', keysetBody(cuint(1), carray([carray([cbin(bytes(1)), cuint(0)])]))))).toBe('key entry is not [scope, generation, key]');
    expect(reason(image('BPKEYS', keysetBody(cuint(1), carray([cuint(0)]))))).toBe('key entry is not [scope, generation, key]');
    expect(reason(image('BPKEYS', keysetBody(cuint(1), carray([carray([cstr('s'), cuint(0), cbin(bytes(32))])]))))).toBe('key scope is not a byte string');
    expect(reason(image('BPKEYS', keysetBody(cuint(1), carray([carray([cbin(bytes(1)), cstr('0'), cbin(bytes(32))])]))))).toBe('key generation is not an unsigned integer');
    expect(reason(image('BPKEYS', keysetBody(cuint(1), carray([carray([cbin(bytes(1)), cuint(0), cbin(bytes(31))])]))))).toBe('key is not 32 byte string');
    expect(reason(image('BPKEYS', keysetBody(cuint(1), carray([]), carray([carray([cbin(bytes(1))])]))))).toBe('destroyed entry is not [scope, generation]');
    expect(reason(image('BPKEYS', keysetBody(cuint(1), carray([]), carray([cuint(0)]))))).toBe('destroyed entry is not [scope, generation]');
    expect(reason(image('BPKEYS', keysetBody(cuint(1), carray([]), carray([carray([cuint(1), cuint(0)])]))))).toBe('destroyed scope is not a byte string');
    expect(reason(image('BPKEYS', keysetBody(cuint(1), carray([]), carray([carray([cbin(bytes(1)), cint(-3)])]))))).toBe('destroyed generation is not an unsigned integer');
  });

  it('accepts every granularity code it writes', () => {
    for (const g of ['entity', 'category', 'type', 'event'] as const) {
      expect(decodeKeyset(encodeKeyset({ granularity: g, keys: [], destroyed: [] }), g, '/k').granularity).toBe(g);
    }
  });
});

describe('compaction marker and log refusals name their reason (INV-COMPACT-SWAP)', () => {
  const entry: CompactionEntry = {
    compactionId: 'c1',
    strategy: 'retention',
    mergedId: 2,
    sources: [2, 3],
    removed: [
      { globalSequence: 5, id: bytes(16, 1), contentHash: bytes(32, 2), leaf: undefined },
      { globalSequence: 6, id: bytes(16, 3), contentHash: bytes(32, 4), leaf: bytes(32, 5) },
    ],
  };
  const signedEntry: CompactionEntry = { ...entry, keyId: bytes(32, 6), signature: bytes(64, 7) };
  const logReason = (b: Uint8Array) => {
    const r = refusal(() => decodeCompactionLog(b, '/log'));
    expect(r.code).toBe('ERR_CORRUPT_MARKER');
    expect(r.message).toContain('compaction log /log refused: ');
    return r.reason;
  };
  const entryBody = (fields: [string, CanonicalValue][]) => enc(cmap([[cstr('entries'), carray([cmap(fields.map(([k, v]) => [cstr(k), v]))])]]));
  const fields = (over: Partial<Record<string, CanonicalValue>> = {}): [string, CanonicalValue][] =>
    (
      [
        ['id', cstr('c1')],
        ['strategy', cstr('merge')],
        ['merged', cuint(1)],
        ['sources', carray([cuint(1)])],
        ['removed', carray([])],
        ['kid', cnil()],
        ['sig', cnil()],
      ] as [string, CanonicalValue][]
    ).map(([k, v]) => [k, over[k] ?? v]);

  it('round-trips log entries, signed or not, and refuses each kind of damage', () => {
    expect(decodeCompactionLog(encodeCompactionLog([entry, signedEntry]), '/log')).toEqual([entry, signedEntry]);
    expect(decodeCompactionLog(image('BPCLOG', entryBody(fields())), '/log')[0]).toEqual({ compactionId: 'c1', strategy: 'merge', mergedId: 1, sources: [1], removed: [] });
    const good = encodeCompactionLog([entry]);
    expect(logReason(good.subarray(0, 11))).toBe('bad magic or short header');
    expect(logReason(image('BPCLOX', entryBody(fields())))).toBe('bad magic or short header');
    expect(logReason(image('BPCLOG', entryBody(fields()), { version: 3 }))).toBe('unsupported version 3');
    expect(logReason(image('BPCLOG', entryBody(fields()), { crc: 1 }))).toBe('CRC mismatch');
    expect(logReason(image('BPCLOG', new Uint8Array([0xc1])))).toMatch(/^body does not decode: /);
    expect(logReason(image('BPCLOG', enc(carray([]))))).toBe('body is not a compaction log');
    expect(logReason(image('BPCLOG', enc(cmap([[cstr('entrie'), carray([])]]))))).toBe('body is not a compaction log');
    expect(logReason(image('BPCLOG', enc(cmap([[cuint(1), carray([])]]))))).toBe('body is not a compaction log');
    expect(logReason(image('BPCLOG', enc(cmap([[cstr('entries'), cmap([])]]))))).toBe('body is not a compaction log');
    expect(logReason(image('BPCLOG', enc(cmap([[cstr('entries'), carray([])], [cstr('x'), carray([])]]))))).toBe('body is not a compaction log');
    expect(decodeCompactionLog(image('BPCLOG', enc(cmap([[cstr('entries'), carray([])]]))), '/log')).toEqual([]);
    expect(logReason(image('BPCLOG', entryBody(fields().slice(0, 6))))).toBe('entry is not a compaction entry');
    expect(logReason(image('BPCLOG', enc(cmap([[cstr('entries'), carray([cuint(1)])]]))))).toBe('entry is not a compaction entry');
    const renamed = fields().map(([k, v], i): [string, CanonicalValue] => [i === 3 ? 'srcs' : k, v]);
    expect(logReason(image('BPCLOG', entryBody(renamed)))).toBe("entry field 3 is not 'sources'");
    expect(logReason(image('BPCLOG', entryBody(fields({ id: cuint(1) }))))).toBe('id is not a string');
    expect(logReason(image('BPCLOG', entryBody(fields({ strategy: cnil() }))))).toBe('strategy is not a string');
    expect(logReason(image('BPCLOG', entryBody(fields({ merged: cstr('1') }))))).toBe('merged is not an unsigned integer');
    expect(logReason(image('BPCLOG', entryBody(fields({ merged: cint(-1) }))))).toBe('merged is not an unsigned integer');
    expect(logReason(image('BPCLOG', entryBody(fields({ merged: cf64(1.5) }))))).toBe('merged is not an unsigned integer');
    expect(logReason(image('BPCLOG', entryBody(fields({ merged: cuint(2n ** 60n) }))))).toBe('merged is not an unsigned integer');
    expect(logReason(image('BPCLOG', entryBody(fields({ sources: cuint(1) }))))).toBe('sources is not a list');
    expect(logReason(image('BPCLOG', entryBody(fields({ sources: carray([cstr('1')]) }))))).toBe('source is not an unsigned integer');
    expect(logReason(image('BPCLOG', entryBody(fields({ removed: cmap([]) }))))).toBe('removed is not a list');
    expect(logReason(image('BPCLOG', entryBody(fields({ removed: carray([cuint(1)]) }))))).toBe('removed row is not a list');
    expect(logReason(image('BPCLOG', entryBody(fields({ removed: carray([carray([cuint(1), cbin(bytes(16)), cbin(bytes(32))])]) }))))).toBe('removed row is not [sequence, id, hash, leaf]');
    const row = (seq: CanonicalValue, id: CanonicalValue, hash: CanonicalValue, leaf: CanonicalValue) => fields({ removed: carray([carray([seq, id, hash, leaf])]) });
    expect(logReason(image('BPCLOG', entryBody(row(cint(-1), cbin(bytes(16)), cbin(bytes(32)), cnil()))))).toBe('removed sequence is not an unsigned integer');
    expect(logReason(image('BPCLOG', entryBody(row(cuint(1), cbin(bytes(15)), cbin(bytes(32)), cnil()))))).toBe('removed id is not 16 bytes');
    expect(logReason(image('BPCLOG', entryBody(row(cuint(1), cstr('x'), cbin(bytes(32)), cnil()))))).toBe('removed id is not 16 bytes');
    expect(logReason(image('BPCLOG', entryBody(row(cuint(1), cstr('sixteen chars id'), cbin(bytes(32)), cnil()))))).toBe('removed id is not 16 bytes');
    expect(logReason(image('BPCLOG', entryBody(row(cuint(1), cbin(bytes(16)), cbin(bytes(31)), cnil()))))).toBe('removed hash is not 32 bytes');
    expect(logReason(image('BPCLOG', entryBody(row(cuint(1), cbin(bytes(16)), cbin(bytes(32)), cbin(bytes(33))))))).toBe('removed leaf is not 32 bytes');
    expect(logReason(image('BPCLOG', entryBody(fields({ kid: cbin(bytes(31)) }))))).toBe('kid is not 32 bytes');
    expect(logReason(image('BPCLOG', entryBody(fields({ sig: cbin(bytes(63)) }))))).toBe('sig is not 64 bytes');
  });

  it('round-trips a marker and refuses each kind of damage', () => {
    const marker = { compactionId: 'm1', mergedId: 2, sources: [2, 3, 4], entry };
    expect(decodeMarker(encodeMarker(marker), '/p')).toEqual(marker);
    const body = (id: CanonicalValue, merged: CanonicalValue, sources: CanonicalValue, extra: [CanonicalValue, CanonicalValue][] = []) =>
      enc(cmap([[cstr('id'), id], [cstr('merged'), merged], [cstr('sources'), sources], [cstr('entry'), cmap(fields().map(([k, v]) => [cstr(k), v]))], ...extra]));
    const reason = (b: Uint8Array) => {
      const r = refusal(() => decodeMarker(b, '/p'));
      expect(r.code).toBe('ERR_CORRUPT_MARKER');
      expect(r.message).toContain('compaction marker /p refused: ');
      return r.reason;
    };
    const ok = body(cstr('m'), cuint(1), carray([cuint(1), cuint(2)]));
    expect(decodeMarker(image('BPCMPT', ok), '/p').sources).toEqual([1, 2]);
    expect(reason(image('BPCMPT', ok).subarray(0, 11))).toBe('bad magic or short header');
    expect(reason(image('BPCMPX', ok))).toBe('bad magic or short header');
    expect(reason(image('BPCMPT', ok, { version: 0 }))).toBe('unsupported version 0');
    expect(reason(image('BPCMPT', ok, { crc: 7 }))).toBe('CRC mismatch');
    expect(reason(image('BPCMPT', new Uint8Array([0xc1])))).toMatch(/^body does not decode: /);
    expect(reason(image('BPCMPT', enc(carray([]))))).toBe('body is not a marker');
    expect(reason(image('BPCMPT', body(cuint(1), cuint(1), carray([cuint(1)]))))).toBe('body is not a marker');
    expect(reason(image('BPCMPT', body(cstr('m'), cstr('1'), carray([cuint(1)]))))).toBe('body is not a marker');
    expect(reason(image('BPCMPT', body(cstr('m'), cuint(1), cuint(1))))).toBe('body is not a marker');
    expect(reason(image('BPCMPT', body(cstr('m'), cuint(1), carray([cuint(1)]), [[cstr('x'), cnil()]])))).toBe('body is not a marker');
    expect(reason(image('BPCMPT', enc(cmap([[cstr('id'), cstr('m')], [cstr('merged'), cuint(1)], [cstr('sources'), carray([cuint(1)])]]))))).toBe('body is not a marker');
    expect(reason(image('BPCMPT', body(cstr('m'), cuint(1), carray([cuint(0), cuint(1)]))))).toBe('bad segment ids');
    expect(reason(image('BPCMPT', body(cstr('m'), cuint(1), carray([cstr('1')]))))).toBe('bad segment ids');
    expect(reason(image('BPCMPT', body(cstr('m'), cuint(5), carray([cuint(1), cuint(2)]))))).toBe('bad segment ids');
    // A source that is not a small unsigned integer is refused even when the merged id is among the others.
    expect(reason(image('BPCMPT', body(cstr('m'), cuint(1), carray([cuint(1), cstr('5')]))))).toBe('bad segment ids');
    expect(reason(image('BPCMPT', body(cstr('m'), cuint(1), carray([cuint(1), cuint(2n ** 60n)]))))).toBe('bad segment ids');
  });

  it('writes the marker body as the map FORMAT.md documents: id, merged, sources, entry', () => {
    const bytes = encodeMarker({ compactionId: 'm1', mergedId: 2, sources: [2, 3], entry });
    const body = decodeCanonical(bytes.subarray(12));
    expect(body.t).toBe('map');
    const entries = body.t === 'map' ? body.entries : [];
    expect(entries.map(([k]) => (k.t === 'str' ? k.v : undefined))).toEqual(['id', 'merged', 'sources', 'entry']);
    expect(entries[0]![1]).toEqual(cstr('m1'));
    expect(entries[1]![1]).toEqual(cuint(2));
  });

  it('RemovedSet explains exactly the removed sequences and trusts hashes only from trusted entries', () => {
    const set = new RemovedSet();
    expect(set.maxSequence()).toBe(0);
    expect(set.explains(3, 4)).toBe(true);
    set.addEntry(entry, false);
    expect(set.hashes().size).toBe(0);
    expect(set.bySequence(5)?.globalSequence).toBe(5);
    expect(set.bySequence(7)).toBeUndefined();
    expect(set.maxSequence()).toBe(6);
    expect(set.explains(4, 7)).toBe(true);
    expect(set.explains(4, 8)).toBe(false);
    expect(set.explains(3, 6)).toBe(false);
    set.addEntry(signedEntry, true);
    expect([...set.hashes()].sort()).toEqual(['02'.repeat(32), '04'.repeat(32)]);
  });
});

describe('receipt JSON refusals name the field (INV-TYPED-ERRORS)', () => {
  const receipt: AppendReceipt = {
    eventId: 'ab'.repeat(16),
    globalSequence: 7n,
    entitySequence: 3n,
    kind: { category: 5, typeId: 9 },
    coordinate: { entity: 'account:1', scope: 'bank' },
    contentHash: bytes(32, 0x11),
    prevHash: bytes(32, 0x22),
    committedAt: 1_700_000_000_123n,
  };
  const json = receiptToJSON(receipt);
  const field = (input: unknown) => {
    const r = refusal(() => receiptFromJSON(input));
    expect(r.code).toBe('ERR_INVALID_RECEIPT');
    if (r.field !== undefined) expect(r.message).toBe(`receipt JSON field ${String(r.field)} is missing or malformed`);
    return r.field;
  };
  const withField = (k: string, v: unknown) => ({ ...json, [k]: v });

  it('writes only the fields a receipt has, and parses them back exactly', () => {
    expect(json).toEqual({
      v: 1,
      eventId: 'ab'.repeat(16),
      globalSequence: '7',
      entitySequence: '3',
      kind: { category: 5, typeId: 9 },
      coordinate: { entity: 'account:1', scope: 'bank' },
      contentHash: '11'.repeat(32),
      prevHash: '22'.repeat(32),
      committedAt: '1700000000123',
    });
    expect(receiptFromJSON(json)).toEqual(receipt);
    expect(receiptFromJSON(JSON.stringify(json))).toEqual(receipt);
    expect(receiptToJSON({ ...receipt, extensions: new Map() })).toEqual(json);
    const full: AppendReceipt = {
      ...receipt,
      signature: bytes(64, 3),
      keyId: 'cd'.repeat(32),
      groupProof: { index: 2, siblings: [bytes(32, 4), bytes(32, 5)] },
      extensions: new Map([['x.y', bytes(2, 6)]]),
    };
    const fullJson = receiptToJSON(full);
    expect(fullJson.signature).toBe('03'.repeat(64));
    expect(fullJson.keyId).toBe('cd'.repeat(32));
    expect(fullJson.groupProof).toEqual({ index: 2, siblings: ['04'.repeat(32), '05'.repeat(32)] });
    expect(fullJson.extensions).toEqual({ 'x.y': '0606' });
    expect(receiptFromJSON(fullJson)).toEqual(full);
    expect(receiptFromJSON({ ...json, globalSequence: '0', extensions: {} }).globalSequence).toBe(0n);
  });

  it('refuses each malformed field by name', () => {
    expect(refusal(() => receiptToJSON({ ...receipt, eventId: 'nope' })).field).toBe('eventId');
    expect(refusal(() => receiptFromJSON('{')).message).toBe('receipt JSON does not parse');
    expect(field(null)).toBe('receipt');
    expect(field(42)).toBe('receipt');
    expect(field(withField('v', 2))).toBe('v');
    expect(field(withField('kind', null))).toBe('kind');
    expect(field(withField('kind', 'k'))).toBe('kind');
    expect(field(withField('kind', { category: 1.5, typeId: 1 }))).toBe('kind');
    expect(field(withField('kind', { category: 1, typeId: '1' }))).toBe('kind');
    expect(field(withField('coordinate', null))).toBe('coordinate');
    expect(field(withField('coordinate', 'c'))).toBe('coordinate');
    expect(field(withField('coordinate', { entity: 1, scope: 's' }))).toBe('coordinate');
    expect(field(withField('coordinate', { entity: 'e', scope: 2 }))).toBe('coordinate');
    expect(field(withField('groupProof', null))).toBe('groupProof');
    expect(field(withField('groupProof', 'p'))).toBe('groupProof');
    expect(field(withField('groupProof', { index: 0.5, siblings: [] }))).toBe('groupProof');
    expect(field(withField('groupProof', { index: 0, siblings: 'x' }))).toBe('groupProof');
    expect(field(withField('groupProof', { index: 0, siblings: ['00'.repeat(31)] }))).toBe('groupProof.siblings[0]');
    expect(field(withField('extensions', null))).toBe('extensions');
    expect(field(withField('extensions', 'e'))).toBe('extensions');
    expect(field(withField('extensions', { a: 'zz' }))).toBe('extensions.a');
    expect(field(withField('extensions', { a: 7 }))).toBe('extensions.a');
    expect(field(withField('keyId', 'CD'.repeat(32)))).toBe('keyId');
    expect(field(withField('keyId', 'cd'.repeat(31)))).toBe('keyId');
    expect(field(withField('keyId', 5))).toBe('keyId');
    expect(field(withField('eventId', 'AB'.repeat(16)))).toBe('eventId');
    expect(field(withField('eventId', 'ab'.repeat(15)))).toBe('eventId');
    expect(field(withField('eventId', `${'ab'.repeat(16)}0`))).toBe('eventId');
    expect(field(withField('eventId', 3))).toBe('eventId');
    expect(field(withField('globalSequence', '07'))).toBe('globalSequence');
    expect(field(withField('globalSequence', 7))).toBe('globalSequence');
    expect(field(withField('globalSequence', '7a'))).toBe('globalSequence');
    expect(field(withField('globalSequence', '-1'))).toBe('globalSequence');
    expect(field(withField('entitySequence', ''))).toBe('entitySequence');
    expect(field(withField('committedAt', '1.5'))).toBe('committedAt');
    expect(field(withField('contentHash', '11'.repeat(31)))).toBe('contentHash');
    expect(field(withField('contentHash', '1'.repeat(63)))).toBe('contentHash');
    expect(field(withField('contentHash', 'AA'.repeat(32)))).toBe('contentHash');
    expect(field(withField('contentHash', 5))).toBe('contentHash');
    expect(field(withField('prevHash', `${'22'.repeat(32)}00`))).toBe('prevHash');
    expect(field(withField('signature', '03'.repeat(63)))).toBe('signature');
    expect(field(withField('signature', 'x'))).toBe('signature');
  });
});
