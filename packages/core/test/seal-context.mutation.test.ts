// The cached sealing path (keyset/seal-context.ts, sealDraft) against the reference encoders: same scope bytes,
// same AAD, same ciphertext; the cache is bounded, and a shred's destroy reaches the very next seal (INV-SHRED-DESTROYS-PLAINTEXT).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Coordinate, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { blake3 } from '../src/crypto/blake3.js';
import { xchachaOpen, xchachaSeal } from '../src/crypto/aead.js';
import { payloadAad } from '../src/keyset/aad.js';
import { Keyset } from '../src/keyset/keyset.js';
import type { KeyStore } from '../src/keyset/keystore.js';
import { scopeOf, type KeyGranularity } from '../src/keyset/scope.js';
import { SEAL_CONTEXTS_MAX, SealContext, SealContexts } from '../src/keyset/seal-context.js';
import { sealDraft, type SealableDraft } from '../src/keyset/seal.js';

const GRANULARITIES: readonly KeyGranularity[] = ['entity', 'category', 'type', 'event'];
const granularity = fc.constantFrom(...GRANULARITIES);
const text = fc.string({ maxLength: 24, unit: 'grapheme' });
const userKind = fc.integer({ min: 0x1000, max: 0xcfff });
const id = fc.uint8Array({ minLength: 16, maxLength: 16 });

class MemoryStore implements KeyStore {
  readonly name = 'mem';
  image: Uint8Array | undefined;
  async load() {
    return this.image?.slice();
  }
  async persist(image: Uint8Array) {
    this.image = image.slice();
  }
}

const draft = (entity: string, scope: string, kind: number, eventId: Uint8Array, payload: Uint8Array): SealableDraft => ({
  id: eventId,
  entity,
  scope,
  kind,
  payload,
  contentHash: blake3(payload),
});

/** What the reference path (scopeOf, keyFor, payloadAad, one seal) makes of a plaintext under the nonce the cached path drew. */
function referenceSeal(ks: Keyset, d: SealableDraft, plaintext: Uint8Array): Uint8Array {
  const scope = scopeOf(ks.granularity, d.entity, d.kind, d.id);
  const found = ks.lookup(scope, d.encryption!.generation);
  if (found.state !== 'present') throw new Error(`key ${found.state}`);
  return xchachaSeal(found.key, d.encryption!.nonce, plaintext, payloadAad(d.entity, d.scope, d.kind, d.id));
}

