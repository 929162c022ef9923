// Projections that must forget (issue 18): after shredScope or compact returns, no cached state and no
// snapshot file derives from a shredded or dropped payload; a damaged frame fails typed; watchProjection.
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, defineProjection, Store, type StoredEvent, type StoreOptions } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { encodePayload } from '../src/payload.js';
import { PROJECTIONS_DIR, snapshotFileName } from '../src/projection/snapshot-file.js';

const Noted = defineEvent<{ text: string; n: number }>({ category: 2, typeId: 1, name: 'Noted' });
const c = (e: string) => new Coordinate(e, 'notes');

/** Keeps every text it saw (so a shredded plaintext would show), and how shredded events arrived. */
function notes(snapshotEvery = 0) {
  const calls = { n: 0, shredded: 0 };
  const def = defineProjection({
    name: 'notes',
    version: 1,
    kinds: [Noted],
    snapshotEvery,
    initial: () => ({ texts: [] as string[], lost: 0 }),
    apply: (s: { texts: string[]; lost: number }, e: StoredEvent) => {
      calls.n++;
      if (e.shredded) {
        calls.shredded++;
        expect(e.payload).toBeUndefined();
        return { texts: s.texts, lost: s.lost + 1 };
      }
      return { texts: [...s.texts, (e.payload as { text: string }).text], lost: s.lost };
    },
  });
  return { def, calls };
}

async function open(options: Partial<StoreOptions> = {}) {
  const fs = new SimFs(3);
  const warnings: string[] = [];
  const opts: StoreOptions = { dir: '/s', fs, onWarning: (m) => warnings.push(m), ...options };
  return { fs, opts, warnings, store: await Store.open(opts) };
}

/** Files under /s holding `needle` (as the payload codec writes it: what a state snapshot would contain). */
function filesHolding(fs: SimFs, text: string): string[] {
  const needle = Buffer.from(encodePayload(text));
  return [...fs.snapshot()].filter(([, info]) => Buffer.from(info.current).indexOf(needle) !== -1).map(([path]) => path);
}

const projectionFiles = (fs: SimFs) => fs.listFiles().filter((f) => f.includes(`/${PROJECTIONS_DIR}/`));

describe('INV-PROJECTION-SHRED-SAFE: a shred invalidates cached states and snapshot files', () => {
  it('entity granularity: the entity is rebuilt, apply sees { shredded: true, payload: undefined }; other entities keep theirs', async () => {
    const { fs, store } = await open({ payloadEncryption: { granularity: 'entity' } });
    const { def, calls } = notes(2);
    for (let n = 0; n < 4; n++) await store.append(c('user:alice'), Noted, { text: `ALICE-SECRET-${n}`, n });
    for (let n = 0; n < 4; n++) await store.append(c('user:bob'), Noted, { text: `bob-${n}`, n });
    expect((await store.project(def, 'user:alice')).state.texts).toHaveLength(4);
    await store.project(def, 'user:bob');
    expect(filesHolding(fs, 'ALICE-SECRET-1')).toEqual([`/s/${PROJECTIONS_DIR}/${snapshotFileName('notes', 'user:alice')}`]);

    await store.shredScope({ entity: c('user:alice') });
    expect(filesHolding(fs, 'ALICE-SECRET-1')).toEqual([]);
    expect(projectionFiles(fs)).toEqual([`/s/${PROJECTIONS_DIR}/${snapshotFileName('notes', 'user:bob')}`]);

    calls.n = 0;
    expect(await store.project(def, 'user:alice')).toEqual({ state: { texts: [], lost: 4 }, entitySequence: 4n });
    expect([calls.n, calls.shredded]).toEqual([4, 4]);
    // Bob's cached state survived the shred: nothing to apply.
    calls.n = 0;
    expect((await store.project(def, 'user:bob')).state.texts).toHaveLength(4);
    expect(calls.n).toBe(0);
    await store.close();
  });

  it('a coarser granularity drops every cached state and every snapshot file', async () => {
    const { fs, store } = await open({ payloadEncryption: { granularity: 'type' } });
    const { def, calls } = notes(1);
    await store.append(c('user:alice'), Noted, { text: 'A-SECRET', n: 0 });
    await store.append(c('user:bob'), Noted, { text: 'B-SECRET', n: 0 });
    await store.project(def, 'user:alice');
    await store.project(def, 'user:bob');
    expect(projectionFiles(fs)).toHaveLength(2);
    await store.shredScope({ kind: Noted.kind });
    expect(projectionFiles(fs)).toEqual([]);
    calls.n = 0;
    expect((await store.project(def, 'user:bob')).state).toEqual({ texts: [], lost: 1 });
    expect(calls.n).toBe(1);
    await store.close();
  });

  it('a snapshot file from before a shred (say, restored from a copy) is refused at load', async () => {
    const { fs, store, opts, warnings } = await open({ payloadEncryption: {} });
    const { def } = notes(1);
    await store.append(c('user:alice'), Noted, { text: 'ALICE-OLD', n: 0 });
    await store.project(def, 'user:alice');
    const file = `/s/${PROJECTIONS_DIR}/${snapshotFileName('notes', 'user:alice')}`;
    const before = fs.inspect(file)!.current.slice();
    await store.shredScope({ entity: 'user:alice' });
    await store.close();
    await fs.writeFileAtomic(file, before);
    const again = await Store.open(opts);
    expect((await again.project(notes(100).def, 'user:alice')).state).toEqual({ texts: [], lost: 1 });
    expect(warnings.some((w) => w.includes('shredded since'))).toBe(true);
    await again.close();
  });
});

