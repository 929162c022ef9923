// Backpressure (maxQueuedBytes, store.pressure): appends past the bound wait for room instead of queueing
// without bound, in order, and can be abandoned with their signal; one append alone is always accepted.
import { describe, expect, it } from 'vitest';
import { ResidentIndex } from '../src/event-index/resident-index.js';
import type { SegmentSet } from '../src/segment/set.js';
import type { SegmentWriter } from '../src/segment/writer.js';
import { estimatedBytes, type EventDraft } from '../src/store/append-intent.js';
import { rawDraft } from '../src/store/append.js';
import { AppendPipeline } from '../src/store/append-pipeline.js';
import { Admission } from '../src/store/admission.js';
import { BatpakError, Coordinate, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';

const limits = { payloadMaxBytes: 1 << 20, registry: undefined, now: 1_000 };
const draft = (entity: string, size: number): EventDraft =>
  rawDraft({ coord: { entity, scope: 's' }, kind: { category: 1, typeId: 1 }, bytes: new Uint8Array(size), limits });

/** A pipeline whose writer holds each group until the test opens the gate. */
function gated(maxQueuedBytes: number) {
  const index = new ResidentIndex();
  const gates: (() => void)[] = [];
  const writer = {
    async writeGroup() {
      await new Promise<void>((open) => gates.push(open));
      return { segmentId: 1, offset: 32 };
    },
  } as unknown as SegmentWriter;
  const segments = { setSize: () => undefined } as unknown as SegmentSet;
  const admission = new Admission(maxQueuedBytes);
  const p = new AppendPipeline(
    {
      dir: '/backpressure-test',
      index,
      keyset: undefined,
      keyStore: undefined,
      signer: undefined,
      signingDowngradeAllowed: false,
      writer,
      segments,
      now: () => 5_000,
      onWarning: () => undefined,
      replay: () => Promise.reject(new Error('no replay in this test')),
      landed: () => undefined,
      admission,
    },
    { nextGlobal: 1, lastCommittedAt: 0 },
  );
  const turn = () => new Promise((r) => setImmediate(r));
  const openGate = async () => {
    while (gates.length === 0) await turn();
    gates.shift()!();
    await turn();
  };
  return { p, admission, openGate, turn };
}

describe('backpressure (INV-BACKPRESSURE)', () => {
  it('INV-BACKPRESSURE: appends past maxQueuedBytes wait (FIFO) until committed ones free room; pressure() reports it', async () => {
    const one = estimatedBytes([draft('e', 100)]);
    const { p, admission, openGate, turn } = gated(one * 2);
    const settled: number[] = [];
    const appends = [0, 1, 2, 3, 4].map((i) => p.appendOne(draft(`e${i}`, 100), undefined).then(() => settled.push(i)));
    await turn();
    // Two fit; three wait, holding no queue memory.
    expect(admission.pressure()).toEqual({ queuedIntents: 2, queuedBytes: one * 2, maxQueuedBytes: one * 2, waiting: 3 });
    await openGate();
    expect(settled).toEqual([0, 1]);
    expect(admission.pressure()).toMatchObject({ queuedIntents: 2, waiting: 1 });
    await openGate();
    await openGate();
    await Promise.all(appends);
    expect(settled).toEqual([0, 1, 2, 3, 4]);
    expect(admission.pressure()).toEqual({ queuedIntents: 0, queuedBytes: 0, maxQueuedBytes: one * 2, waiting: 0 });
  });

  it('INV-BACKPRESSURE: an append larger than the bound alone is accepted when nothing is queued; a waiting one can be abandoned', async () => {
    const { p, admission, openGate, turn } = gated(10);
    const big = p.appendOne(draft('a', 1000), undefined);
    const ac = new AbortController();
    const abandoned = p.appendOne(draft('b', 10), undefined, ac.signal);
    const later = p.appendOne(draft('c', 10), undefined);
    await turn();
    expect(admission.pressure()).toMatchObject({ queuedIntents: 1, waiting: 2 });
    ac.abort();
    const err = await abandoned.catch((e: unknown) => e as BatpakError);
    expect((err as BatpakError).code).toBe('ERR_ABORTED');
    expect(admission.pressure()).toMatchObject({ queuedIntents: 1, waiting: 1 });
    await openGate();
    await big;
    await openGate();
    await later;
    expect(admission.pressure()).toMatchObject({ queuedIntents: 0, queuedBytes: 0, waiting: 0 });
  });

  it('through the store: the option is validated, pressure() is zero when idle, an aborted signal refuses a waiting append, close refuses the rest', async () => {
    await expect(Store.open({ dir: '/s', fs: new SimFs(1), maxQueuedBytes: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    const E = defineEvent<{ s: string }>({ category: 1, typeId: 1 });
    const store = await Store.open({ dir: '/s', fs: new SimFs(1), maxQueuedBytes: 64 });
    expect(store.pressure()).toEqual({ queuedIntents: 0, queuedBytes: 0, maxQueuedBytes: 64, waiting: 0 });
    const first = store.append(new Coordinate('a', 's'), E, { s: 'x'.repeat(200) });
    const pre = new AbortController();
    pre.abort();
    const refused = store.append(new Coordinate('a', 's'), E, { s: 'y' }, { signal: pre.signal });
    const waiting = store.appendBatch([{ coord: new Coordinate('b', 's'), kind: E, payload: { s: 'z' } }]);
    expect(store.pressure()).toMatchObject({ queuedIntents: 1, waiting: 1 });
    await expect(refused).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await first;
    await waiting;
    expect(store.stats().events).toBe(2n);
    const big = store.append(new Coordinate('a', 's'), E, { s: 'x'.repeat(200) });
    const stuck = store.append(new Coordinate('c', 's'), E, { s: 'w' });
    await store.close();
    await big;
    await expect(stuck).rejects.toMatchObject({ code: 'ERR_STORE_CLOSED' });
  });
});
