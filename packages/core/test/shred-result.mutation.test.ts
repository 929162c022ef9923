// shredScope says what it did (issue 17 item 12): destroyed / already-shredded / never-keyed, with the scope and the shred receipt.
// Invariant: INV-SHRED-RESULT — a typo in an erasure request never looks like success. Also kills keyset mutants (destroy count, everKeyed).

import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store, verifyReceiptClaim } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { Keyset } from '../src/keyset/keyset.js';
import type { KeyStore } from '../src/keyset/keystore.js';

const Note = defineEvent<{ text: string }>({ category: 3, typeId: 1, name: 'Note' });
const alice = new Coordinate('user:alice', 'profile');
const KEY = new Uint8Array(32).fill(9);
const hex = (s: string) => Buffer.from(s).toString('hex');

function memoryKeyStore(): KeyStore & { image: Uint8Array | undefined } {
  const ks = {
    name: 'memory',
    image: undefined as Uint8Array | undefined,
    load: async () => (ks.image === undefined ? undefined : new Uint8Array(ks.image)),
    persist: async (next: Uint8Array) => {
      ks.image = new Uint8Array(next);
    },
  };
  return ks;
}

describe('INV-SHRED-RESULT Keyset.destroy and everKeyed', () => {
  it('destroy counts the live generations it destroyed; everKeyed remembers live, destroyed and referenced scopes', async () => {
    const ks = await Keyset.load(memoryKeyStore(), 'entity');
    const a = new Uint8Array([1, 0x61]);
    const b = new Uint8Array([1, 0x62]);
    const c = new Uint8Array([1, 0x63]);
    expect(ks.everKeyed(a)).toBe(false);
    ks.keyFor(a);
    expect(ks.everKeyed(a)).toBe(true);
    expect(ks.everKeyed(b)).toBe(false);
    expect(ks.destroy(b)).toBe(0);
    expect(ks.dirty).toBe(true); // the mint of a is still unflushed
    expect(ks.destroy(a)).toBe(1);
    expect(ks.everKeyed(a)).toBe(true);
    expect(ks.destroy(a)).toBe(0);
    // A new generation after a shred, destroyed again: one more.
    ks.keyFor(a);
    expect(ks.destroy(a)).toBe(1);
    // A generation only a frame references (5) is not live: it keeps the scope known but is not counted.
    ks.keyFor(c);
    ks.noteGeneration(c, 5);
    expect(ks.lookup(c, 0).state).toBe('present');
    expect(ks.everKeyed(c)).toBe(true);
    const store = memoryKeyStore();
    await ks.flush(store);
    const reloaded = await Keyset.load(store, 'entity');
    expect(reloaded.everKeyed(a)).toBe(true);
    expect(reloaded.everKeyed(b)).toBe(false);
    expect(reloaded.destroy(c)).toBe(1);
    expect(reloaded.destroy(c)).toBe(0);
  });

  it('a destroy of nothing leaves the keyset clean; a destroy of something makes it dirty', async () => {
    const store = memoryKeyStore();
    const ks = await Keyset.load(store, 'entity');
    const a = new Uint8Array([1, 0x61]);
    ks.keyFor(a);
    await ks.flush(store);
    expect(ks.dirty).toBe(false);
    expect(ks.destroy(new Uint8Array([1, 0x7a]))).toBe(0);
    expect(ks.dirty).toBe(false);
    expect(ks.destroy(a)).toBe(1);
    expect(ks.dirty).toBe(true);
  });
});

