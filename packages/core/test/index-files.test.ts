// Index files beside sealed segments (FORMAT.md § Segment index files): written when a segment seals,
// off the commit path; checked at every writable open and after a compaction; a missing, torn, stale or
// damaged one is rebuilt from its segment with a warning (INV-INDEX-FILE-REBUILT).
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store, type StoreOptions, type WarningCode } from '../src/index.js';
import { KillableFs, SimFs } from '../src/entry/testing.js';
import { BlockCache } from '../src/event-index/block-cache.js';
import { SegmentIndexFile } from '../src/event-index/segment-index-file.js';
import { entityKey } from '../src/event-index/segment-index-format.js';
import { indexFileName, readBinding } from '../src/event-index/segment-index-write.js';
import { fromHex } from '../src/encoding/hex.js';
import type { Fs } from '../src/fs/fs.js';

const E = defineEvent<{ n: number }>({ category: 1, typeId: 1 });
const c = (i: number) => new Coordinate(`e${i}`, 's');

function collect() {
  const warnings: { message: string; code: WarningCode }[] = [];
  return { warnings, onWarning: (message: string, code: WarningCode) => warnings.push({ message, code }) };
}

async function build(fs: Fs, opts: Partial<StoreOptions> = {}) {
  const s = await Store.open({ dir: '/s', fs, segmentMaxBytes: 600, ...opts });
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) ids.push((await s.append(c(i % 3), E, { n: i })).eventId);
  return { s, ids };
}

const segmentIds = (fs: SimFs) => fs.listFiles().flatMap((p) => /^\/s\/(\d+)\.bps$/.exec(p)?.[1] ?? []).map(Number);
const indexIds = (fs: SimFs) => fs.listFiles().flatMap((p) => /^\/s\/(\d+)\.bpi$/.exec(p)?.[1] ?? []).map(Number);

/** Opens the index file of every sealed segment (all but the newest) against its segment; fails on a stale one. */
async function checkAll(fs: SimFs) {
  const segs = segmentIds(fs);
  const files = [];
  for (const id of segs.slice(0, -1)) {
    const seg = await fs.open(`/s/${String(id).padStart(6, '0')}.bps`);
    const o = await SegmentIndexFile.open(fs, `/s/${indexFileName(id)}`, await readBinding(seg, id, await seg.size()), new BlockCache());
    await seg.close();
    expect(o.stale, `segment ${id}`).toBeUndefined();
    files.push(o.file!);
  }
  return files;
}