describe('seal contexts: the reference bytes, cached', () => {
  it('a context holds scopeOf and payloadAad of its coordinate, for every event id written into it', () => {
    fc.assert(
      fc.property(granularity, text, text, userKind, fc.array(id, { minLength: 1, maxLength: 4 }), (g, entity, scope, kind, ids) => {
        const context = new SealContext(g, entity, scope, kind);
        if (g === 'event') expect(context.scope).toBeUndefined();
        else expect(context.scope).toEqual(scopeOf(g, entity, kind, ids[0]!));
        for (const eventId of ids) expect(context.aadFor(eventId)).toEqual(payloadAad(entity, scope, kind, eventId));
      }),
      { numRuns: 300 },
    );
  });

  it('sealDraft through the cache makes the bytes the reference path makes, and they open under the reference AAD', async () => {
    await fc.assert(
      fc.asyncProperty(
        granularity,
        fc.array(fc.record({ coord: fc.integer({ min: 0, max: 2 }), kind: fc.constantFrom(0x1001, 0x1002, 0x2001), id, payload: fc.uint8Array({ maxLength: 300 }) }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (g, events) => {
          const ks = await Keyset.load(new MemoryStore(), g);
          const coords = [['a', 's'], ['a', 't'], ['é:b', 's']] as const;
          for (const e of events) {
            const [entity, scope] = coords[e.coord]!;
            const d = draft(entity, scope, e.kind, e.id, e.payload);
            sealDraft(ks, d);
            expect(d.encryption!.scope).toEqual(scopeOf(g, entity, e.kind, e.id));
            expect(d.payload).toEqual(referenceSeal(ks, d, e.payload));
            expect(d.contentHash).toEqual(blake3(d.payload));
            const key = ks.lookup(d.encryption!.scope, d.encryption!.generation);
            expect(xchachaOpen((key as { key: Uint8Array }).key, d.encryption!.nonce, d.payload, payloadAad(entity, scope, e.kind, e.id))).toEqual(e.payload);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('one key per scope: shared across coordinates of the scope, never across scopes; a key of its own per event under event granularity', async () => {
    const sealed = async (g: KeyGranularity, a: [string, number], b: [string, number]) => {
      const ks = await Keyset.load(new MemoryStore(), g);
      const x = draft(a[0], 's', a[1], new Uint8Array(16).fill(1), new Uint8Array([1]));
      const y = draft(b[0], 's', b[1], new Uint8Array(16).fill(2), new Uint8Array([2]));
      sealDraft(ks, x);
      sealDraft(ks, y);
      const keyOf = (d: SealableDraft) => (ks.lookup(d.encryption!.scope, d.encryption!.generation) as { key: Uint8Array }).key;
      return { same: keyOf(x) === keyOf(y), live: ks.liveCount };
    };
    expect(await sealed('entity', ['a', 0x1001], ['a', 0x2001])).toEqual({ same: true, live: 1 });
    expect(await sealed('entity', ['a', 0x1001], ['b', 0x1001])).toEqual({ same: false, live: 2 });
    expect(await sealed('category', ['a', 0x1001], ['b', 0x1002])).toEqual({ same: true, live: 1 });
    expect(await sealed('category', ['a', 0x1001], ['a', 0x2001])).toEqual({ same: false, live: 2 });
    expect(await sealed('type', ['a', 0x1001], ['b', 0x1001])).toEqual({ same: true, live: 1 });
    expect(await sealed('type', ['a', 0x1001], ['a', 0x1002])).toEqual({ same: false, live: 2 });
    expect(await sealed('event', ['a', 0x1001], ['a', 0x1001])).toEqual({ same: false, live: 2 });
  });

  it('system kinds stay plaintext', async () => {
    const ks = await Keyset.load(new MemoryStore(), 'entity');
    for (const kind of [0x0010, 0xd001]) {
      const d = draft('a', 's', kind, new Uint8Array(16), new Uint8Array([9]));
      sealDraft(ks, d);
      expect(d.encryption).toBeUndefined();
      expect(d.payload).toEqual(new Uint8Array([9]));
    }
    expect(ks.liveCount).toBe(0);
    expect(ks.sealContexts.size).toBe(0);
  });
});

describe('seal contexts: bounded, and never outliving a destroyed key', () => {
  it('returns the cached context for a coordinate it holds, and never holds more than its bound', () => {
    const contexts = new SealContexts('entity', 3);
    const a = contexts.of('a', 's', 0x1001);
    expect(contexts.of('a', 's', 0x1001)).toBe(a);
    expect(contexts.of('a', 's', 0x1002)).not.toBe(a);
    expect(contexts.of('a', 't', 0x1001)).not.toBe(a);
    expect(contexts.size).toBe(3);
    const b = contexts.of('b', 's', 0x1001);
    expect(contexts.size).toBe(1);
    expect(contexts.of('b', 's', 0x1001)).toBe(b);
    // Emptied, not kept: the first coordinate gets a new context, with the same bytes.
    const again = contexts.of('a', 's', 0x1001);
    expect(again).not.toBe(a);
    expect(again.scope).toEqual(a.scope);
    expect(contexts.size).toBe(2);
    expect(new SealContexts('entity').size).toBe(0);
    expect(SEAL_CONTEXTS_MAX).toBe(4096);
  });

  it('a store with more coordinates than the bound keeps at most the bound', async () => {
    const ks = await Keyset.load(new MemoryStore(), 'type');
    for (let i = 0; i < SEAL_CONTEXTS_MAX + 10; i++) sealDraft(ks, draft(`e${i}`, 's', 0x1001, new Uint8Array(16), new Uint8Array([1])));
    expect(ks.sealContexts.size).toBeLessThanOrEqual(SEAL_CONTEXTS_MAX);
    expect(ks.liveCount).toBe(1);
  });

  it('a key handle goes dead when its key is destroyed, and keyFor hands out the one live handle', async () => {
    const ks = await Keyset.load(new MemoryStore(), 'entity');
    const scope = new Uint8Array([1, 0x61]);
    const h0 = ks.keyFor(scope);
    expect(h0.live).toBe(true);
    expect(ks.keyFor(scope)).toBe(h0);
    expect(ks.destroy(scope)).toBe(1);
    expect(h0.live).toBe(false);
    expect(h0.key).toEqual(new Uint8Array(32));
    const h1 = ks.keyFor(scope);
    expect(h1.live).toBe(true);
    expect(h1.generation).toBe(1);
  });

  it('a seal after a destroy uses the new generation, never the cached destroyed key', async () => {
    const ks = await Keyset.load(new MemoryStore(), 'entity');
    const first = draft('a', 's', 0x1001, new Uint8Array(16).fill(1), new Uint8Array([1, 2, 3]));
    sealDraft(ks, first);
    expect(first.encryption!.generation).toBe(0);
    expect(ks.destroy(first.encryption!.scope)).toBe(1);
    const second = draft('a', 's', 0x1001, new Uint8Array(16).fill(2), new Uint8Array([4, 5, 6]));
    sealDraft(ks, second);
    expect(second.encryption!.generation).toBe(1);
    const found = ks.lookup(second.encryption!.scope, 1);
    expect(found.state).toBe('present');
    expect(xchachaOpen((found as { key: Uint8Array }).key, second.encryption!.nonce, second.payload, payloadAad('a', 's', 0x1001, second.id))).toEqual(
      new Uint8Array([4, 5, 6]),
    );
  });

  it('INV-SHRED-DESTROYS-PLAINTEXT: an append after shredScope in the same process stays readable (a new generation)', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(11), payloadEncryption: { granularity: 'entity' } });
    const alice = new Coordinate('user:alice', 'p');
    const kind = { category: 3, typeId: 1 };
    const before = await store.appendRaw(alice, kind, new Uint8Array([1]));
    expect(await store.shredScope({ entity: alice })).toMatchObject({ status: 'destroyed', destroyed: 1 });
    const after = await store.appendRaw(alice, kind, new Uint8Array([2]));
    expect((await store.get(after.eventId)).payload).toEqual(new Uint8Array([2]));
    await expect(store.get(before.eventId)).rejects.toMatchObject({ code: 'ERR_PAYLOAD_SHREDDED' });
    await store.close();
  });

  it('a sealing store keeps the raw bytes as they were at the call: the caller may reuse its buffer at once', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(12), payloadEncryption: {} });
    const coord = new Coordinate('user:bob', 'p');
    const kind = { category: 3, typeId: 1 };
    const buffer = Buffer.from([1, 2, 3]);
    const single = store.appendRaw(coord, kind, buffer);
    buffer.fill(9);
    const batch = store.appendBatch([{ coord, kind, payload: buffer }, { coord, kind, payload: buffer, transferPayload: true }]);
    buffer.fill(7);
    expect((await store.get((await single).eventId)).payload).toEqual(new Uint8Array([1, 2, 3]));
    for (const r of await batch) expect((await store.get(r.eventId)).payload).toEqual(new Uint8Array([9, 9, 9]));
    await store.close();
  });
});
