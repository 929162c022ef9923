// Key scopes, the in-memory keyset and receipt field checks at their exact boundaries (INV-SHRED-SELECTOR,
// INV-KEY-FENCE, INV-TYPED-ERRORS): pins that mutation testing showed were missing (GAUNTLET.md).
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, isSigned, isValid, verifyReceiptClaim, type AppendReceipt } from '../src/index.js';
import { malformedField, verifySignature } from '../src/receipt/verify.js';
import { payloadAad } from '../src/keyset/aad.js';
import { scopeOf, scopeOfSelector } from '../src/keyset/scope.js';
import { Keyset } from '../src/keyset/keyset.js';
import { decodeKeyset } from '../src/keyset/file.js';
import { FileKeyStore, type KeyStore } from '../src/keyset/keystore.js';
import { SimFs } from '../src/entry/testing.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const id = new Uint8Array(16).map((_, i) => i + 1);

describe('key scopes (INV-SHRED-SELECTOR)', () => {
  it('encodes each granularity exactly', () => {
    expect(hex(scopeOf('entity', 'ab', 0x5123, id))).toBe('016162');
    expect(hex(scopeOf('entity', '', 0, id))).toBe('01');
    expect(hex(scopeOf('category', 'x', 0x5123, id))).toBe('0205');
    expect(hex(scopeOf('category', 'x', 0xf000, id))).toBe('020f');
    expect(hex(scopeOf('type', 'x', 0x5123, id))).toBe('035123');
    expect(hex(scopeOf('type', 'x', 0xabcd, id))).toBe('03abcd');
    expect(hex(scopeOf('event', 'x', 1, id))).toBe(`04${hex(id)}`);
  });

  it('resolves selectors only for their granularity', () => {
    const code = (g: Parameters<typeof scopeOfSelector>[0], s: unknown) => {
      try {
        scopeOfSelector(g, s);
      } catch (err) {
        return (err as BatpakError).code;
      }
      return 'ok';
    };
    expect(hex(scopeOfSelector('entity', { entity: 'acct' }))).toBe(`01${hex(new TextEncoder().encode('acct'))}`);
    expect(hex(scopeOfSelector('entity', { entity: new Coordinate('acct', 's') }))).toBe(`01${hex(new TextEncoder().encode('acct'))}`);
    expect(hex(scopeOfSelector('category', { kind: { category: 5, typeId: 1 } }))).toBe('0205');
    expect(hex(scopeOfSelector('type', { kind: { category: 5, typeId: 0x123 } }))).toBe('035123');
    expect(hex(scopeOfSelector('event', { eventId: hex(id) }))).toBe(`04${hex(id)}`);
    expect(code('entity', null)).toBe('ERR_INVALID_ARGUMENT');
    expect(code('entity', 'acct')).toBe('ERR_INVALID_ARGUMENT');
    expect(code('entity', {})).toBe('ERR_INVALID_ARGUMENT');
    expect(code('entity', { entity: 'a', eventId: hex(id) })).toBe('ERR_INVALID_ARGUMENT');
    expect(code('entity', { entity: '' })).toBe('ERR_INVALID_ARGUMENT');
    expect(code('entity', { entity: 7 })).toBe('ERR_INVALID_ARGUMENT');
    expect(code('category', { entity: 'a' })).toBe('ERR_SHRED_SELECTOR_MISMATCH');
    expect(code('entity', { kind: { category: 5, typeId: 1 } })).toBe('ERR_SHRED_SELECTOR_MISMATCH');
    expect(code('event', { kind: { category: 5, typeId: 1 } })).toBe('ERR_SHRED_SELECTOR_MISMATCH');
    expect(code('type', { kind: { category: 0, typeId: 1 } })).toBe('ERR_INVALID_KIND');
    expect(code('entity', { eventId: hex(id) })).toBe('ERR_SHRED_SELECTOR_MISMATCH');
    expect(code('type', { eventId: hex(id) })).toBe('ERR_SHRED_SELECTOR_MISMATCH');
    expect(code('event', { eventId: hex(id).toUpperCase() })).toBe('ERR_INVALID_ARGUMENT');
    expect(code('event', { eventId: hex(id).slice(2) })).toBe('ERR_INVALID_ARGUMENT');
    expect(code('event', { eventId: 5 })).toBe('ERR_INVALID_ARGUMENT');
    const err = (() => {
      try {
        scopeOfSelector('category', { entity: 'a' });
      } catch (e) {
        return e as BatpakError;
      }
      throw new Error('expected a refusal');
    })();
    expect(err.message).toBe("a entity selector does not match key granularity 'category'");
    expect(err.details).toMatchObject({ granularity: 'category', selector: 'entity' });
  });

  it('binds a ciphertext to entity, scope, kind and id (Rust AAD layout)', () => {
    expect(hex(payloadAad('ab', 'c', 0x5123, id))).toBe(`01020000006162010000006323${'51'}${hex(id)}`);
  });
});

