// A commit-order query that starts inside a sealed segment walks that segment from the commit group of its first
// event, not from the segment's first frame (SealedTier's scan start), and answers exactly as a scan from the top
// would (INV-TIERED-INDEX-SAME) — from every start, over batches, signed groups and a compacted segment; the index
// file only names where to start and that frame is checked (INV-DERIVED-NOT-AUTHORITY); damage after the start
// fails the query at the damaged event.
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store, type StoreOptions } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import type { Fs, FsFile } from '../src/fs/fs.js';
import { watched } from './helpers/watched-fs.js';

const Note = defineEvent<{ n: number; text: string }>({ category: 2, typeId: 5, name: 'ScanStartNote' });
const coord = (n: number) => new Coordinate(`e${n % 7}`, 's');
const KEY = new Uint8Array(32).fill(9);

type Shape = { readonly batches: boolean; readonly signed: boolean };

/** A closed store of `count` events over many small segments (each sealed one served from its index file). */
async function filled(shape: Shape, count = 120) {
  const sim = new SimFs(17);
  const base: StoreOptions = { dir: '/db', fs: sim, segmentMaxBytes: 4 * 1024, ...(shape.signed ? { signingKey: KEY } : {}) };
  const s = await Store.open(base);
  const item = (n: number) => ({ coord: coord(n), kind: Note, payload: { n, text: `note-${n}` } });
  for (let n = 0; n < count; ) {
    if (shape.batches && n % 3 !== 2) {
      // A batch of 5: a scan may start at any member.
      await s.appendBatch(Array.from({ length: 5 }, (_, j) => item(n + j)));
      n += 5;
    } else if (shape.signed) {
      // Appends in flight together: one signed commit group of events outside any batch.
      await Promise.all([0, 1, 2].map((j) => s.append(item(n + j).coord, Note, item(n + j).payload)));
      n += 3;
    } else {
      await s.append(item(n).coord, Note, item(n).payload);
      n++;
    }
  }
  await s.close();
  return { sim, base };
}

async function all(s: Store, filter: Parameters<Store['query']>[0] = {}) {
  const out: { id: string; n: number }[] = [];
  for await (const e of s.query(filter)) out.push({ id: e.header.eventId, n: (e.payload as { n: number }).n });
  return out;
}

/** The segment file whose frames hold event `n`, found by its payload text. */
function segmentOf(sim: SimFs, n: number): string {
  const text = Buffer.from(`note-${n}`);
  for (const f of sim.listFiles().filter((p) => p.endsWith('.bps'))) {
    const bytes = Buffer.from(sim.inspect(f)!.current);
    // The text is followed by a byte that is not a digit, or ends the file (so note-1 does not match note-12).
    for (let at = bytes.indexOf(text); at !== -1; at = bytes.indexOf(text, at + 1)) {
      const next = bytes[at + text.length];
      if (next === undefined || next < 0x30 || next > 0x39) return f;
    }
  }
  throw new Error(`event ${n} not found`);
}

