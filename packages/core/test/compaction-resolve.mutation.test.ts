// What an open makes of the compaction files it finds (INV-COMPACT-SWAP): the segment list in id order whatever
// order the directory lists, each failure of the listing, the log and staging cleanup as a typed error naming
// its file, a pending compaction finished from its output alone or on top of an earlier logged one, and a log
// entry written once however often recovery runs. Also what a compaction records and how a cancel leaves things.
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store, type StoreOptions } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { readCompactionLog, resolvePendingCompaction } from '../src/compaction/swap.js';
import { toHex } from '../src/encoding/hex.js';
import type { Fs } from '../src/fs/fs.js';

const Item = defineEvent<{ n: number }>({ category: 7, typeId: 3, name: 'ResolveItem' });
const retention = { strategy: 'retention' as const, keep: (e: { payload: unknown }) => (e.payload as { n: number }).n % 3 !== 0 };

async function append(store: Store, from: number, to: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = from; n < to; n++) ids.push((await store.append(new Coordinate(`e${n % 2}`, 's'), Item, { n })).eventId);
  return ids;
}

/** Twelve events over several small segments; closed and reopened so background index-file writes are done. */
async function setup(extra: Partial<StoreOptions> = {}) {
  const sim = new SimFs(12);
  let clock = 1_700_000_000_000;
  const options: StoreOptions = { dir: '/db', fs: sim, segmentMaxBytes: 260, now: () => (clock += 1), ...extra };
  const first = await Store.open(options);
  const ids = await append(first, 0, 12);
  await first.close();
  return { sim, options, store: await Store.open(options), ids };
}

async function payloads(store: Store): Promise<number[]> {
  const out: number[] = [];
  for await (const e of store.query()) out.push((e.payload as { n: number }).n);
  return out;
}

/** `sim` with some of its methods replaced. */
function withFs(sim: SimFs, over: Partial<Fs>): Fs {
  return new Proxy(sim as unknown as Fs, {
    get(target, prop, receiver) {
      if (prop in over) return over[prop as keyof Fs];
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

const errno = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });

async function refusal(p: Promise<unknown>): Promise<BatpakError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BatpakError);
  return err as BatpakError;
}