describe('INV-SHRED-RESULT Store.shredScope', () => {
  it('destroyed: the scope hex, the granularity, the count and the shred event receipt', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(31), signingKey: KEY, payloadEncryption: {} });
    await store.append(alice, Note, { text: 'x' });
    const r = await store.shredScope({ entity: alice });
    expect(r).toMatchObject({ status: 'destroyed', destroyed: 1, plaintextEvents: 0, granularity: 'entity', scope: `01${hex('user:alice')}` });
    expect(r.receipt).toBeDefined();
    expect(r.receipt!.kind).toEqual({ category: 0, typeId: 0x10 });
    expect(r.receipt!.coordinate).toEqual({ entity: 'batpak:store', scope: 'batpak:shred' });
    expect(verifyReceiptClaim(r.receipt!, [store.publicKey!]).status).toBe('signed');
    expect((await store.get(r.receipt!.eventId)).payload).toMatchObject({ scope: r.scope, granularity: 'entity' });
    expect(store.lastSequence).toBe(2n);
    await store.close();
  });

  it('already-shredded and never-keyed write no shred event; never-keyed is a scope nothing was sealed under', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(32), payloadEncryption: {} });
    await store.append(alice, Note, { text: 'x' });
    await store.shredScope({ entity: 'user:alice' });
    const seq = store.lastSequence;
    const again = await store.shredScope({ entity: 'user:alice' });
    expect(again).toEqual({ status: 'already-shredded', destroyed: 0, plaintextEvents: 0, granularity: 'entity', scope: `01${hex('user:alice')}` });
    const typo = await store.shredScope({ entity: 'user:alcie' });
    expect(typo).toEqual({ status: 'never-keyed', destroyed: 0, plaintextEvents: 0, granularity: 'entity', scope: `01${hex('user:alcie')}` });
    expect(store.lastSequence).toBe(seq);
    await store.close();
    // The distinction survives a reopen (destroyed generations are in the keyset file).
    const reopened = await Store.open({ dir: '/s', fs: new SimFs(32), payloadEncryption: {} });
    expect((await reopened.shredScope({ entity: 'user:bob' })).status).toBe('never-keyed');
    await reopened.close();
  });

  it('a scope whose key was lost with the keyset, but that frames reference, is already-shredded, not never-keyed', async () => {
    const fs = new SimFs(33);
    const keys = memoryKeyStore();
    const store = await Store.open({ dir: '/s', fs, payloadEncryption: { keyStore: keys } });
    await store.append(alice, Note, { text: 'x' });
    await store.close();
    keys.image = undefined;
    const lost = await Store.open({ dir: '/s', fs, payloadEncryption: { keyStore: keys } });
    expect(await lost.shredScope({ entity: alice })).toMatchObject({ status: 'already-shredded', destroyed: 0 });
    expect((await lost.shredScope({ entity: 'user:zed' })).status).toBe('never-keyed');
    await lost.close();
  });

  it('a selector entity given as a forged Coordinate is read by its fields', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(34), payloadEncryption: {} });
    await store.append(alice, Note, { text: 'x' });
    const forged = Object.assign(Object.create(Coordinate.prototype) as Coordinate, { entity: 'user:alice', scope: 'p' });
    expect((await store.shredScope({ entity: forged })).status).toBe('destroyed');
    await expect(store.shredScope({ entity: Object.create(Coordinate.prototype) as Coordinate })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(store.shredScope({ entity: null as unknown as string })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(store.shredScope({ entity: { entity: 'user:\uDBFF' } as unknown as Coordinate })).rejects.toMatchObject({ code: 'ERR_INVALID_COORDINATE' });
    await store.close();
  });

  it('counts the events of the scope written in plaintext before encryption was enabled: the shred cannot erase them', async () => {
    const fs = new SimFs(35);
    const plain = await Store.open({ dir: '/s', fs });
    await plain.append(alice, Note, { text: 'old plaintext' });
    await plain.append(new Coordinate('user:bob', 'p'), Note, { text: 'bob plaintext' });
    await plain.appendRaw(alice, { category: 4, typeId: 2 }, new Uint8Array([1]));
    await plain.close();
    const store = await Store.open({ dir: '/s', fs, payloadEncryption: {} });
    await store.append(alice, Note, { text: 'sealed' });
    expect(await store.shredScope({ entity: alice })).toMatchObject({ status: 'destroyed', destroyed: 1, plaintextEvents: 2 });
    // Only plaintext under this entity: no key was ever minted, and the events are still counted.
    expect(await store.shredScope({ entity: 'user:bob' })).toMatchObject({ status: 'never-keyed', plaintextEvents: 1 });
    expect(await store.shredScope({ entity: 'user:zed' })).toMatchObject({ status: 'never-keyed', plaintextEvents: 0 });
    // The shred's own system event is plaintext but never counted.
    expect((await store.shredScope({ entity: 'batpak:store' })).plaintextEvents).toBe(0);
    await store.close();
  });

  it('plaintext counting follows the granularity: type and event scopes', async () => {
    const fs = new SimFs(36);
    const plain = await Store.open({ dir: '/s', fs });
    const old = await plain.append(alice, Note, { text: 'a' });
    await plain.appendRaw(alice, { category: 3, typeId: 2 }, new Uint8Array([1]));
    await plain.close();
    const byType = await Store.open({ dir: '/s', fs, payloadEncryption: { granularity: 'type' } });
    expect((await byType.shredScope({ kind: { category: 3, typeId: 1 } })).plaintextEvents).toBe(1);
    await byType.close();
    const fs2 = new SimFs(37);
    const p2 = await Store.open({ dir: '/e', fs: fs2 });
    const e1 = await p2.append(alice, Note, { text: 'a' });
    await p2.append(alice, Note, { text: 'b' });
    await p2.close();
    const byEvent = await Store.open({ dir: '/e', fs: fs2, payloadEncryption: { granularity: 'event' } });
    expect(await byEvent.shredScope({ eventId: e1.eventId })).toMatchObject({ status: 'never-keyed', plaintextEvents: 1 });
    expect((await byEvent.shredScope({ eventId: old.eventId })).plaintextEvents).toBe(0);
    await byEvent.close();
  });
});