describe('the in-memory keyset (INV-KEY-FENCE)', () => {
  class MemoryStore implements KeyStore {
    readonly name = 'mem';
    image: Uint8Array | undefined;
    writes = 0;
    fail = false;
    async load() {
      return this.image?.slice();
    }
    async persist(image: Uint8Array) {
      if (this.fail) throw new Error('disk gone');
      this.writes++;
      this.image = image.slice();
    }
  }

  it('mints per scope, re-mints a new generation after a destroy, and is dirty until a flush succeeds', async () => {
    const store = new MemoryStore();
    const ks = await Keyset.load(store, 'entity');
    expect(ks.absentOnLoad).toBe(true);
    expect(ks.dirty).toBe(false);
    const a = new Uint8Array([1, 0x61]);
    const b = new Uint8Array([1, 0x62]);
    const k0 = ks.keyFor(a);
    expect(k0.generation).toBe(0);
    expect(ks.keyFor(a).key).toBe(k0.key);
    expect(ks.keyFor(a).generation).toBe(0);
    expect(ks.dirty).toBe(true);
    expect(ks.liveCount).toBe(1);
    ks.keyFor(b);
    expect(ks.liveCount).toBe(2);
    await ks.flush(store);
    expect(ks.dirty).toBe(false);
    expect(store.writes).toBe(1);
    await ks.flush(store);
    expect(store.writes).toBe(1);
    await ks.flush(store, { force: true });
    expect(store.writes).toBe(2);

    const key0 = k0.key.slice();
    expect(ks.lookup(a, 0)).toEqual({ state: 'present', key: key0 });
    expect(ks.lookup(a, 1)).toEqual({ state: 'missing' });
    expect(ks.destroy(a)).toBe(1);
    expect(k0.key.every((x) => x === 0)).toBe(true);
    expect(ks.destroy(a)).toBe(0);
    expect(ks.lookup(a, 0)).toEqual({ state: 'destroyed' });
    expect(ks.liveCount).toBe(1);
    expect(ks.dirty).toBe(true);
    store.fail = true;
    await expect(ks.flush(store)).rejects.toMatchObject({ code: 'ERR_IO' });
    expect(ks.dirty).toBe(true);
    store.fail = false;
    const k1 = ks.keyFor(a);
    expect(k1.generation).toBe(1);
    ks.noteGeneration(b, 5);
    await ks.flush(store);
    expect(ks.dirty).toBe(false);

    const image = decodeKeyset(store.image!, 'entity', 'mem');
    expect(image.keys.map((k) => `${hex(k.scope)}/${k.generation}`).sort()).toEqual(['0161/1', '0162/0']);
    expect(image.destroyed.map((d) => `${hex(d.scope)}/${d.generation}`)).toEqual(['0161/0']);
    expect(image.keys.some((k) => hex(k.key) === hex(key0))).toBe(false);

    const again = await Keyset.load(store, 'entity');
    expect(again.absentOnLoad).toBe(false);
    expect(again.lookup(a, 0)).toEqual({ state: 'destroyed' });
    expect(again.lookup(a, 1).state).toBe('present');
    expect(again.keyFor(a).generation).toBe(1);
    again.destroy(b);
    // Generation 5 was only noted (frames referenced it): a re-mint never reuses a number.
    ks.destroy(b);
    expect(ks.keyFor(b).generation).toBe(6);
    expect(again.keyFor(b).generation).toBe(1);
    expect(String(ks)).toBe('Keyset(entity, 2 live, 2 destroyed)');
    expect(JSON.stringify(ks)).toBe('{"granularity":"entity","live":2,"destroyed":2}');
    await expect(Keyset.load(store, 'event')).rejects.toMatchObject({ code: 'ERR_CORRUPT_KEYSET' });
  });

  it('FileKeyStore reads nothing before the first persist, then the last image; I/O failures are typed', async () => {
    const fs = new SimFs(2);
    await fs.mkdir('/k');
    const fks = new FileKeyStore(fs, '/k/keyset.bpk');
    expect(fks.name).toBe('/k/keyset.bpk');
    expect(await fks.load()).toBeUndefined();
    await fks.persist(new Uint8Array([1, 2, 3]));
    expect(await fks.load()).toEqual(new Uint8Array([1, 2, 3]));
    fs.failOn('writeFileAtomic', 1, 'ENOSPC');
    await expect(fks.persist(new Uint8Array([4]))).rejects.toMatchObject({ code: 'ERR_NO_SPACE' });
    fs.failOn('stat', 1, 'EIO');
    await expect(fks.load()).rejects.toMatchObject({ code: 'ERR_IO' });
  });
});