/** A gate that holds one operation until released, and says when it holds one. */
class Gate {
  armed = false;
  #release: () => void = () => undefined;
  #held: () => void = () => undefined;
  readonly held = new Promise<void>((r) => (this.#held = r));
  readonly #open = new Promise<void>((r) => (this.#release = r));
  /** Called by the gated operation: holds it when armed (once). */
  async pass(): Promise<void> {
    if (!this.armed) return;
    this.armed = false;
    this.#held();
    await this.#open;
  }
  release(): void {
    this.#release();
  }
}

/** SimFs with gates on segment reads (after `skip` more) and on listing the projections directory. */
function gatedFs(sim: SimFs, read: { gate: Gate; skip: number }, list: Gate, write = new Gate()) {
  const wrapFile = (f: object) =>
    new Proxy(f, {
      get: (t, p) => {
        const v = Reflect.get(t, p, t) as unknown;
        if (p === 'readAt' && (t as { path: string }).path.endsWith('.bps')) {
          return async (pos: number, len: number) => {
            if (read.gate.armed && read.skip-- <= 0) await read.gate.pass();
            return (v as (a: number, b: number) => Promise<Uint8Array>).call(t, pos, len);
          };
        }
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
  return new Proxy(sim, {
    get: (t, p) => {
      const v = Reflect.get(t, p, t) as unknown;
      if (p === 'open') return async (path: string, o?: object) => wrapFile(await t.open(path, o));
      if (p === 'writeFileAtomic') {
        return async (path: string, data: Uint8Array) => {
          if (path.includes(`/${PROJECTIONS_DIR}/`)) await write.pass();
          return t.writeFileAtomic(path, data);
        };
      }
      if (p === 'readdir') {
        return async (path: string) => {
          const names = await t.readdir(path);
          // Listed first, held after: a file written meanwhile is not in the list.
          if (path.endsWith(PROJECTIONS_DIR)) await list.pass();
          return names;
        };
      }
      return typeof v === 'function' ? v.bind(t) : v;
    },
  }) as unknown as SimFs;
}

describe('INV-PROJECTION-SHRED-SAFE: a fold that straddles a shred', () => {
  async function straddle(pauseShredAfterListing: boolean) {
    const sim = new SimFs(4);
    const read = { gate: new Gate(), skip: 1 };
    const list = new Gate();
    const store = await Store.open({ dir: '/s', fs: gatedFs(sim, read, list), payloadEncryption: {} });
    const { def } = notes(1);
    await store.append(c('user:bob'), Noted, { text: 'bob', n: 0 });
    await store.project(def, 'user:bob'); // the projections directory exists
    for (let n = 0; n < 10; n++) await store.append(c('user:alice'), Noted, { text: `STRADDLE-${n}`, n });
    // The fold decrypts the first run of read-ahead, then waits on its second read.
    read.gate.armed = true;
    const fold = store.project(def, 'user:alice');
    await read.gate.held;
    let shred: Promise<unknown>;
    if (pauseShredAfterListing) {
      // The shred lists the snapshot files, then waits (its key not yet destroyed); the fold finishes meanwhile.
      list.armed = true;
      shred = store.shredScope({ entity: 'user:alice' });
      await list.held;
      read.gate.release();
      await fold;
      list.release();
      await shred;
    } else {
      // The whole shred runs while the fold waits; the fold then ends over plaintext it read before.
      await store.shredScope({ entity: 'user:alice' });
      read.gate.release();
      await fold;
    }
    expect(filesHolding(sim, 'STRADDLE-0')).toEqual([]);
    expect((await store.project(def, 'user:alice')).state).toEqual({ texts: [], lost: 10 });
    await store.close();
  }

  it('a shred waits for a snapshot write in flight, then removes it', async () => {
    const sim = new SimFs(5);
    const write = new Gate();
    const store = await Store.open({ dir: '/s', fs: gatedFs(sim, { gate: new Gate(), skip: 0 }, new Gate(), write), payloadEncryption: {} });
    const { def } = notes(1);
    await store.append(c('user:alice'), Noted, { text: 'IN-FLIGHT', n: 0 });
    write.armed = true;
    const fold = store.project(def, 'user:alice');
    await write.held;
    let shredDone = false;
    const shred = store.shredScope({ entity: 'user:alice' }).then(() => (shredDone = true));
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(shredDone).toBe(false);
    write.release();
    await Promise.all([fold, shred]);
    expect(filesHolding(sim, 'IN-FLIGHT')).toEqual([]);
    await store.close();
  });

  it('a fold that ends after the shred is neither cached nor snapshotted', () => straddle(false));
  it('a fold that ends while the shred runs writes no snapshot', () => straddle(true));
});

describe('INV-PROJECTION-COMPACTION-INVALIDATES: compaction drops what it touched', () => {
  async function filled(strategy: 'retention' | 'tombstone') {
    const env = await open({ segmentMaxBytes: 600 });
    const { def, calls } = notes(5);
    for (let n = 0; n < 30; n++) await env.store.append(c(n % 2 === 0 ? 'even' : 'odd'), Noted, { text: `DROP-${n}`, n });
    expect((await env.store.project(def, 'even')).state.texts).toHaveLength(15);
    await env.store.project(def, 'odd');
    const dropEven = (e: StoredEvent) => e.coordinate.entity === 'even' && (e.payload as { n: number }).n < 10;
    const result =
      strategy === 'retention' ? await env.store.compact({ strategy, keep: (e) => !dropEven(e) }) : await env.store.compact({ strategy, drop: dropEven });
    expect(result.outcome).toBe('performed');
    return { ...env, def, calls };
  }

  for (const strategy of ['retention', 'tombstone'] as const) {
    it(`${strategy}: the touched entity is rebuilt without the dropped events; the other keeps its cache`, async () => {
      const { fs, store, def, calls } = await filled(strategy);
      expect(filesHolding(fs, 'DROP-0')).toEqual([]);
      expect(projectionFiles(fs)).toEqual([`/s/${PROJECTIONS_DIR}/${snapshotFileName('notes', 'odd')}`]);
      calls.n = 0;
      const even = await store.project(def, 'even');
      expect(even.state.texts).toEqual(['DROP-10', 'DROP-12', 'DROP-14', 'DROP-16', 'DROP-18', 'DROP-20', 'DROP-22', 'DROP-24', 'DROP-26', 'DROP-28']);
      expect(calls.n).toBe(10);
      calls.n = 0;
      expect((await store.project(def, 'odd')).state.texts).toHaveLength(15);
      expect(calls.n).toBe(0);
      await store.close();
    });
  }

  it('merge touches nothing: caches stay', async () => {
    const { store } = await open({ segmentMaxBytes: 600 });
    const { def, calls } = notes();
    for (let n = 0; n < 30; n++) await store.append(c('e'), Noted, { text: `t-${n}`, n });
    await store.project(def, 'e');
    expect((await store.compact({ strategy: 'merge' })).outcome).toBe('performed');
    calls.n = 0;
    expect((await store.project(def, 'e')).state.texts).toHaveLength(30);
    expect(calls.n).toBe(0);
    await store.close();
  });
});

describe('INV-PROJECTION-DAMAGE-TYPED: a damaged frame fails the projection, never a wrong state', () => {
  it('a cold fold over a corrupt frame is ERR_CORRUPT_SEGMENT, every time', async () => {
    const { fs, store } = await open();
    const { def } = notes();
    for (let n = 0; n < 5; n++) await store.append(c('e'), Noted, { text: `MARK-${n}-MARK`, n });
    const seg = fs.listFiles().find((f) => f.endsWith('.bps'))!;
    const at = Buffer.from(fs.inspect(seg)!.current).indexOf(Buffer.from('MARK-2-MARK'));
    fs.corrupt(seg, at, 0x20);
    for (let i = 0; i < 2; i++) {
      const err = await store.project(def, 'e').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BatpakError);
      expect((err as BatpakError).code).toBe('ERR_CORRUPT_SEGMENT');
    }
    await store.close();
  });
});

describe('INV-PROJECTION-WATCH-ENDS: watchProjection', () => {
  it('yields the state now and after each change, and ends on abort', async () => {
    const { store } = await open();
    const { def } = notes();
    await store.append(c('e'), Noted, { text: 'a', n: 0 });
    const ac = new AbortController();
    const seen: string[][] = [];
    const done = (async () => {
      for await (const r of store.watchProjection(def, 'e', { signal: ac.signal })) {
        seen.push(r.state.texts);
        if (seen.length === 1) await store.append(c('e'), Noted, { text: 'b', n: 1 });
        if (seen.length === 2) {
          await store.append(c('other'), Noted, { text: 'x', n: 0 });
          await store.append(c('e'), Noted, { text: 'c', n: 2 });
        }
        if (seen.length === 3) ac.abort();
      }
    })();
    await done;
    expect(seen).toEqual([['a'], ['a', 'b'], ['a', 'b', 'c']]);
    await store.close();
  });

  it('ends cleanly when the store closes while it waits, and re-yields after a shred', async () => {
    const { store } = await open({ payloadEncryption: {} });
    const { def } = notes();
    await store.append(c('e'), Noted, { text: 'a', n: 0 });
    const seen: unknown[] = [];
    const it = store.watchProjection(def, 'e')[Symbol.asyncIterator]();
    seen.push((await it.next()).value.state);
    const next = it.next();
    await store.shredScope({ entity: 'e' });
    seen.push((await next).value.state);
    const last = it.next();
    await store.close();
    expect(await last).toEqual({ done: true, value: undefined });
    expect(seen).toEqual([{ texts: ['a'], lost: 0 }, { texts: [], lost: 1 }]);
  });

  it('an aborted signal yields nothing; bad arguments throw at once', async () => {
    const { store } = await open();
    const ac = new AbortController();
    ac.abort();
    const got: unknown[] = [];
    for await (const r of store.watchProjection(notes().def, 'e', { signal: ac.signal })) got.push(r);
    expect(got).toEqual([]);
    expect(() => store.watchProjection(notes().def, 7 as never)).toThrow(BatpakError);
    await store.close();
  });
});
