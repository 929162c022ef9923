// Telemetry (INV-WARNINGS-HEARD): the batpak:* diagnostics_channel tracing channels carry the documented payloads, the
// commit histograms in stats() count what was written, and warnings reach process.emitWarning by default.
import { tracingChannel } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, DIAGNOSTICS_CHANNELS, Store, type CommitTraceContext, type ReceiptSigner } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { traced } from '../src/store/diagnostics.js';

const Note = defineEvent<{ text: string }>({ category: 3, typeId: 1, name: 'Note' });
const alice = new Coordinate('user:alice', 'profile');

type Phase = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Subscribes to a batpak channel; returns the (phase, context) pairs it saw. */
function listen(name: string): { phase: Phase; ctx: Record<string, unknown> }[] {
  const seen: { phase: Phase; ctx: Record<string, unknown> }[] = [];
  const ch = tracingChannel<unknown, Record<string, unknown>>(name);
  const on = (phase: Phase) => (ctx: Record<string, unknown>) => seen.push({ phase, ctx });
  const handlers = { start: on('start'), end: on('end'), asyncStart: on('asyncStart'), asyncEnd: on('asyncEnd'), error: on('error') };
  ch.subscribe(handlers);
  cleanups.push(() => ch.unsubscribe(handlers));
  return seen;
}

const open = (fs = new SimFs(1), extra: Partial<Parameters<typeof Store.open>[0]> = {}) =>
  Store.open({ dir: '/s', fs, segmentMaxBytes: 1024, onWarning: () => undefined, ...extra });

