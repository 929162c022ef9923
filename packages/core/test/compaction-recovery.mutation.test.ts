// Each step of a compaction's swap failing or crashing, and the open that follows (INV-COMPACT-SWAP): exact
// outcomes, files and events — the fast, deterministic counterpart of the seeded compaction oracle.
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store, type StoreOptions } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';

const Item = defineEvent<{ n: number }>({ category: 7, typeId: 2, name: 'SwapItem' });
const retention = { strategy: 'retention' as const, keep: (e: { payload: unknown }) => (e.payload as { n: number }).n % 3 !== 0 };

async function setup(extra: Partial<StoreOptions> = {}) {
  const sim = new SimFs(11);
  let clock = 1_700_000_000_000;
  const options: StoreOptions = { dir: '/db', fs: sim, segmentMaxBytes: 260, now: () => (clock += 1), ...extra };
  const store = await Store.open(options);
  const ids: string[] = [];
  for (let n = 0; n < 12; n++) ids.push((await store.append(new Coordinate(`e${n % 2}`, 's'), Item, { n })).eventId);
  // Close and reopen: sealed segments' index files are written in the background, and their renames must
  // not shift the rename counts the fault plans below aim at.
  await store.close();
  return { sim, options, store: await Store.open(options), ids };
}

async function payloads(store: Store): Promise<number[]> {
  const out: number[] = [];
  for await (const e of store.query()) out.push((e.payload as { n: number }).n);
  return out;
}

const files = (sim: SimFs) => sim.listFiles().map((f) => f.slice('/db/'.length));

