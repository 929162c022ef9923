// Idempotency keys cannot be pre-claimed (issue 26 item 3): a repeat is answered with the original receipt only for the same request.
// Invariant: INV-IDEMPOTENCY-SAME-REQUEST — otherwise ERR_IDEMPOTENCY_CONFLICT, and nothing is written.

import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store, verifyReceiptClaim } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { blake3 } from '../src/crypto/blake3.js';
import { HASHED_WHEN_SEALED, rawDraft, typedDraft } from '../src/store/append.js';

const Deposited = defineEvent<{ amount: number }>({ category: 1, typeId: 1, name: 'Deposited' });
const Withdrawn = defineEvent<{ amount: number }>({ category: 1, typeId: 2, name: 'Withdrawn' });
const DepositedV2 = defineEvent<{ amount: number }>({ category: 1, typeId: 1, version: 2, name: 'Deposited', upcasters: [(p) => p] });
const victim = new Coordinate('acct:1', 'bank');
const attacker = new Coordinate('attacker:box', 'bank');
const KEY = new Uint8Array(32).fill(3);

async function conflictOf(p: Promise<unknown>): Promise<BatpakError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BatpakError);
  expect((err as BatpakError).code).toBe('ERR_IDEMPOTENCY_CONFLICT');
  return err as BatpakError;
}

