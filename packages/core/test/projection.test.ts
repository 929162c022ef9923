// Projections (issue 18): defineProjection, store.project with freshness, the incremental LRU cache, and
// the on-disk projection snapshot (FORMAT.md § Projection snapshot).
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, defineProjection, Store, type StoredEvent, type StoreOptions } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { PROJECTIONS_DIR, snapshotFileName } from '../src/projection/snapshot-file.js';

const Deposited = defineEvent<{ amount: number }>({ category: 1, typeId: 1, name: 'Deposited' });
const Withdrawn = defineEvent<{ amount: number }>({ category: 1, typeId: 2, name: 'Withdrawn' });
const Noted = defineEvent<{ text: string }>({ category: 2, typeId: 1, name: 'Noted' });
const acct = (n: number | string) => new Coordinate(`account:${n}`, 'bank');

/** A Balance projection that counts its apply calls. */
function balance(options: { version?: number; snapshotEvery?: number } = {}) {
  const calls = { n: 0 };
  const def = defineProjection({
    name: 'balance',
    version: options.version ?? 1,
    kinds: [Deposited, Withdrawn],
    ...(options.snapshotEvery === undefined ? {} : { snapshotEvery: options.snapshotEvery }),
    initial: () => ({ amount: 0 }),
    apply: (state: { amount: number }, event: StoredEvent) => {
      calls.n++;
      const p = event.payload as { amount: number };
      return { amount: state.amount + (event.header.kind.typeId === 1 ? p.amount : -p.amount) };
    },
  });
  return { def, calls };
}

async function open(options: Partial<StoreOptions> = {}, fs = new SimFs(1)) {
  const warnings: string[] = [];
  let clock = 1_700_000_000_000;
  const opts: StoreOptions = { dir: '/s', fs, now: () => clock, onWarning: (m) => warnings.push(m), ...options };
  const store = await Store.open(opts);
  return { fs, store, warnings, opts, tick: (ms: number) => (clock += ms) };
}

async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<BatpakError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(BatpakError);
    expect((err as BatpakError).code).toBe(code);
    return err as BatpakError;
  }
  throw new Error(`expected ${code}`);
}

describe('defineProjection (INV-PROJECTION-DEFINE-CHECKED)', () => {
  const ok = { name: 'p', version: 1, initial: () => 0, apply: (s: number) => s };
  it('refuses a bad definition with the field named', async () => {
    for (const [bad, field] of [
      [{ ...ok, name: '' }, 'name'],
      [{ ...ok, name: 'x'.repeat(257) }, 'name'],
      [{ ...ok, name: '\ud800' }, 'name'],
      [{ ...ok, version: 0 }, 'version'],
      [{ ...ok, version: 1.5 }, 'version'],
      [{ ...ok, initial: 1 }, 'initial'],
      [{ ...ok, apply: undefined }, 'apply'],
      [{ ...ok, snapshotEvery: -1 }, 'snapshotEvery'],
      [{ ...ok, kinds: 'Deposited' }, 'kinds'],
    ] as const) {
      const err = await expectCode(() => defineProjection(bad as never), 'ERR_INVALID_ARGUMENT');
      expect(err.details.field).toBe(field);
    }
    await expectCode(() => defineProjection({ ...ok, kinds: [{ category: 0, typeId: 1 }] }), 'ERR_INVALID_KIND');
    expect(Object.isFrozen(defineProjection(ok))).toBe(true);
  });

  it('project refuses what is not a definition, a non-string entity and a bad freshness', async () => {
    const { store } = await open();
    const { def } = balance();
    await expectCode(store.project({ ...def } as never, 'a'), 'ERR_INVALID_ARGUMENT');
    await expectCode(store.project(def, 42 as never), 'ERR_INVALID_ARGUMENT');
    await expectCode(store.project(def, 'a', { freshness: 'eventual' as never }), 'ERR_INVALID_ARGUMENT');
    await expectCode(store.project(def, 'a', { freshness: { maxLagMs: -1 } }), 'ERR_INVALID_ARGUMENT');
    await store.close();
    await expectCode(store.project(def, 'a'), 'ERR_STORE_CLOSED');
  });
});