describe('resolving compaction files at open (INV-COMPACT-SWAP)', () => {
  it('lists segments in id order even when the directory lists them in another order', async () => {
    const { sim, store } = await setup();
    await store.close();
    const ids = sim.listFiles().filter((f) => f.endsWith('.bps')).map((f) => Number(f.slice(4, -4)));
    expect(ids.length).toBeGreaterThan(3);
    const reversed = withFs(sim, { readdir: async (p: string) => (await sim.readdir(p)).reverse() });
    for (const writable of [false, true]) {
      const r = await resolvePendingCompaction(reversed, '/db', writable);
      expect(r.segments).toEqual(ids.map((id) => ({ id, path: `/db/${String(id).padStart(6, '0')}.bps` })));
      expect(r.entries).toEqual([]);
    }
  });

  it('a listing, log stat or staging removal that fails is a typed I/O error naming the file', async () => {
    const { sim, store } = await setup();
    await store.close();
    const list = await refusal(resolvePendingCompaction(withFs(sim, { readdir: async () => Promise.reject(errno('EIO')) }), '/db', true));
    expect(list.message).toMatch(/^cannot list \/db: /);
    expect(list.details.file).toBe('/db');
    const stat = await refusal(readCompactionLog(withFs(sim, { stat: async () => Promise.reject(errno('EIO')) }), '/db'));
    expect(stat.message).toMatch(/^cannot stat \/db\/compaction\.log: /);
    expect(stat.details.file).toBe('/db/compaction.log');
    sim.putFile('/db/000002.bps.compact-new', new Uint8Array([1]));
    const staging = await refusal(resolvePendingCompaction(withFs(sim, { remove: async () => Promise.reject(errno('EIO')) }), '/db', true));
    expect(staging.message).toMatch(/^cannot remove an uncommitted compaction's staging file in \/db: /);
    expect(staging.details.file).toBe('/db');
    expect(sim.listFiles()).toContain('/db/000002.bps.compact-new');
  });

  it('a committed compaction whose merged segment is gone is finished from its output alone', async () => {
    const { sim, options, store } = await setup();
    const before = await payloads(store);
    sim.failOn('rename', 2, 'EIO'); // 1: the marker's own atomic write, 2: staging over the merged id
    const r = await store.compact(retention);
    expect(r.outcome).toBe('failed');
    await store.close();
    await sim.remove('/db/000001.bps');
    const ro = await Store.openReadOnly('/db', { fs: sim });
    const committed = await payloads(ro);
    // Every kept event is there (segment 1's from the output), and only doomed ones are not.
    expect(before.filter((n) => n % 3 !== 0).every((n) => committed.includes(n))).toBe(true);
    expect(before.filter((n) => !committed.includes(n)).every((n) => n % 3 === 0)).toBe(true);
    expect(committed.length).toBeLessThan(before.length);
    expect((await ro.verifyChain()).intact).toBe(true);
    await ro.close();
    const again = await Store.open(options);
    expect(await payloads(again)).toEqual(committed);
    expect(sim.listFiles()).not.toContain('/db/compaction.pending');
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
  });

  it('a marker whose output and merged segment are both gone refuses, naming the marker file', async () => {
    const { sim, options, store } = await setup();
    sim.failOn('rename', 2, 'EIO');
    await store.compact(retention);
    await store.close();
    await sim.remove('/db/000001.bps.compact-new');
    await sim.remove('/db/000001.bps');
    const err = await refusal(Store.open(options));
    expect(err.code).toBe('ERR_COMPACTION_RECOVERY_REFUSED');
    expect(err.details.file).toBe('/db/compaction.pending');
  });

  it('a pending compaction on top of a logged one: a read-only open sees both records, a writable one logs the second once', async () => {
    const { sim, options, store } = await setup();
    expect((await store.compact(retention)).outcome).toBe('performed');
    await append(store, 12, 24);
    await store.close();
    const second = await Store.open(options);
    sim.failOn('rename', 2, 'EIO');
    expect((await second.compact(retention)).outcome).toBe('failed');
    await second.close();
    expect((await readCompactionLog(sim, '/db')).length).toBe(1);

    const ro = await Store.openReadOnly('/db', { fs: sim });
    const committed = await payloads(ro);
    const report = await ro.verifyChain();
    expect(report.intact).toBe(true);
    expect(report.gaps.length).toBeGreaterThan(0);
    await ro.close();

    const again = await Store.open(options);
    expect(await payloads(again)).toEqual(committed);
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
    const log = await readCompactionLog(sim, '/db');
    expect(log.length).toBe(2);
    expect(new Set(log.map((e) => e.compactionId)).size).toBe(2);
  });

  it('recovery after the log entry landed does not log it again and keeps the store’s record of it', async () => {
    const warnings: string[] = [];
    const { sim, options, store } = await setup({ onWarning: (w) => warnings.push(w) });
    const segments = sim.listFiles().filter((f) => f.endsWith('.bps')).length;
    sim.failOn('remove', segments, 'EIO'); // the marker's removal, after the sources'
    expect((await store.compact(retention)).outcome).toBe('performed');
    expect(sim.listFiles()).toContain('/db/compaction.pending');
    const seen = await payloads(store);
    await store.close();
    const again = await Store.open(options);
    expect(sim.listFiles()).not.toContain('/db/compaction.pending');
    expect((await readCompactionLog(sim, '/db')).length).toBe(1);
    expect(await payloads(again)).toEqual(seen);
    const report = await again.verifyChain();
    expect(report.intact).toBe(true);
    expect(report.gaps.length).toBeGreaterThan(0);
    await again.close();
  });
});

describe('what a compaction records, and a cancelled one (INV-TOMBSTONE-RECORDED, INV-COMPACT-SWAP)', () => {
  it('an unsigned retention records each removed event’s cover leaf and no header leaf', async () => {
    const { sim, store } = await setup();
    const r = await store.compact(retention);
    expect(r.eventsDropped).toBeGreaterThan(0);
    await store.close();
    const [entry] = await readCompactionLog(sim, '/db');
    expect(entry!.removed.length).toBe(r.eventsDropped);
    for (const row of entry!.removed) {
      expect(row.leaf?.length).toBe(32);
      expect(row.headerLeaf).toBeUndefined();
    }
  });

  it('a tombstone pass records exactly the events it tombstoned', async () => {
    const { sim, store, ids } = await setup();
    expect((await store.compact({ strategy: 'tombstone', drop: (e) => (e.payload as { n: number }).n === 1 })).outcome).toBe('performed');
    await store.close();
    const [entry] = await readCompactionLog(sim, '/db');
    expect(entry!.removed).toEqual([]);
    expect(entry!.tombstoned!.map((t) => toHex(t.id))).toEqual([ids[1]]);
  });

  it('a compaction cancelled while it reads its sources stops with ERR_ABORTED and changes nothing', async () => {
    const { sim, store } = await setup();
    const before = await payloads(store);
    const files = sim.listFiles();
    const ac = new AbortController();
    const reason = new Error('shutting down');
    const err = await refusal(
      store.compact({
        strategy: 'retention',
        keep: () => {
          ac.abort(reason);
          return true;
        },
        signal: ac.signal,
      }),
    );
    expect(err.code).toBe('ERR_ABORTED');
    expect(err.message).toBe('compaction was aborted');
    expect(err.cause).toBe(reason);
    expect(sim.listFiles()).toEqual(files);
    expect(await payloads(store)).toEqual(before);
    expect((await store.compact(retention)).outcome).toBe('performed');
    await store.close();
  });
});
