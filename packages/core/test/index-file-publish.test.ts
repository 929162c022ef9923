// How an index file is published: a temp file and a rename, never fsynced (it is derived data; the checks of
// FORMAT.md § Segment index files refuse whatever a crash leaves), and built from exactly its segment's events
// (found by binary search over commit order, not a filter over the whole index).
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store, type WarningCode } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { fromHex } from '../src/encoding/hex.js';
import type { IndexEntry } from '../src/event-index/entry.js';
import { encodeIndexFile } from '../src/event-index/segment-index-encode.js';
import { indexedFramesOf } from '../src/event-index/segment-index-scan.js';
import { indexFileName, readBinding } from '../src/event-index/segment-index-write.js';
import { ResidentIndex } from '../src/event-index/resident-index.js';

const E = defineEvent<{ n: number }>({ category: 1, typeId: 1 });
const c = (i: number) => new Coordinate(`e${i}`, 's');
const segPath = (id: number) => `/s/${String(id).padStart(6, '0')}.bps`;
const segmentIds = (fs: SimFs) => fs.listFiles().flatMap((p) => /^\/s\/(\d+)\.bps$/.exec(p)?.[1] ?? []).map(Number);

function collect() {
  const warnings: { message: string; code: WarningCode }[] = [];
  return { warnings, onWarning: (message: string, code: WarningCode) => warnings.push({ message, code }) };
}

/** The file a rebuild from the segment alone writes: byte for byte what the store must have written. */
async function rebuiltFrom(fs: SimFs, id: number): Promise<Uint8Array> {
  const bytes = fs.inspect(segPath(id))!.current;
  const seg = await fs.open(segPath(id));
  const binding = await readBinding(seg, id, bytes.length);
  await seg.close();
  return encodeIndexFile({ ...binding, segmentCrc: crc32(bytes) }, await indexedFramesOf(fs, segPath(id), bytes.length));
}

describe('publishing index files', () => {
  it('INV-INDEX-FILE-UNSYNCED: an index file is published without fsync, and a crash that loses it costs a rebuild, never a wrong read', async () => {
    const fs = new SimFs(11);
    const s = await Store.open({ dir: '/s', fs, segmentMaxBytes: 600 });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await s.append(c(i % 3), E, { n: i })).eventId);
    await s.close();
    const sealed = segmentIds(fs).slice(0, -1);
    expect(sealed.length).toBeGreaterThan(3);
    for (const id of sealed) {
      const info = fs.inspect(`/s/${indexFileName(id)}`)!;
      expect(info.current.length).toBeGreaterThan(0);
      // Never fsynced: none of its bytes would survive a power loss (a later directory fsync may keep its name).
      expect(info.durable.length, `index file of segment ${id}`).toBe(0);
    }
    fs.crash({ tear: true });
    const w = collect();
    const again = await Store.open({ dir: '/s', fs, segmentMaxBytes: 600, onWarning: w.onWarning });
    for (const id of ids) expect((await again.get(id)).header.eventId).toBe(id);
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
    const rebuilt = w.warnings.filter((x) => x.code === 'BATPAK_INDEX_FILE_REBUILT');
    expect(rebuilt).toHaveLength(sealed.length);
    expect(w.warnings.filter((x) => x.code !== 'BATPAK_INDEX_FILE_REBUILT')).toEqual([]);
    for (const id of sealed) expect(fs.inspect(`/s/${indexFileName(id)}`)!.current).toEqual(await rebuiltFrom(fs, id));
    expect(fs.listFiles().filter((p) => p.includes('.tmp-'))).toEqual([]);
  });

  it('each index file holds exactly its segment’s events, through rotations and a compaction', async () => {
    const fs = new SimFs(12);
    const s = await Store.open({ dir: '/s', fs, segmentMaxBytes: 700 });
    for (let i = 0; i < 30; i++) await s.append(c(i % 4), E, { n: i });
    await s.compact({ strategy: 'merge' });
    for (let i = 30; i < 70; i++) await s.append(c(i % 5), E, { n: i });
    await s.close();
    const sealed = segmentIds(fs).slice(0, -1);
    expect(sealed.length).toBeGreaterThan(3);
    for (const id of sealed) expect(fs.inspect(`/s/${indexFileName(id)}`)!.current, `segment ${id}`).toEqual(await rebuiltFrom(fs, id));
  });

  it('segmentEntries is the filter by segment id, over any commit order whose segment ids never decrease', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 3 }), { maxLength: 60 }), fc.integer({ min: 0, max: 12 }), async (steps, asked) => {
        // Each event stays in the current segment or moves 1..3 ids on (ids may skip: compaction leaves holes).
        let id = 1;
        const index = new ResidentIndex();
        const all = steps.map((step, i) => {
          id += step === 3 ? 0 : step;
          const eventId = (i + 1).toString(16).padStart(32, '0');
          const e = { eventId, idBytes: fromHex(eventId), entity: 'e', scope: '', flags: 0, segmentId: id, globalSequence: i + 1, prevHash: new Uint8Array(32), contentHash: new Uint8Array(32) } as unknown as IndexEntry;
          index.insert(e);
          return e;
        });
        // The index holds records: its answers are new entries, compared here by what identifies them.
        const ids = (list: readonly IndexEntry[]) => list.map((e) => [e.eventId, e.segmentId, e.globalSequence]);
        expect(ids(await index.segmentEntries(asked))).toEqual(ids(all.filter((e) => e.segmentId === asked)));
      }),
    );
  });
});
