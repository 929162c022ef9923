// appendBatch's `transferPayload`: a raw item's bytes handed over to the store instead of copied (INV-BATCH-PAYLOAD-COPY).
// Without the flag the store copies every raw payload, so the caller's later writes never reach an event; with it the
// store keeps the caller's plain Uint8Array, and a write after the call is caught by verifyChain, never hidden.

import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';

const KIND = { category: 3, typeId: 1 };
const Note = defineEvent<unknown>({ category: 3, typeId: 2, name: 'Note' });
const AT = new Coordinate('e', 's');

async function open() {
  return Store.open({ dir: '/s', fs: new SimFs(1) });
}

async function storedBytes(store: Store, eventId: string): Promise<Uint8Array> {
  return (await store.getRaw(eventId)).bytes;
}

describe('INV-BATCH-PAYLOAD-COPY appendBatch raw payloads', () => {
  it('are copied by default: writing to the caller bytes right after the call changes nothing stored', async () => {
    const store = await open();
    const bytes = new Uint8Array([1, 2, 3, 4]);
    const pending = store.appendBatch([{ coord: AT, kind: KIND, payload: bytes }]);
    bytes.fill(9); // after the call, before the commit
    const [r] = await pending;
    expect([...(await storedBytes(store, r!.eventId))]).toEqual([1, 2, 3, 4]);
    expect((await store.verifyChain()).intact).toBe(true);
    await store.close();
  });

  it('are kept as they are with transferPayload: equal events, and the caller array is the one the store holds', async () => {
    const store = await open();
    const given = new Uint8Array([5, 6, 7]);
    const [r] = await store.appendBatch([{ coord: AT, kind: KIND, payload: given, transferPayload: true }]);
    expect([...(await storedBytes(store, r!.eventId))]).toEqual([5, 6, 7]);
    expect((await store.verifyChain()).intact).toBe(true);

    // The contract the flag documents (no writes after the call), shown by breaking it: the write reaches the
    // frame the store encodes, and verifyChain reports the event as not matching its content hash.
    const broken = new Uint8Array([1, 1, 1]);
    const pending = store.appendBatch([{ coord: AT, kind: KIND, payload: broken, transferPayload: true }]);
    broken.fill(2);
    const [b] = await pending;
    expect([...(await storedBytes(store, b!.eventId))]).toEqual([2, 2, 2]);
    expect((await store.verifyChain()).intact).toBe(false);
    await store.close();
  });

  it('are still copied with transferPayload when the array is a subclass (a Buffer) or the item is typed', async () => {
    const store = await open();
    const buf = Buffer.from([1, 2, 3]);
    const value = { n: 1 };
    const pending = store.appendBatch([
      { coord: AT, kind: KIND, payload: buf, transferPayload: true },
      { coord: AT, kind: Note, payload: value, transferPayload: true },
    ]);
    buf.fill(0);
    value.n = 2;
    const [raw, typed] = await pending;
    expect([...(await storedBytes(store, raw!.eventId))]).toEqual([1, 2, 3]);
    expect((await store.get(typed!.eventId)).payload).toEqual({ n: 1 });
    expect((await store.verifyChain()).intact).toBe(true);
    await store.close();
  });
  it('are copied exactly for every item of a large batch (small, shared-buffer-filling and large payloads), and none is reached by later writes', async () => {
    const store = await open();
    // Sizes cross the shared copy buffers' edges (a batch of 64 items cuts 32 KiB buffers) and their 4 KiB limit.
    const sizes = Array.from({ length: 64 }, (_, i) => [0, 1, 255, 256, 4095, 4096, 4097, 9000][i % 8]!);
    const given = sizes.map((n, i) => Buffer.alloc(n, i + 1));
    const pending = store.appendBatch(given.map((payload) => ({ coord: AT, kind: KIND, payload })));
    for (const b of given) b.fill(0);
    const receipts = await pending;
    for (let i = 0; i < sizes.length; i++) {
      const stored = await storedBytes(store, receipts[i]!.eventId);
      expect(stored.length).toBe(sizes[i]);
      expect(stored.every((x) => x === i + 1)).toBe(true);
    }
    expect((await store.verifyChain()).intact).toBe(true);
    await store.close();
  });

  it('single appendRaw calls copy too: many pending at once (past the shared copy buffers\' 64 KiB), none reached by later writes', async () => {
    const store = await open();
    // 300 payloads of 0..4097 bytes fill several shared buffers and cross their edges; some are past the 4 KiB limit.
    const sizes = Array.from({ length: 300 }, (_, i) => [0, 1, 255, 256, 700, 4095, 4096, 4097][i % 8]!);
    const given = sizes.map((n, i) => new Uint8Array(n).fill((i % 250) + 1));
    const pending = given.map((bytes) => store.appendRaw(AT, KIND, bytes));
    for (const b of given) b.fill(0);
    const receipts = await Promise.all(pending);
    for (let i = 0; i < sizes.length; i++) {
      const stored = await storedBytes(store, receipts[i]!.eventId);
      expect(stored.length).toBe(sizes[i]);
      expect(stored.every((x) => x === (i % 250) + 1)).toBe(true);
    }
    expect((await store.verifyChain()).intact).toBe(true);
    await store.close();
  });
});