describe('store.project (INV-PROJECTION-CONSISTENT)', () => {
  it("'consistent' folds every event committed before the call, only of the projection's kinds", async () => {
    const { store } = await open();
    const { def } = balance();
    expect(await store.project(def, 'account:1')).toEqual({ state: { amount: 0 }, entitySequence: 0n });
    await store.append(acct(1), Deposited, { amount: 100 });
    await store.append(acct(1), Noted, { text: 'not a balance event' });
    await store.append(acct(2), Deposited, { amount: 5 });
    await store.append(acct(1), Withdrawn, { amount: 30 });
    expect(await store.project(def, 'account:1', { freshness: 'consistent' })).toEqual({ state: { amount: 70 }, entitySequence: 3n });
    // Concurrent appends then a read: the read sees all of them.
    await Promise.all([1, 2, 3].map((n) => store.append(acct(1), Deposited, { amount: n })));
    expect((await store.project(def, 'account:1')).state).toEqual({ amount: 76 });
    expect((await store.project(def, 'account:2')).state).toEqual({ amount: 5 });
    await store.close();
  });

  it('without kinds, every user event of the entity reaches apply (never the store system events)', async () => {
    const { store } = await open({ payloadEncryption: {} });
    const seen = defineProjection({ name: 'kinds', version: 1, initial: () => [] as string[], apply: (s: string[], e) => [...s, `${e.header.kind.category}/${e.header.kind.typeId}`] });
    await store.append(acct(1), Deposited, { amount: 1 });
    await store.append(acct(1), Noted, { text: 'x' });
    expect((await store.project(seen, 'account:1')).state).toEqual(['1/1', '2/1']);
    await store.shredScope({ entity: 'account:9' });
    expect((await store.project(seen, 'batpak:store')).state).toEqual([]);
    await store.close();
  });

  it('an error thrown by apply reaches the caller and caches nothing', async () => {
    const { store } = await open();
    let fail = true;
    const p = defineProjection({ name: 'fragile', version: 1, initial: () => 0, apply: (s: number) => {
      if (fail) throw new Error('apply failed');
      return s + 1;
    } });
    await store.append(acct(1), Deposited, { amount: 1 });
    await expect(store.project(p, 'account:1')).rejects.toThrow('apply failed');
    fail = false;
    expect((await store.project(p, 'account:1')).state).toBe(1);
    await store.close();
  });
});

