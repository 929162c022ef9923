// The cold-start checkpoint (INV-CRASH-ORACLE: the scan is always the fallback): opening from it
// gives exactly the state a full scan gives, and anything that does not match falls back to the scan.
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store, type StoreOptions } from '../src/index.js';
import { KillableFs, SimFs } from '../src/entry/testing.js';
import { CHECKPOINT_READ_BYTES, decodeCheckpoint } from '../src/event-index/checkpoint.js';

const E = defineEvent<{ n: number }>({ category: 1, typeId: 1 });
const c = (i: number) => new Coordinate(`e${i}`, 's');

async function snapshot(s: Store) {
  const events = [];
  for await (const e of s.query()) events.push({ h: e.header, c: e.coordinate.toString(), p: e.payload, r: await s.receipt(e.header.eventId) });
  // `commits` measures this process's writes (a read-only store has none), not what the store holds.
  const { commits: _commits, ...stats } = s.stats();
  return { events, stats, last: s.lastSequence };
}

async function build(opts: Partial<StoreOptions> = {}) {
  const fs = new SimFs(7);
  const base: StoreOptions = { dir: '/s', fs, segmentMaxBytes: 500, signingKey: new Uint8Array(32).fill(2), payloadEncryption: {}, ...opts };
  const s = await Store.open(base);
  for (let i = 0; i < 30; i++) await s.append(c(i % 4), E, { n: i });
  await s.appendBatch([0, 1, 2].map((n) => ({ coord: c(n), kind: E, payload: { n: 100 + n } })));
  await s.shredScope({ entity: 'e3' });
  await s.close();
  return { fs, base };
}