describe('index files of sealed segments', () => {
  it('INV-INDEX-FILE-REBUILT: every sealed segment gets one that finds each of its events', async () => {
    const fs = new SimFs(1);
    const { s, ids } = await build(fs);
    const events = [];
    for await (const e of s.query()) events.push(e);
    await s.close();
    expect(segmentIds(fs).length).toBeGreaterThan(3);
    expect(indexIds(fs)).toEqual(segmentIds(fs).slice(0, -1));
    const files = await checkAll(fs);
    let found = 0;
    for (const e of events) {
      const hits = await Promise.all(files.map((f) => f.byId(fromHex(e.header.eventId))));
      const bySeq = await Promise.all(files.map((f) => f.bySequence(Number(e.header.globalSequence))));
      expect(hits.filter((h) => h !== undefined).length).toBeLessThanOrEqual(1);
      expect(bySeq).toEqual(hits);
      const entity = (await Promise.all(files.map((f) => f.entity(entityKey(e.coordinate.entity))))).flat();
      const i = hits.findIndex((h) => h !== undefined);
      if (i >= 0) {
        found++;
        expect(entity.some((h) => h.globalSequence === Number(e.header.globalSequence) && h.entitySequence === Number(e.header.entitySequence))).toBe(true);
      }
    }
    // Everything but the active segment's events is in some file.
    expect(found).toBeGreaterThan(ids.length / 2);
    expect(files.reduce((n, f) => n + f.header.eventCount, 0)).toBe(found);
    for (const f of files) await f.close();
  });

  it('INV-INDEX-FILE-REBUILT: a missing, torn, damaged or stale index file is rebuilt at open, with a warning', async () => {
    const fs = new SimFs(2);
    const { s } = await build(fs);
    await s.close();
    const [a, b, c2, d] = indexIds(fs);
    await fs.remove(`/s/${indexFileName(a!)}`);
    const torn = fs.inspect(`/s/${indexFileName(b!)}`)!.current;
    fs.putFile(`/s/${indexFileName(b!)}`, torn.subarray(0, torn.length - 7));
    fs.corrupt(`/s/${indexFileName(c2!)}`, 3, 0x10);
    // Stale: another segment's file under this name.
    fs.putFile(`/s/${indexFileName(d!)}`, fs.inspect(`/s/${indexFileName(a === d ? b! : c2!)}`)!.current);
    const w = collect();
    const again = await Store.open({ dir: '/s', fs, segmentMaxBytes: 600, onWarning: w.onWarning });
    await again.close();
    const rebuilt = w.warnings.filter((x) => x.code === 'BATPAK_INDEX_FILE_REBUILT').map((x) => x.message);
    expect(rebuilt).toHaveLength(4);
    expect(rebuilt.join('\n')).toMatch(/segment \d+ is missing/);
    expect(rebuilt.join('\n')).toMatch(/not usable/);
    (await checkAll(fs)).forEach((f) => void f.close());
    // A clean open after that warns about nothing.
    const quiet = collect();
    await (await Store.open({ dir: '/s', fs, segmentMaxBytes: 600, onWarning: quiet.onWarning })).close();
    expect(quiet.warnings).toEqual([]);
  });

  it('INV-INDEX-FILE-REBUILT: a crash anywhere in an index-file write leaves the store whole, and the next open completes it', async () => {
    for (let ticks = 0; ticks < 30; ticks += 3) {
      const fs = new SimFs(100 + ticks);
      const first = await build(fs);
      await first.s.close();
      const proc = new KillableFs(fs);
      const s = await Store.open({ dir: '/s', fs: proc, segmentMaxBytes: 600, onWarning: () => undefined });
      const more: string[] = [];
      // Appends until a segment seals, then lets the background write run `ticks` turns before the kill.
      const before = segmentIds(fs).length;
      while (segmentIds(fs).length === before) more.push((await s.append(c(7), E, { n: more.length })).eventId);
      expect(more.length).toBeGreaterThan(0);
      for (let t = 0; t < ticks; t++) await new Promise((r) => setImmediate(r));
      proc.kill();
      fs.crash({ tear: true });
      const again = await Store.open({ dir: '/s', fs: new KillableFs(fs), segmentMaxBytes: 600, onWarning: () => undefined });
      for (const id of [...first.ids, ...more]) expect((await again.get(id)).header.eventId).toBe(id);
      expect((await again.verifyChain()).intact).toBe(true);
      await again.close();
      expect(fs.listFiles().filter((p) => p.includes('.tmp-'))).toEqual([]);
      (await checkAll(fs)).forEach((f) => void f.close());
    }
  });

  it('a failed index-file write is a warning, not a failure of the store; the next open writes it', async () => {
    const fs = new SimFs(3);
    const { s, ids } = await build(fs);
    await s.close();
    const [first] = indexIds(fs);
    await fs.remove(`/s/${indexFileName(first!)}`);
    // The open's inline rebuild and the keeper's retry in the background are the session's only renames (their
    // temps published; close leaves an unchanged checkpoint alone): both fail.
    fs.failOn('rename', 1, 'EIO');
    fs.failOn('rename', 2, 'EIO');
    const w = collect();
    const failing = await Store.open({ dir: '/s', fs, segmentMaxBytes: 600, onWarning: w.onWarning });
    await failing.get(ids[0]!);
    await failing.close();
    expect(w.warnings.filter((x) => x.code === 'BATPAK_INDEX_FILE_WRITE_FAILED')).toHaveLength(2);
    expect(indexIds(fs)).not.toContain(first);
    const again = await Store.open({ dir: '/s', fs, segmentMaxBytes: 600, onWarning: () => undefined });
    for (const id of ids) await again.get(id);
    await again.close();
    (await checkAll(fs)).forEach((f) => void f.close());
  });

  it('compaction leaves one valid index file per sealed segment and none for segments it removed', async () => {
    const fs = new SimFs(4);
    const w = collect();
    const { s } = await build(fs, { onWarning: w.onWarning });
    const sealedBefore = segmentIds(fs).length - 1;
    await s.compact({ strategy: 'merge' });
    await s.close();
    expect(indexIds(fs)).toEqual(segmentIds(fs).slice(0, -1));
    expect(indexIds(fs).length).toBeLessThan(sealedBefore);
    (await checkAll(fs)).forEach((f) => void f.close());
    // The merged segment reuses an id whose old file is stale: expected after a compaction, so it is rebuilt
    // without a warning (a warning after every compaction would hide the ones that mean damage).
    expect(w.warnings).toEqual([]);
  });
});