describe('a commit-order query from inside a sealed segment', () => {
  it.each([
    ['single events', { batches: false, signed: false }],
    ['batches', { batches: true, signed: false }],
    ['signed groups', { batches: true, signed: true }],
  ] as const)('INV-TIERED-INDEX-SAME (%s): from every start, the events a scan from the top gives', async (_, shape) => {
    const { base } = await filled(shape);
    const s = await Store.open(base);
    expect(s.stats().index?.sealedSegments).toBeGreaterThan(3);
    const every = await all(s);
    expect(every.map((e) => e.n)).toEqual(every.map((_, i) => i));
    for (let after = 0; after <= every.length; after++) {
      expect(await all(s, { after: BigInt(after), limit: 6 }), `after ${after}`).toEqual(every.slice(after, after + 6));
    }
    await s.close();
  }, 60_000);

  it('INV-TIERED-INDEX-SAME: after a compaction (a compacted segment), from every start', async () => {
    const { base } = await filled({ batches: true, signed: false });
    const w = await Store.open(base);
    await w.compact({ strategy: 'retention', keep: (ev) => (ev.payload as { n: number }).n % 3 !== 0 });
    await w.close();
    const s = await Store.open(base);
    const every = await all(s);
    expect(every.map((e) => e.n)).toEqual(Array.from({ length: 120 }, (_, i) => i).filter((n) => n % 3 !== 0));
    for (const e of every) {
      const g = Number((await s.get(e.id)).header.globalSequence);
      expect(await all(s, { after: BigInt(g - 1), limit: 4 }), `after ${g - 1}`).toEqual(every.slice(every.indexOf(e), every.indexOf(e) + 4));
    }
    await s.close();
  }, 60_000);

  it('reads the segment from the start of its first event, not from the segment start', async () => {
    const { sim, base } = await filled({ batches: false, signed: false });
    const reads: { path: string; bytes: number }[] = [];
    const s = await Store.open({ ...base, fs: watched(sim, (path, _p, n) => path.endsWith('.bps') && reads.push({ path, bytes: n })) });
    // A sealed segment (not the last) and its events.
    const segments = sim.listFiles().filter((p) => p.endsWith('.bps')).sort();
    const target = segments[1]!;
    const inTarget = Array.from({ length: 120 }, (_, n) => n).filter((n) => segmentOf(sim, n) === target);
    expect(inTarget.length).toBeGreaterThan(6);
    const readOf = async (after: number) => {
      reads.length = 0;
      expect((await all(s, { after: BigInt(after), limit: 1 })).map((e) => e.n)).toEqual([after]);
      return reads.filter((r) => r.path === target).reduce((sum, r) => sum + r.bytes, 0);
    };
    // From its second event the walk reads nearly all of the segment; from its last, little of it.
    const early = await readOf(inTarget[1]!);
    const late = await readOf(inTarget[inTarget.length - 1]!);
    expect(late).toBeLessThan(early / 4);
    await s.close();
  }, 60_000);

  it('an index file that cannot be read costs the scan its shortcut, never its answer', async () => {
    const { sim, base } = await filled({ batches: true, signed: false });
    let failIndexReads = false;
    const fs = new Proxy(sim, {
      get(target, prop, receiver) {
        if (prop === 'open') {
          return async (path: string, options?: Parameters<Fs['open']>[1]): Promise<FsFile> => {
            const f = await target.open(path, options);
            return new Proxy(f, {
              get(ft, fp, fr) {
                if ((fp === 'readAt' || fp === 'readInto') && path.endsWith('.bpi')) {
                  return async (...args: unknown[]) => {
                    if (failIndexReads) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
                    return (Reflect.get(ft, fp, fr) as (...a: unknown[]) => unknown).apply(ft, args);
                  };
                }
                const v = Reflect.get(ft, fp, fr) as unknown;
                return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(ft) : v;
              },
            });
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Fs;
    // No block cache: every lookup reads the file.
    const s = await Store.open({ ...base, fs, indexCacheBytes: 0 });
    failIndexReads = true;
    const every = Array.from({ length: 120 }, (_, n) => n);
    for (const after of [7, 33, 61, 88]) expect((await all(s, { after: BigInt(after), limit: 5 })).map((e) => e.n)).toEqual(every.slice(after, after + 5));
    failIndexReads = false;
    await s.close();
  }, 60_000);

  it('damage after the start fails the query at the damaged event, after the events before it', async () => {
    const { sim, base } = await filled({ batches: false, signed: false });
    const segments = sim.listFiles().filter((p) => p.endsWith('.bps')).sort();
    const target = segments[1]!;
    const inTarget = Array.from({ length: 120 }, (_, n) => n).filter((n) => segmentOf(sim, n) === target);
    const start = inTarget[2]!;
    const victim = inTarget[inTarget.length - 2]!;
    const at = Buffer.from(sim.inspect(target)!.current).indexOf(`note-${victim}`);
    const s = await Store.open(base);
    sim.corrupt(target, at, 0x20);
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const e of s.query({ after: BigInt(start) })) seen.push((e.payload as { n: number }).n);
      })(),
    ).rejects.toMatchObject({ code: 'ERR_CORRUPT_SEGMENT' });
    expect(seen).toEqual(Array.from({ length: victim - start }, (_, i) => start + i));
    await s.close();
  }, 60_000);
});