describe('compaction swap, step by step (INV-COMPACT-SWAP)', () => {
  it('a clean retention removes exactly the doomed sealed events, records them, and survives a reopen', async () => {
    const { sim, options, store } = await setup();
    const before = await payloads(store);
    const segments = files(sim).filter((f) => f.endsWith('.bps'));
    expect(segments.length).toBeGreaterThan(3);
    const r = await store.compact(retention);
    expect(r.outcome).toBe('performed');
    expect(r.segmentsRemoved).toBe(segments.length - 2);
    const after = await payloads(store);
    const dropped = before.filter((n) => !after.includes(n));
    expect(dropped.length).toBe(r.eventsDropped);
    expect(dropped.every((n) => n % 3 === 0)).toBe(true);
    expect(files(sim)).toContain('compaction.log');
    expect(files(sim)).not.toContain('compaction.pending');
    expect(files(sim).some((f) => f.endsWith('.compact-new'))).toBe(false);
    const report = await store.verifyChain();
    expect(report.intact).toBe(true);
    expect(report.gaps.length).toBeGreaterThan(0);
    await store.close();
    const again = await Store.open(options);
    expect(await payloads(again)).toEqual(after);
    expect((await again.verifyChain()).intact).toBe(true);
    // A second retention finds nothing more to drop in what it already compacted.
    const second = await again.compact(retention);
    expect(second.eventsDropped).toBe(0);
    await again.close();
  });

  it('merge needs two sealed segments and tombstone keeps every event in place', async () => {
    const { store } = await setup();
    const before = await payloads(store);
    const t = await store.compact({ strategy: 'tombstone', drop: (e) => (e.payload as { n: number }).n === 1 });
    expect(t).toMatchObject({ outcome: 'performed', eventsDropped: 0 });
    const seen: { n: number | undefined; tombstone: boolean }[] = [];
    for await (const e of store.query()) seen.push({ n: (e.payload as { n: number } | undefined)?.n, tombstone: e.header.tombstone });
    expect(seen.length).toBe(before.length);
    expect(seen.filter((s) => s.tombstone)).toEqual([{ n: undefined, tombstone: true }]);
    const m = await store.compact({ strategy: 'merge' });
    expect(m.outcome).toBe('skipped');
    await store.close();
  });

  it('the marker write fails: nothing committed, staging removed, old set intact', async () => {
    const { sim, options, store } = await setup();
    const before = await payloads(store);
    sim.failOn('writeFileAtomic', 1, 'EIO');
    const r = await store.compact(retention);
    expect(r.outcome).toBe('failed');
    expect(r.reason).toMatch(/^writing the compaction marker failed: /);
    expect(files(sim).filter((f) => f.startsWith('compaction') || f.endsWith('.compact-new'))).toEqual([]);
    expect(await payloads(store)).toEqual(before);
    sim.crash();
    const again = await Store.open(options);
    expect(await payloads(again)).toEqual(before);
    await again.close();
  });

  it('the output write fails: nothing committed and the store keeps working', async () => {
    const { sim, store } = await setup();
    const before = await payloads(store);
    sim.failOn('fsync', 1, 'EIO');
    const r = await store.compact(retention);
    expect(r.outcome).toBe('failed');
    expect(r.reason).toMatch(/^writing the output failed: /);
    expect(files(sim).some((f) => f.endsWith('.compact-new'))).toBe(false);
    expect(await payloads(store)).toEqual(before);
    const again = await store.compact(retention);
    expect(again.outcome).toBe('performed');
    await store.close();
  });

  it('the swap fails after the commit point: reads see the old set, compaction refuses, the next open rolls forward', async () => {
    const { sim, options, store } = await setup();
    const before = await payloads(store);
    sim.failOn('rename', 2, 'EIO'); // 1: the marker's own atomic write, 2: staging over the merged id
    const r = await store.compact(retention);
    expect(r).toMatchObject({ outcome: 'failed', segmentsRemoved: 0, eventsDropped: 0 });
    expect(r.reason).toMatch(/^committed, but the swap failed \(the next open completes it\): /);
    expect(files(sim)).toContain('compaction.pending');
    expect(await payloads(store)).toEqual(before);
    const refused = await store.compact({ strategy: 'merge' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BatpakError);
    expect((refused as BatpakError).code).toBe('ERR_COMPACTION_RECOVERY_REFUSED');
    await store.append(new Coordinate('e0', 's'), Item, { n: 100 });
    await store.close();

    // A read-only open sees the committed view and touches nothing.
    const listing = files(sim);
    const ro = await Store.openReadOnly('/db', { fs: sim });
    const committed = await payloads(ro);
    // The committed view: the old events minus doomed ones (n % 3 === 0) of the sealed segments, plus the new append.
    expect(committed).toEqual([...before, 100].filter((n) => committed.includes(n)));
    expect([...before, 100].filter((n) => !committed.includes(n)).every((n) => n % 3 === 0)).toBe(true);
    expect(committed.includes(100)).toBe(true);
    expect(committed.length).toBeLessThan(before.length + 1);
    expect((await ro.verifyChain()).intact).toBe(true);
    await ro.close();
    expect(files(sim)).toEqual(listing);

    const again = await Store.open(options);
    expect(await payloads(again)).toEqual(committed);
    expect(files(sim)).not.toContain('compaction.pending');
    expect(files(sim).some((f) => f.endsWith('.compact-new'))).toBe(false);
    expect(files(sim)).toContain('compaction.log');
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
  });

  it('cleanup fails after the swap: performed, deferred to the next open', async () => {
    const warnings: string[] = [];
    const { sim, options, store } = await setup({ onWarning: (w) => warnings.push(w) });
    sim.failOn('remove', 2, 'EIO'); // 1: the staging name cleared before writing, 2: a source after the swap
    const r = await store.compact(retention);
    expect(r.outcome).toBe('performed');
    expect(warnings.some((w) => /cleanup deferred to the next open/.test(w))).toBe(true);
    const seen = await payloads(store);
    await store.close();
    const again = await Store.open(options);
    expect(await payloads(again)).toEqual(seen);
    expect(files(sim)).not.toContain('compaction.pending');
    await again.close();
  });

  it('the marker removal fails after the log entry landed: the store already knows the entry (a snapshot carries it)', async () => {
    const warnings: string[] = [];
    const { sim, store } = await setup({ onWarning: (w) => warnings.push(w) });
    const segments = files(sim).filter((f) => f.endsWith('.bps')).length;
    // Removes: 1 the staging name cleared before writing, 2..segments-1 the other sources, then the marker.
    sim.failOn('remove', segments, 'EIO');
    const r = await store.compact(retention);
    expect(r.outcome).toBe('performed');
    expect(warnings.some((w) => /cleanup deferred to the next open/.test(w))).toBe(true);
    expect(files(sim)).toContain('compaction.pending');
    expect(files(sim)).toContain('compaction.log');
    const seen = await payloads(store);
    await store.snapshot('/copy');
    await store.close();
    const copy = await Store.open({ dir: '/copy', fs: sim });
    expect(await payloads(copy)).toEqual(seen);
    expect((await copy.verifyChain()).intact).toBe(true);
    await copy.close();
  });

  it('a crash leaves staging without a marker: a writable open deletes it, a read-only open leaves it', async () => {
    const { sim, options, store } = await setup();
    const before = await payloads(store);
    await store.close();
    sim.putFile('/db/000001.bps.compact-new', new Uint8Array([1, 2, 3]));
    const ro = await Store.openReadOnly('/db', { fs: sim });
    expect(await payloads(ro)).toEqual(before);
    await ro.close();
    expect(files(sim)).toContain('000001.bps.compact-new');
    const again = await Store.open(options);
    expect(files(sim)).not.toContain('000001.bps.compact-new');
    expect(await payloads(again)).toEqual(before);
    await again.close();
  });

  it('a marker whose output and merged segment are both gone refuses the open', async () => {
    const { sim, options, store } = await setup();
    sim.failOn('rename', 2, 'EIO');
    await store.compact(retention);
    await store.close();
    await sim.remove('/db/000001.bps.compact-new');
    await sim.remove('/db/000001.bps');
    const err = await Store.open(options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatpakError);
    expect((err as BatpakError).code).toBe('ERR_COMPACTION_RECOVERY_REFUSED');
    expect((err as BatpakError).message).toMatch(/committed, but neither its output nor segment 1 exists/);
  });

  it('a damaged marker or log refuses the open with ERR_CORRUPT_MARKER', async () => {
    const { sim, options, store } = await setup();
    sim.failOn('rename', 2, 'EIO');
    await store.compact(retention);
    await store.close();
    sim.corrupt('/db/compaction.pending', 20, 0xff);
    const err = await Store.open(options).catch((e: unknown) => e);
    expect((err as BatpakError).code).toBe('ERR_CORRUPT_MARKER');

    const other = await setup();
    await other.store.compact(retention);
    await other.store.close();
    other.sim.corrupt('/db/compaction.log', 14, 0x01);
    const err2 = await Store.open(other.options).catch((e: unknown) => e);
    expect((err2 as BatpakError).code).toBe('ERR_CORRUPT_MARKER');
  });
});