describe('the projection cache (INV-PROJECTION-INCREMENTAL, INV-PROJECTION-CACHE-BOUNDED)', () => {
  it('a second project after one more append applies one event, not the history', async () => {
    const { store } = await open();
    const { def, calls } = balance();
    for (let i = 0; i < 100; i++) await store.append(acct(1), Deposited, { amount: 1 });
    expect((await store.project(def, 'account:1')).state).toEqual({ amount: 100 });
    expect(calls.n).toBe(100);
    await store.append(acct(1), Withdrawn, { amount: 10 });
    expect(await store.project(def, 'account:1')).toEqual({ state: { amount: 90 }, entitySequence: 101n });
    expect(calls.n).toBe(101);
    // Nothing new: no apply at all; another entity's appends do not matter either.
    await store.append(acct(2), Deposited, { amount: 1 });
    await store.project(def, 'account:1');
    expect(calls.n).toBe(101);
    await store.close();
  });

  it('{ maxLagMs } serves a cached state up to that old; consistent never does', async () => {
    const { store, tick } = await open();
    const { def, calls } = balance();
    await store.append(acct(1), Deposited, { amount: 10 });
    await store.project(def, 'account:1');
    await store.append(acct(1), Deposited, { amount: 5 });
    tick(500);
    expect((await store.project(def, 'account:1', { freshness: { maxLagMs: 1000 } })).state).toEqual({ amount: 10 });
    expect(calls.n).toBe(1);
    tick(501);
    expect((await store.project(def, 'account:1', { freshness: { maxLagMs: 1000 } })).state).toEqual({ amount: 15 });
    await store.append(acct(1), Deposited, { amount: 1 });
    expect((await store.project(def, 'account:1', { freshness: 'consistent' })).state).toEqual({ amount: 16 });
    // A state never cached is folded whatever the lag allowed.
    expect((await store.project(balance().def, 'account:2', { freshness: { maxLagMs: 60_000 } })).entitySequence).toBe(0n);
    await store.close();
  });

  it('holds at most projectionCacheSize states, least recently used out first', async () => {
    const { store } = await open({ projectionCacheSize: 2 });
    const { def, calls } = balance();
    for (const n of [1, 2, 3]) for (let i = 0; i < 10; i++) await store.append(acct(n), Deposited, { amount: 1 });
    await store.project(def, 'account:1');
    await store.project(def, 'account:2');
    await store.project(def, 'account:1'); // account:2 is now the least recently used
    await store.project(def, 'account:3'); // evicts account:2
    expect(calls.n).toBe(30);
    await store.project(def, 'account:1');
    expect(calls.n).toBe(30);
    await store.project(def, 'account:2');
    expect(calls.n).toBe(40);
    await store.close();
  });

  it('the cache key includes the version; projectionCacheSize is validated, 0 caches nothing', async () => {
    const { store } = await open();
    await store.append(acct(1), Deposited, { amount: 1 });
    const v1 = balance({ version: 1 });
    const v2 = balance({ version: 2 });
    await store.project(v1.def, 'account:1');
    await store.project(v2.def, 'account:1');
    expect([v1.calls.n, v2.calls.n]).toEqual([1, 1]);
    await store.close();
    for (const bad of [-1, 1.5, '8']) await expectCode(Store.open({ dir: '/x', fs: new SimFs(2), projectionCacheSize: bad as never }), 'ERR_INVALID_OPTION');
    const none = await open({ projectionCacheSize: 0 });
    const b = balance();
    await none.store.append(acct(1), Deposited, { amount: 1 });
    await none.store.project(b.def, 'account:1');
    await none.store.project(b.def, 'account:1');
    expect(b.calls.n).toBe(2);
    await none.store.close();
  });
});

