// The cold-start checkpoint (INV-CRASH-ORACLE: the scan is always the fallback): opening from it
// gives exactly the state a full scan gives, and anything that does not match falls back to the scan.
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store, type StoreOptions } from '../src/index.js';
import { KillableFs, SimFs } from '../src/entry/testing.js';

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
