// query() reads frames ahead in runs (INV-READ-NOT-TRUSTING, INV-KEY-AWARE-READS): every frame is still
// CRC-checked when it is yielded, damage surfaces at the damaged event and not before, a failed run read
// falls back to one read per event, and a shred or a compaction after the read ahead is respected.
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store, type StoreOptions } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { watched } from './helpers/watched-fs.js';

const Note = defineEvent<{ n: number; text: string }>({ category: 2, typeId: 4, name: 'ReadAheadNote' });
const coord = (n: number) => new Coordinate(`e${n % 5}`, 's');

/**
 * A store whose events all lie in its active segment: the read-ahead policy is the query's over the resident
 * index. (Over a sealed segment served from its index file, the index's scan reads the segment itself first:
 * test/tiered-open.test.ts covers damage there.)
 */
async function filled(opts: Partial<StoreOptions> = {}, count = 300) {
  const sim = new SimFs(11);
  const base: StoreOptions = { dir: '/db', fs: sim, segmentMaxBytes: 1024 * 1024, ...opts };
  const s = await Store.open(base);
  const ids: string[] = [];
  for (let n = 0; n < count; n += 10) {
    const rs = await s.appendBatch(Array.from({ length: 10 }, (_, k) => ({ coord: coord(n + k), kind: Note, payload: { n: n + k, text: `note-${n + k}` } })));
    ids.push(...rs.map((r) => r.eventId));
  }
  await s.close();
  return { sim, base, ids };
}

async function all(s: Store, filter: Parameters<Store['query']>[0] = {}) {
  const out: { id: string; n: number | undefined; shredded: boolean }[] = [];
  for await (const e of s.query(filter)) out.push({ id: e.header.eventId, n: (e.payload as { n: number } | undefined)?.n, shredded: e.shredded });
  return out;
}