describe('diagnostics channels', () => {
  it('batpak:append traces each append with its events and result', async () => {
    const seen = listen(DIAGNOSTICS_CHANNELS.append);
    const store = await open();
    const r = await store.append(alice, Note, { text: 'hi' });
    await store.appendBatch([{ coord: alice, kind: { category: 3, typeId: 2 }, payload: new Uint8Array([1]) }]);
    expect(seen.map((s) => s.phase)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd', 'start', 'end', 'asyncStart', 'asyncEnd']);
    const first = seen[0]!.ctx;
    expect(first).toMatchObject({ operation: 'append', store: '/s', events: [{ entity: 'user:alice', scope: 'profile', kind: 0x3001, eventId: r.eventId }] });
    expect(first['result']).toEqual(r);
    expect(seen[4]!.ctx).toMatchObject({ operation: 'appendBatch', events: [{ kind: 0x3002 }] });
    await store.close();
  });

  it('batpak:commit reports group size, queue depth and write/fsync times of each group', async () => {
    const seen = listen(DIAGNOSTICS_CHANNELS.commit);
    const store = await open();
    // Three appends in one tick: the first starts a group, the others queue behind it or join it.
    await Promise.all([0, 1, 2].map((i) => store.append(alice, Note, { text: `n${i}` })));
    const done = seen.filter((s) => s.phase === 'asyncEnd').map((s) => s.ctx as unknown as CommitTraceContext);
    expect(done.reduce((n, c) => n + c.events, 0)).toBe(3);
    expect(done.reduce((n, c) => n + c.intents, 0)).toBe(3);
    for (const c of done) {
      expect(c.store).toBe('/s');
      expect(c.bytes).toBeGreaterThan(0);
      expect(c.queueDepth).toBeGreaterThanOrEqual(0);
      for (const t of [c.writeMs, c.fsyncMs, c.queueWaitMs]) expect(t).toBeGreaterThanOrEqual(0);
      expect(c.error).toBeUndefined();
    }
    await store.close();
  });

  it('batpak:compact, batpak:shred and batpak:verify carry their inputs and results', async () => {
    const compacts = listen(DIAGNOSTICS_CHANNELS.compact);
    const shreds = listen(DIAGNOSTICS_CHANNELS.shred);
    const verifies = listen(DIAGNOSTICS_CHANNELS.verify);
    const store = await open(new SimFs(2), { payloadEncryption: { granularity: 'entity' } });
    for (let i = 0; i < 30; i++) await store.append(alice, Note, { text: 'x'.repeat(40) });
    const compaction = await store.compact({ strategy: 'merge' });
    const shred = await store.shredScope({ entity: alice });
    const report = await store.verifyChain();
    const end = (s: typeof compacts) => s.find((x) => x.phase === 'asyncEnd')!.ctx;
    expect(end(compacts)).toMatchObject({ store: '/s', strategy: 'merge', result: compaction });
    expect(end(shreds)).toMatchObject({ store: '/s', selector: { entity: alice }, result: shred });
    expect(end(verifies)).toMatchObject({ store: '/s', operation: 'verifyChain', result: report });
    await store.close();
  });

  it('an error reaches the channel: a verifyChain with a bad expect', async () => {
    const verifies = listen(DIAGNOSTICS_CHANNELS.verify);
    const store = await open();
    await expect(store.verifyChain({ expect: 'nope' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(verifies.find((s) => s.phase === 'error')?.ctx['error']).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await store.close();
  });

  it('without a subscriber nothing is built: the context function is never called', async () => {
    let built = 0;
    const value = await traced(
      'commit',
      () => {
        built++;
        return {} as CommitTraceContext;
      },
      async () => 42,
    );
    expect(value).toBe(42);
    expect(built).toBe(0);
    listen(DIAGNOSTICS_CHANNELS.commit);
    await traced(
      'commit',
      () => {
        built++;
        return {} as CommitTraceContext;
      },
      async () => 42,
    );
    expect(built).toBe(1);
  });
});

describe('stats().commits', () => {
  it('counts every group written, with percentiles of group size and times', async () => {
    const fs = new SimFs(1);
    const store = await open(fs);
    expect(store.stats().commits).toEqual({ groups: 0, groupSize: { p50: 0, p99: 0, max: 0 }, queueWaitMs: { p50: 0, p99: 0, max: 0 }, writeMs: { p50: 0, p99: 0, max: 0 }, fsyncMs: { p50: 0, p99: 0, max: 0 } });
    await store.append(alice, Note, { text: 'a' });
    await store.appendBatch([1, 2, 3, 4].map((i) => ({ coord: alice, kind: { category: 3, typeId: 2 }, payload: new Uint8Array([i]) })));
    const c = store.stats().commits!;
    expect(c.groups).toBe(2);
    expect(c.groupSize.max).toBe(4);
    expect(c.groupSize.p50).toBeGreaterThanOrEqual(1);
    for (const p of [c.writeMs, c.queueWaitMs]) {
      expect(p.p50).toBeGreaterThan(0);
      expect(p.p99).toBeGreaterThanOrEqual(p.p50);
    }
    // SimFs honours syncAppends: each group's write was durable by itself, so no fsync time is counted.
    expect(c.fsyncMs).toEqual({ p50: 0, p99: 0, max: 0 });
    await store.close();
    const ro = await Store.openReadOnly('/s', { fs, onWarning: () => undefined });
    expect(ro.stats().commits).toBeUndefined();
    await ro.close();
  });

  it("records no fsync time under sync 'none'", async () => {
    const store = await open(new SimFs(3), { sync: 'none' });
    await store.append(alice, Note, { text: 'a' });
    expect(store.stats().commits!.fsyncMs).toEqual({ p50: 0, p99: 0, max: 0 });
    expect(store.stats().commits!.groups).toBe(1);
    await store.close();
  });
});

describe('warnings', () => {
  it('go to process.emitWarning with a BATPAK_* code by default (a signing downgrade is never silent)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    cleanups.push(() => process.off('warning', onWarning));
    const signer: ReceiptSigner = {
      publicKey: new Uint8Array(32).fill(1),
      sign: () => {
        throw new Error('hsm offline');
      },
    };
    const store = await Store.open({ dir: '/s', fs: new SimFs(4), signer, signingDowngradeAllowed: true });
    await store.append(alice, Note, { text: 'a' });
    await store.close();
    // process warnings are emitted on the next tick.
    await new Promise((r) => setImmediate(r));
    const w = warnings.find((x) => (x as { code?: string }).code === 'BATPAK_SIGNING_DOWNGRADE');
    expect(w?.name).toBe('BatpakWarning');
    expect(w?.message).toMatch(/signing downgraded for 1 event/);
  });

  it('a custom onWarning receives the code and replaces the default', async () => {
    const got: [string, string][] = [];
    const signer: ReceiptSigner = {
      publicKey: new Uint8Array(32).fill(1),
      sign: () => {
        throw new Error('offline');
      },
    };
    const store = await Store.open({ dir: '/s', fs: new SimFs(5), signer, signingDowngradeAllowed: true, onWarning: (m, code) => got.push([code, m]) });
    await store.append(alice, Note, { text: 'a' });
    await store.close();
    expect(got.map(([code]) => code)).toEqual(['BATPAK_SIGNING_DOWNGRADE']);
  });
});