describe('receipt fields at their bounds (INV-TYPED-ERRORS)', () => {
  const r: AppendReceipt = {
    eventId: 'ab'.repeat(16),
    globalSequence: 1n,
    entitySequence: 1n,
    kind: { category: 5, typeId: 1 },
    coordinate: { entity: 'e', scope: 's' },
    contentHash: new Uint8Array(32),
    prevHash: new Uint8Array(32),
    committedAt: 0n,
  };
  const field = (over: Record<string, unknown>) => malformedField({ ...r, ...over });

  it('names the first malformed field', () => {
    expect(malformedField(r)).toBeUndefined();
    expect(malformedField(null)).toBe('receipt');
    expect(malformedField('r')).toBe('receipt');
    expect(field({ eventId: 'AB'.repeat(16) })).toBe('eventId');
    expect(field({ globalSequence: 1 })).toBe('globalSequence');
    expect(field({ globalSequence: -1n })).toBe('globalSequence');
    expect(field({ globalSequence: 1n << 64n })).toBe('globalSequence');
    expect(field({ globalSequence: (1n << 64n) - 1n })).toBeUndefined();
    expect(field({ entitySequence: -1n })).toBe('entitySequence');
    expect(field({ kind: null })).toBe('kind');
    expect(field({ kind: { category: 1.5, typeId: 1 } })).toBe('kind');
    expect(field({ kind: { category: 1, typeId: '1' } })).toBe('kind');
    expect(field({ kind: { category: 16, typeId: 1 } })).toBe('kind');
    expect(field({ kind: { category: -1, typeId: 1 } })).toBe('kind');
    expect(field({ kind: { category: 15, typeId: 0xfff } })).toBeUndefined();
    expect(field({ kind: { category: 0, typeId: 0 } })).toBeUndefined();
    expect(field({ kind: { category: 1, typeId: 0x1000 } })).toBe('kind');
    expect(field({ kind: { category: 1, typeId: -1 } })).toBe('kind');
    expect(field({ coordinate: null })).toBe('coordinate');
    expect(field({ coordinate: { entity: 1, scope: 's' } })).toBe('coordinate');
    expect(field({ coordinate: { entity: 'e', scope: null } })).toBe('coordinate');
    expect(field({ contentHash: new Uint8Array(31) })).toBe('contentHash');
    expect(field({ contentHash: [...new Uint8Array(32)] })).toBe('contentHash');
    expect(field({ prevHash: new Uint8Array(33) })).toBe('prevHash');
    expect(field({ committedAt: -1n })).toBe('committedAt');
    expect(field({ extensions: {} })).toBe('extensions');
    expect(field({ extensions: new Map([['k', 'v']]) })).toBe('extensions');
    expect(field({ extensions: new Map([[1, new Uint8Array(1)]]) })).toBe('extensions');
    expect(field({ extensions: new Map([['k', new Uint8Array(0)]]) })).toBeUndefined();
    expect(field({ signature: new Uint8Array(63) })).toBe('signature');
    expect(field({ signature: new Uint8Array(64) })).toBeUndefined();
    expect(field({ keyId: 'AB'.repeat(32) })).toBe('keyId');
    expect(field({ keyId: 'ab'.repeat(31) })).toBe('keyId');
    expect(field({ keyId: 7 })).toBe('keyId');
    expect(field({ groupProof: null })).toBe('groupProof');
    expect(field({ groupProof: { index: 0.5, siblings: [] } })).toBe('groupProof');
    expect(field({ groupProof: { index: 0, siblings: {} } })).toBe('groupProof');
    expect(field({ groupProof: { index: 0, siblings: [new Uint8Array(31)] } })).toBe('groupProof');
    expect(field({ groupProof: { index: 1, siblings: [new Uint8Array(32)] } })).toBeUndefined();
  });

  it('applies the unsigned half of the decision table and names each refusal', () => {
    expect(verifyReceiptClaim(r, [])).toEqual({ status: 'unsigned-accepted' });
    expect(verifyReceiptClaim(r, [new Uint8Array(32)])).toEqual({ status: 'invalid', reason: 'signature: unsigned receipt rejected (a signing key is configured)' });
    expect(verifyReceiptClaim(r, [new Uint8Array(31)])).toEqual({ status: 'invalid', reason: 'publicKeys: each key must be 32 bytes' });
    expect(verifyReceiptClaim({ ...r, eventId: 'x' }, [])).toEqual({ status: 'invalid', reason: 'eventId: malformed' });
    expect(verifySignature({ ...r, keyId: 'ab'.repeat(32) }, [], true).reason).toBe('signature: missing, but a keyId is present');
    expect(verifySignature({ ...r, groupProof: { index: 0, siblings: [] } }, [], true).reason).toBe('signature: missing, but a groupProof is present');
    expect(verifySignature({ ...r, signature: new Uint8Array(64) }, [], true).reason).toBe('keyId: missing on a signed receipt');
    expect(verifySignature({ ...r, signature: new Uint8Array(64), keyId: 'ab'.repeat(32) }, [new Uint8Array(32)], true).reason).toBe('keyId: unknown signing key');
    expect(isValid({ status: 'unsigned-accepted' })).toBe(true);
    expect(isValid({ status: 'invalid' })).toBe(false);
    expect(isSigned({ status: 'unsigned-accepted' })).toBe(false);
    expect(isSigned({ status: 'signed' })).toBe(true);
  });
});