describe('query read-ahead', () => {
  it('a scan reads runs of frames (far fewer reads than events) and yields exactly what get() gives', async () => {
    const { sim, base, ids } = await filled();
    let reads = 0;
    const s = await Store.open({ ...base, fs: watched(sim, (p) => p.endsWith('.bps') && reads++) });
    reads = 0;
    const got = await all(s);
    expect(got.map((g) => g.id)).toEqual(ids);
    expect(got.map((g) => g.n)).toEqual(ids.map((_, i) => i));
    expect(reads).toBeLessThan(ids.length / 4);
    const entity = await all(s, { entity: 'e3' });
    expect(entity.map((g) => g.n)).toEqual(ids.map((_, i) => i).filter((i) => i % 5 === 3));
    for (const g of entity.slice(0, 5)) expect(((await s.get(g.id)).payload as { n: number }).n).toBe(g.n);
    await s.close();
  });

  it('over sealed segments served from their index files, a scan, an entity query and a get read each frame once', async () => {
    // Small segments: most events lie in sealed segments, whose index answers are built from frames it reads and checks.
    const { sim, base, ids } = await filled({ segmentMaxBytes: 4 * 1024 });
    let reads: { path: string; from: number; to: number }[] = [];
    const s = await Store.open({ ...base, fs: watched(sim, (path, pos, n) => path.endsWith('.bps') && reads.push({ path, from: pos, to: pos + n })) });
    expect(s.stats().segments).toBeGreaterThan(4);
    /** Bytes of a segment read more than once since the last call. */
    const twice = () => {
      let overlap = 0;
      const byPath = new Map<string, { from: number; to: number }[]>();
      for (const r of reads) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r]);
      for (const list of byPath.values()) {
        list.sort((a, b) => a.from - b.from);
        for (let i = 1; i < list.length; i++) overlap += Math.max(0, Math.min(list[i - 1]!.to, list[i]!.to) - list[i]!.from);
      }
      reads = [];
      return overlap;
    };
    twice();
    // The scan's walk of a sealed segment hands the reader each frame's checked payload: not read a second time.
    expect((await all(s)).map((g) => g.n)).toEqual(ids.map((_, i) => i));
    expect(twice()).toBe(0);
    const entity = await all(s, { entity: 'e3' });
    expect(entity.map((g) => g.n)).toEqual(ids.map((_, i) => i).filter((i) => i % 5 === 3));
    expect(twice()).toBe(0);
    for (const [n, id] of ids.entries()) {
      if (n % 37 !== 0) continue;
      expect(((await s.get(id)).payload as { n: number }).n).toBe(n);
      expect(twice(), `get of event ${n}`).toBe(0);
    }
    await s.close();
  });

  it('limit: 1 reads one frame, not a run', async () => {
    const { sim, base } = await filled();
    const sizes: number[] = [];
    const s = await Store.open({ ...base, fs: watched(sim, (p, _pos, n) => p.endsWith('.bps') && sizes.push(n)) });
    sizes.length = 0;
    expect(await all(s, { limit: 1 })).toHaveLength(1);
    expect(sizes).toHaveLength(1);
    expect(sizes[0]!).toBeLessThan(200);
    await s.close();
  });

  it('a damaged frame fails the scan at that event, after every event before it was yielded', async () => {
    const { sim, base, ids } = await filled();
    const s = await Store.open(base);
    const victim = 137;
    const loc = await (async () => {
      // The damaged event's frame: find its payload text on "disk".
      for (const f of sim.listFiles().filter((p) => p.endsWith('.bps'))) {
        const at = Buffer.from(sim.inspect(f)!.current).indexOf(`note-${victim}`);
        if (at !== -1) return { f, at };
      }
      throw new Error('payload not found');
    })();
    sim.corrupt(loc.f, loc.at, 0x20);
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const e of s.query()) seen.push((e.payload as { n: number }).n);
      })(),
    ).rejects.toMatchObject({ code: 'ERR_CORRUPT_SEGMENT' });
    expect(seen).toEqual(ids.slice(0, victim).map((_, i) => i));
    await s.close();
  });

  it('a run read that fails is retried one event at a time: the scan still yields everything', async () => {
    const { sim, base, ids } = await filled();
    let failNext = false;
    let failures = 0;
    let armed = false;
    const fs = watched(sim, (p, _pos, n) => {
      // Once open, fail every other multi-frame run read.
      if (armed && p.endsWith('.bps') && n > 200) {
        failNext = !failNext;
        if (failNext && ++failures > 0) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
      }
    });
    const s = await Store.open({ ...base, fs, checkpoint: 'off' });
    armed = true;
    expect((await all(s)).map((g) => g.n)).toEqual(ids.map((_, i) => i));
    expect(failures).toBeGreaterThan(0);
    await s.close();
  });

  it('a shred after the read ahead is respected: later events of the scope come back shredded', async () => {
    const { base, ids } = await filled({ payloadEncryption: {} });
    const s = await Store.open(base);
    const got: { n: number | undefined; shredded: boolean; entity: string }[] = [];
    let shredded = false;
    for await (const e of s.query()) {
      got.push({ n: (e.payload as { n: number } | undefined)?.n, shredded: e.shredded, entity: e.coordinate.entity });
      if (!shredded) {
        // The first event was yielded, so the frames after it were already read ahead.
        expect((await s.shredScope({ entity: 'e2' })).status).toBe('destroyed');
        shredded = true;
      }
    }
    // The live scan also reaches the shred's own record, appended after it started.
    expect(got.length).toBe(ids.length + 1);
    for (const [i, g] of got.slice(0, ids.length).entries()) {
      if (i > 0 && g.entity === 'e2') expect(g).toMatchObject({ n: undefined, shredded: true });
      else expect(g).toMatchObject({ n: i, shredded: false });
    }
    await s.close();
  });

  it('a compaction between the read ahead and the yield: dropped events are skipped, survivors read where they are now', async () => {
    // Small segments: the sealed ones (served from their index files) are what compaction rewrites.
    const { base, ids } = await filled({ segmentMaxBytes: 16 * 1024 });
    const s = await Store.open(base);
    const got: number[] = [];
    let compacted = false;
    for await (const e of s.query()) {
      got.push((e.payload as { n: number }).n);
      if (!compacted) {
        compacted = true;
        // Keep even n only; the retained frames move into new segments.
        const r = await s.compact({ strategy: 'retention', keep: (ev) => (ev.payload as { n: number }).n % 2 === 0 });
        expect(r.eventsDropped).toBeGreaterThan(0);
      }
    }
    // Event 0 came before the compaction; after it, exactly the survivors, in order, as a fresh scan reads them.
    expect(got[0]).toBe(0);
    const fresh = (await all(s)).map((g) => g.n);
    expect(fresh.length).toBeLessThan(ids.length);
    expect(got.slice(1)).toEqual(fresh.slice(1));
    await s.close();
  });
});