describe('projection snapshots (INV-PROJECTION-SNAPSHOT-CHECKED)', () => {
  const file = `/s/${PROJECTIONS_DIR}/${snapshotFileName('balance', 'account:1')}`;

  it('a cold project resumes from the snapshot and folds only what came after it', async () => {
    const { fs, store, opts } = await open();
    const first = balance({ snapshotEvery: 10 });
    for (let i = 0; i < 25; i++) await store.append(acct(1), Deposited, { amount: 2 });
    expect((await store.project(first.def, 'account:1')).state).toEqual({ amount: 50 });
    expect(fs.inspect(file)).not.toBeNull();
    await store.append(acct(1), Withdrawn, { amount: 7 });
    await store.close();
    const again = await Store.open(opts);
    const cold = balance({ snapshotEvery: 10 });
    expect(await again.project(cold.def, 'account:1')).toEqual({ state: { amount: 43 }, entitySequence: 26n });
    expect(cold.calls.n).toBe(1);
    await again.close();
  });

  it('is written again only after snapshotEvery more events', async () => {
    const { fs, store } = await open();
    const { def } = balance({ snapshotEvery: 3 });
    for (let i = 0; i < 3; i++) await store.append(acct(1), Deposited, { amount: 1 });
    await store.project(def, 'account:1');
    const written = fs.inspect(file)!.current.slice();
    await store.append(acct(1), Deposited, { amount: 1 });
    await store.project(def, 'account:1');
    expect(fs.inspect(file)!.current).toEqual(written);
    for (let i = 0; i < 2; i++) await store.append(acct(1), Deposited, { amount: 1 });
    await store.project(def, 'account:1');
    expect(fs.inspect(file)!.current).not.toEqual(written);
    await store.close();
  });

  it('is ignored, with a warning, when the projection version changed or it fails its checksum', async () => {
    const { fs, store, opts, warnings } = await open();
    for (let i = 0; i < 5; i++) await store.append(acct(1), Deposited, { amount: 3 });
    await store.project(balance({ snapshotEvery: 1 }).def, 'account:1');
    await store.close();

    let s = await Store.open(opts);
    const v2 = balance({ version: 2, snapshotEvery: 100 });
    expect((await s.project(v2.def, 'account:1')).state).toEqual({ amount: 15 });
    expect(v2.calls.n).toBe(5);
    expect(warnings.some((w) => w.includes('projection version 1, now 2'))).toBe(true);
    await s.close();

    // A flipped bit in the stored state: the checksum catches it, the state is rebuilt from the log.
    fs.corrupt(file, fs.inspect(file)!.current.length - 2, 0x01);
    s = await Store.open(opts);
    const v1 = balance({ snapshotEvery: 100 });
    expect((await s.project(v1.def, 'account:1')).state).toEqual({ amount: 15 });
    expect(v1.calls.n).toBe(5);
    expect(warnings.some((w) => w.includes('checksum mismatch'))).toBe(true);
    await s.close();
  });

  it('a snapshot ahead of the log (another store) is ignored', async () => {
    const { fs, store, opts, warnings } = await open();
    for (let i = 0; i < 5; i++) await store.append(acct(1), Deposited, { amount: 3 });
    await store.project(balance({ snapshotEvery: 1 }).def, 'account:1');
    await store.close();
    const bytes = fs.inspect(file)!.current.slice();
    const other = await open({}, new SimFs(9));
    await other.store.append(acct(1), Deposited, { amount: 1 });
    await other.store.close();
    await other.fs.mkdir(`/s/${PROJECTIONS_DIR}`, { recursive: true });
    await other.fs.writeFileAtomic(file, bytes);
    const s = await Store.open({ ...opts, fs: other.fs, onWarning: (m) => warnings.push(m) });
    expect((await s.project(balance({ snapshotEvery: 100 }).def, 'account:1')).state).toEqual({ amount: 1 });
    expect(warnings.some((w) => w.includes('ahead of the log'))).toBe(true);
    await s.close();
  });

  it('a state that is not a payload value is served but not snapshotted (a warning says why)', async () => {
    const { fs, store, warnings } = await open();
    const p = defineProjection({ name: 'fn', version: 1, snapshotEvery: 1, initial: () => ({ f: () => 1 }), apply: (s) => s });
    await store.append(acct(1), Deposited, { amount: 1 });
    expect(typeof (await store.project(p, 'account:1')).state.f).toBe('function');
    expect(warnings.some((w) => w.includes('projection snapshot of fn for account:1 not written'))).toBe(true);
    expect(fs.listFiles().filter((f) => f.includes(PROJECTIONS_DIR) && f.endsWith('.bpproj'))).toEqual([]);
    await store.close();
  });

  it("a writable open removes a killed snapshot write's temp file (INV-TEMP-CLEANUP); a read-only open leaves it", async () => {
    const { fs, store, opts } = await open();
    await store.append(acct(1), Deposited, { amount: 3 });
    await store.project(balance({ snapshotEvery: 1 }).def, 'account:1');
    await store.close();
    const temp = `/s/${PROJECTIONS_DIR}/.${snapshotFileName('balance', 'account:1')}.tmp-killed`;
    await fs.writeFileAtomic(temp, new TextEncoder().encode('a state a killed writer left'));
    await (await Store.openReadOnly('/s', { fs })).close();
    expect(fs.inspect(temp)).not.toBeNull();
    await (await Store.open(opts)).close();
    expect(fs.inspect(temp)).toBeNull();
    expect(fs.inspect(file)).not.toBeNull();
  });

  it('a read-only store reads snapshots but never writes one', async () => {
    const { fs, store, opts } = await open();
    for (let i = 0; i < 5; i++) await store.append(acct(1), Deposited, { amount: 3 });
    await store.close();
    const ro = await Store.openReadOnly('/s', { fs, now: opts.now! });
    expect((await ro.project(balance({ snapshotEvery: 1 }).def, 'account:1')).state).toEqual({ amount: 15 });
    expect(fs.inspect(file)).toBeNull();
    await ro.close();
  });
});