describe('cold-start checkpoint', () => {
  it('INV-CRASH-ORACLE: opening from the checkpoint gives exactly what a full scan gives', async () => {
    const { fs, base } = await build();
    expect(fs.listFiles()).toContain('/s/index.checkpoint');
    const warnings: string[] = [];
    const fromCheckpoint = await Store.open({ ...base, onWarning: (w) => warnings.push(w) });
    const a = await snapshot(fromCheckpoint);
    await fromCheckpoint.close();
    expect(warnings.filter((w) => w.includes('checkpoint'))).toEqual([]);
    const scanned = await Store.open({ ...base, checkpoint: 'off' });
    const b = await snapshot(scanned);
    expect(a).toEqual(b);
    expect((await scanned.verifyChain()).intact).toBe(true);
    await scanned.close();
  });

  it('events appended after the checkpoint (and a crash) are recovered from the tail', async () => {
    const { fs, base } = await build();
    const proc = new KillableFs(fs);
    const s = await Store.open({ ...base, fs: proc });
    const more = [];
    for (let i = 0; i < 20; i++) more.push(await s.append(c(i % 5), E, { n: 500 + i }));
    proc.kill();
    fs.crash({ tear: true });
    const again = await Store.open({ ...base, fs: new KillableFs(fs) });
    for (const r of more) expect((await again.get(r.eventId)).payload).toEqual({ n: 500 + more.indexOf(r) });
    expect((await again.verifyChain()).intact).toBe(true);
    const scanned = await Store.open({ ...base, fs: new KillableFs(fs), readOnly: true, checkpoint: 'off' });
    expect(await snapshot(again)).toEqual(await snapshot(scanned));
    await scanned.close();
    await again.close();
  });

  it('a changed byte, a damaged checkpoint, or a compaction since falls back to the full scan', async () => {
    const { fs, base } = await build();
    const warnings: string[] = [];
    // Damaged checkpoint: a warning, then a normal open.
    const good = fs.inspect('/s/index.checkpoint')!.current;
    const bad = new Uint8Array(good);
    bad[bad.length - 5]! ^= 1;
    fs.putFile('/s/index.checkpoint', bad);
    const s1 = await Store.open({ ...base, onWarning: (w) => warnings.push(w) });
    expect(warnings.some((w) => w.includes('checkpoint not used (damaged'))).toBe(true);
    expect(s1.stats().events).toBe(34n);
    await s1.compact({ strategy: 'merge' });
    await s1.close();
    // The close after the compaction wrote a fresh checkpoint; a stale one (from before) is refused.
    fs.putFile('/s/index.checkpoint', good);
    warnings.length = 0;
    const s2 = await Store.open({ ...base, onWarning: (w) => warnings.push(w) });
    expect(warnings.some((w) => w.includes('checkpoint not used'))).toBe(true);
    expect(s2.stats().events).toBe(34n);
    await s2.close();
    // A flipped byte in an indexed frame: the checkpoint is not used, and the scan reports the damage.
    const seg = fs.listFiles().filter((f) => f.endsWith('.bps')).sort()[0]!;
    fs.corrupt(seg, 100, 0x40);
    await expect(Store.open(base)).rejects.toMatchObject({ code: 'ERR_CORRUPT_SEGMENT' });
  });

  it('INV-INDEX-RESIDENT-COMPACT: open reads a checkpoint of several MiB a bounded window at a time, and close compares it so too', async () => {
    const fs = new SimFs(11);
    const base: StoreOptions = { dir: '/big', fs };
    const s = await Store.open(base);
    for (let b = 0; b < 16; b++) await s.appendBatch(Array.from({ length: 1000 }, (_, i) => ({ coord: c(i % 50), kind: E, payload: { n: i } })));
    await s.close();
    const size = fs.inspect('/big/index.checkpoint')!.current.length;
    expect(size).toBeGreaterThan(2 * CHECKPOINT_READ_BYTES);
    // Every read of the checkpoint file, by length (the peak extra memory of reading it).
    const reads: number[] = [];
    const counting = new Proxy(fs, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop === 'open') {
          return async (path: string, o?: Parameters<SimFs['open']>[1]) => {
            const f = await target.open(path, o);
            if (!path.endsWith('index.checkpoint')) return f;
            return new Proxy(f, {
              get(ft, fp, fr) {
                const fv = Reflect.get(ft, fp, fr) as unknown;
                if (fp === 'readAt') {
                  return (pos: number, length: number) => {
                    reads.push(length);
                    return ft.readAt(pos, length);
                  };
                }
                return typeof fv === 'function' ? (fv as (...a: unknown[]) => unknown).bind(ft) : fv;
              },
            });
          };
        }
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const warnings: string[] = [];
    const again = await Store.open({ ...base, fs: counting, onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([]);
    expect(again.stats().events).toBe(16_000n);
    // The whole image in windows of at most CHECKPOINT_READ_BYTES (never the whole file at once); a record cut by a
    // window's end is read again with the next window.
    const total = reads.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(size);
    expect(total).toBeLessThan(size + reads.length * 164);
    expect(Math.max(...reads)).toBeLessThanOrEqual(CHECKPOINT_READ_BYTES);
    reads.length = 0;
    // Unchanged: the close compares the image it would write with the file, in windows too, and writes nothing.
    await again.close();
    expect(reads.reduce((a, b) => a + b, 0)).toBe(size);
    expect(Math.max(...reads)).toBeLessThanOrEqual(CHECKPOINT_READ_BYTES);
    expect(fs.inspect('/big/index.checkpoint')!.current.length).toBe(size);
  });

  it('after a checkpoint, recovery reads the active segment\'s tail only (not the whole segment again) and reports file offsets', async () => {
    const fs = new SimFs(12);
    const base: StoreOptions = { dir: '/tail', fs };
    const s = await Store.open(base);
    for (let b = 0; b < 4; b++) await s.appendBatch(Array.from({ length: 500 }, (_, i) => ({ coord: c(i % 20), kind: E, payload: { n: i } })));
    await s.close();
    const watermark = decodeCheckpoint(fs.inspect('/tail/index.checkpoint')!.current)!.segments.at(-1)!.committedEnd;
    // Appended after the checkpoint, then the process dies (no new checkpoint): the tail recovery must find them.
    const proc = new KillableFs(fs);
    const more = await Store.open({ ...base, fs: proc });
    const tail = [];
    for (let i = 0; i < 40; i++) tail.push(await more.append(c(i % 3), E, { n: 1000 + i }));
    proc.kill();
    const seg = fs.listFiles().filter((f) => f.endsWith('.bps')).sort().at(-1)!;
    const size = fs.inspect(seg)!.current.length;
    expect(size).toBeGreaterThan(watermark + 1000);
    let segmentBytes = 0;
    const counting = new Proxy(fs, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop === 'open') {
          return async (path: string, o?: Parameters<SimFs['open']>[1]) => {
            const f = await target.open(path, o);
            if (path !== seg) return f;
            return new Proxy(f, {
              get(ft, fp, fr) {
                const fv = Reflect.get(ft, fp, fr) as unknown;
                if (fp === 'readAt') {
                  return (pos: number, length: number) => {
                    segmentBytes += length;
                    return ft.readAt(pos, length);
                  };
                }
                return typeof fv === 'function' ? (fv as (...a: unknown[]) => unknown).bind(ft) : fv;
              },
            });
          };
        }
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const warnings: string[] = [];
    const again = await Store.open({ ...base, fs: new KillableFs(counting), onWarning: (w) => warnings.push(w) });
    const readByOpen = segmentBytes;
    expect(warnings).toEqual([]);
    expect(again.stats().events).toBe(2040n);
    for (const [i, r] of tail.entries()) expect((await again.get(r.eventId)).payload).toEqual({ n: 1000 + i });
    // The checkpoint's walk reads the segment once; recovery adds its header and the bytes after the watermark.
    expect(readByOpen).toBeLessThanOrEqual(size + 32 + (size - watermark));
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
    // A damaged frame in the tail is reported at its offset in the file, as a whole-segment scan reports it.
    const bad = new SimFs(13);
    for (const f of fs.listFiles()) bad.putFile(f, fs.inspect(f)!.current);
    bad.corrupt(seg, fs.inspect(seg)!.current.length - 300, 0x40);
    const scanned = await Store.open({ ...base, fs: bad, checkpoint: 'off' }).catch((e: unknown) => e);
    const fromTail = await Store.open({ ...base, fs: bad }).catch((e: unknown) => e);
    expect(scanned).toMatchObject({ code: 'ERR_CORRUPT_SEGMENT' });
    expect(fromTail).toMatchObject({ code: 'ERR_CORRUPT_SEGMENT', details: (scanned as { details: unknown }).details });
  });

  it("checkpoint: 'off' neither writes nor reads it", async () => {
    const { fs, base } = await build({ checkpoint: 'off' });
    expect(fs.listFiles()).not.toContain('/s/index.checkpoint');
    const s = await Store.open(base);
    await s.close();
  });

  it('an open and close with no change leaves the checkpoint unwritten; a change rewrites it', async () => {
    const { fs, base } = await build();
    const writes: string[] = [];
    const counting = new Proxy(fs, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop === 'writeFileAtomic') {
          return (path: string, data: Uint8Array) => {
            writes.push(path);
            return target.writeFileAtomic(path, data);
          };
        }
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const idle = await Store.open({ ...base, fs: counting });
    await idle.close();
    expect(writes.filter((p) => p.endsWith('index.checkpoint'))).toEqual([]);
    const busy = await Store.open({ ...base, fs: counting });
    await busy.append(c(9), E, { n: 9 });
    await busy.close();
    expect(writes.filter((p) => p.endsWith('index.checkpoint'))).toEqual(['/s/index.checkpoint']);
    const again = await Store.open({ ...base, checkpoint: 'off' });
    expect(again.lastSequence).toBe(busy.lastSequence);
    await again.close();
  });

  it('entries opened from the checkpoint survive a tombstone compaction whole (every header field, reads, chain)', async () => {
    const { fs, base } = await build();
    const s = await Store.open(base);
    const before = new Map<string, unknown>();
    const readable: string[] = [];
    for await (const e of s.query()) {
      before.set(e.header.eventId, e.header);
      // Shredded events (e3) are kept by compaction: it cannot read them.
      if (!e.shredded && e.coordinate.entity !== 'e3') readable.push(e.header.eventId);
    }
    const victims = readable.slice(2, 5);
    const r = await s.compact({ strategy: 'tombstone', drop: (e) => victims.includes(e.header.eventId) });
    expect(r.outcome).toBe('performed');
    for await (const e of s.query()) {
      const old = before.get(e.header.eventId) as Record<string, unknown>;
      if (victims.includes(e.header.eventId)) expect({ ...e.header, tombstone: false }).toEqual({ ...old, tombstone: false });
      else expect(e.header).toEqual(old);
      expect(e.header.tombstone).toBe(victims.includes(e.header.eventId));
    }
    expect((await s.verifyChain()).intact).toBe(true);
    await s.close();
    const again = await Store.open({ ...base, fs, checkpoint: 'off' });
    expect((await again.verifyChain()).intact).toBe(true);
    expect((await again.getRaw(victims[0]!)).header.tombstone).toBe(true);
    await again.close();
  });
});