describe('INV-IDEMPOTENCY-SAME-REQUEST', () => {
  it('a key pre-claimed at another coordinate is a conflict for the victim, never the attacker’s receipt', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(41), signingKey: KEY });
    const claimed = await store.appendRaw(attacker, { category: 1, typeId: 0 }, new Uint8Array([1]), { idempotencyKey: 'K' });
    const err = await conflictOf(store.appendRaw(victim, { category: 1, typeId: 0 }, new Uint8Array([1]), { idempotencyKey: 'K' }));
    expect(err.details).toMatchObject({ eventId: claimed.eventId, field: 'coordinate' });
    expect(err.retryable).toBe(false);
    expect(store.head('acct:1')).toBeUndefined();
    expect(store.lastSequence).toBe(1n);
    // The same request again is still answered with the original, signed receipt.
    const again = await store.appendRaw(attacker, { category: 1, typeId: 0 }, new Uint8Array([1]), { idempotencyKey: 'K' });
    expect(again).toEqual(claimed);
    expect(verifyReceiptClaim(again, [store.publicKey!]).status).toBe('signed');
    await store.close();
  });

  it('names the first differing field: scope, kind, payload, raw vs typed, payload version, extensions', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(42) });
    const orig = await store.append(victim, Deposited, { amount: 1 }, { idempotencyKey: 'op', extensions: { 'app.trace': new Uint8Array([7]) } });
    const opts = (ext: Uint8Array = new Uint8Array([7])) => ({ idempotencyKey: 'op', extensions: { 'app.trace': ext } });
    expect((await conflictOf(store.append(new Coordinate('acct:1', 'other'), Deposited, { amount: 1 }, opts()))).details.field).toBe('coordinate');
    expect((await conflictOf(store.append(victim, Withdrawn, { amount: 1 }, opts()))).details.field).toBe('kind');
    expect((await conflictOf(store.append(victim, Deposited, { amount: 999 }, opts()))).details.field).toBe('payload');
    expect((await conflictOf(store.append(victim, DepositedV2, { amount: 1 }, opts()))).details.field).toBe('payloadVersion');
    expect((await conflictOf(store.append(victim, Deposited, { amount: 1 }, opts(new Uint8Array([8]))))).details.field).toBe('extensions');
    expect((await conflictOf(store.append(victim, Deposited, { amount: 1 }, { idempotencyKey: 'op' }))).details.field).toBe('extensions');
    const typedBytes = (await store.getRaw(orig.eventId)).bytes;
    const raw = await conflictOf(store.appendRaw(victim, { category: 1, typeId: 1 }, typedBytes, { ...opts(), payloadVersion: 1 }));
    expect(raw.details.field).toBe('payload');
    expect(raw.message).toMatch(/raw in one request and typed in the other/);
    expect(await store.append(victim, Deposited, { amount: 1 }, opts())).toEqual(orig);
    expect(store.lastSequence).toBe(1n);
    await store.close();
  });

  it('raw appends compare bytes and payload version', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(43) });
    const orig = await store.appendRaw(victim, { category: 1, typeId: 0 }, new Uint8Array([1, 2]), { idempotencyKey: 'r', payloadVersion: 3 });
    expect((await conflictOf(store.appendRaw(victim, { category: 1, typeId: 0 }, new Uint8Array([1, 3]), { idempotencyKey: 'r', payloadVersion: 3 }))).details.field).toBe('payload');
    expect((await conflictOf(store.appendRaw(victim, { category: 1, typeId: 0 }, new Uint8Array([1, 2]), { idempotencyKey: 'r' }))).details.field).toBe('payloadVersion');
    expect(await store.appendRaw(victim, { category: 1, typeId: 0 }, new Uint8Array([1, 2]), { idempotencyKey: 'r', payloadVersion: 3 })).toEqual(orig);
    await store.close();
  });

  it('with encryption the plaintext is compared (the stored hash covers ciphertext under a fresh nonce), across a reopen', async () => {
    const fs = new SimFs(44);
    const store = await Store.open({ dir: '/s', fs, payloadEncryption: {} });
    const orig = await store.append(victim, Deposited, { amount: 5 }, { idempotencyKey: 'e' });
    expect(await store.append(victim, Deposited, { amount: 5 }, { idempotencyKey: 'e' })).toEqual(orig);
    expect((await conflictOf(store.append(victim, Deposited, { amount: 6 }, { idempotencyKey: 'e' }))).details.field).toBe('payload');
    await store.close();
    const again = await Store.open({ dir: '/s', fs, payloadEncryption: {} });
    expect(await again.append(victim, Deposited, { amount: 5 }, { idempotencyKey: 'e' })).toEqual(orig);
    await again.shredScope({ entity: victim });
    // After a shred nobody can tell whether the repeat is the same request: refused, not answered.
    expect((await conflictOf(again.append(victim, Deposited, { amount: 5 }, { idempotencyKey: 'e' }))).message).toMatch(/shredded/);
    expect(again.lastSequence).toBe(2n);
    await again.close();
  });

  it('concurrent repeats in one commit group: the same request shares the receipt, a different one conflicts', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(45) });
    const [a, b, c] = await Promise.allSettled([
      store.append(victim, Deposited, { amount: 1 }, { idempotencyKey: 'g' }),
      store.append(victim, Deposited, { amount: 1 }, { idempotencyKey: 'g' }),
      store.append(attacker, Deposited, { amount: 1 }, { idempotencyKey: 'g' }),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(b).toEqual({ status: 'fulfilled', value: (a as PromiseFulfilledResult<unknown>).value });
    expect(c.status).toBe('rejected');
    expect((c as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_IDEMPOTENCY_CONFLICT', details: { field: 'coordinate' } });
    expect(store.lastSequence).toBe(1n);
    await store.close();
  });

  it('a repeated batch replays only when every item is the same request', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(46) });
    const items = [
      { coord: victim, kind: Deposited, payload: { amount: 1 }, idempotencyKey: 'b1' },
      { coord: victim, kind: { category: 1, typeId: 9 }, payload: new Uint8Array([9]), idempotencyKey: 'b2' },
    ];
    const first = await store.appendBatch(items);
    expect(await store.appendBatch(items)).toEqual(first);
    const changed = [items[0]!, { ...items[1]!, payload: new Uint8Array([10]) }];
    expect((await conflictOf(store.appendBatch(changed))).details.field).toBe('payload');
    expect(store.lastSequence).toBe(2n);
    await store.close();
  });

  it('with encryption, a raw keyed repeat compares the plaintext bytes, in one commit group and after it', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(46), payloadEncryption: {} });
    const kind = { category: 1, typeId: 0 };
    const [orig, same] = await Promise.all([
      store.appendRaw(victim, kind, new Uint8Array([7, 8]), { idempotencyKey: 'rk' }),
      store.appendRaw(victim, kind, new Uint8Array([7, 8]), { idempotencyKey: 'rk' }),
    ]);
    expect(same).toEqual(orig);
    expect(await store.appendRaw(victim, kind, new Uint8Array([7, 8]), { idempotencyKey: 'rk' })).toEqual(orig);
    expect((await conflictOf(store.appendRaw(victim, kind, new Uint8Array([7, 9]), { idempotencyKey: 'rk' }))).details.field).toBe('payload');
    expect(store.lastSequence).toBe(1n);
    await store.close();
  });

  it('a draft the store will seal keeps a plaintext hash only when keyed (the one an idempotent repeat compares)', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const limits = (seals: boolean) => ({ payloadMaxBytes: 1024, registry: undefined, now: 0, seals });
    const raw = (seals: boolean, idempotencyKey?: string) => rawDraft({ coord: victim, kind: { category: 1, typeId: 0 }, bytes, idempotencyKey, limits: limits(seals) });
    const typed = (seals: boolean, idempotencyKey?: string) => typedDraft({ coord: victim, definition: Deposited, payload: { amount: 1 }, idempotencyKey, limits: limits(seals) });
    for (const make of [raw, typed]) {
      const plain = make(false);
      expect(plain.contentHash).toEqual(blake3(plain.payload));
      expect(plain.requestHash).toBe(plain.contentHash);
      const keyed = make(true, 'k');
      expect(keyed.requestHash).toEqual(blake3(keyed.payload));
      expect(make(true).contentHash).toBe(HASHED_WHEN_SEALED);
    }
  });
});
