// A writable open rebuilds a missing or unusable sealed segment's index file inline, one segment at a time, and
// serves the segment from the new file (INV-INDEX-REBUILT-INLINE): memory holds one segment's entries at a time,
// never the store's; a segment whose recovery is doubtful gets no file and is refused or scanned as before.
import { describe, expect, it, vi } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store, type Fs, type StoreOptions, type WarningCode } from '../src/index.js';
import { KillableFs, SimFs } from '../src/entry/testing.js';
import { indexedFramesOf } from '../src/event-index/segment-index-scan.js';
import { indexFileName } from '../src/event-index/segment-index-write.js';
import { segmentFileName } from '../src/segment/format.js';
import { storeAnswers } from './helpers/store-answers.js';

// Every recovery an open runs, counted: how many events each one held at once.
const seen = vi.hoisted(() => ({ recoveries: [] as number[] }));
vi.mock('../src/segment/recovery.js', async (importOriginal) => {
  const mod = await importOriginal<typeof import('../src/segment/recovery.js')>();
  return {
    ...mod,
    recoverLog: async (...args: Parameters<typeof mod.recoverLog>) => {
      const r = await mod.recoverLog(...args);
      seen.recoveries.push(r.events.length);
      return r;
    },
  };
});

const E = defineEvent<{ n: number; pad: string }>({ category: 1, typeId: 1 });
const KEY = new Uint8Array(32).fill(7);
const ENTITIES = 7;
const coord = (i: number) => new Coordinate(`ent-${i % ENTITIES}`, `sc${i % 2}`);

const optionsOf = (fs: Fs, signed: boolean, extra: Partial<StoreOptions> = {}): StoreOptions => ({
  dir: '/s',
  fs,
  segmentMaxBytes: 2500,
  ...(signed ? { signingKey: KEY } : {}),
  ...extra,
});

function collect() {
  const warnings: { message: string; code: WarningCode }[] = [];
  return { warnings, onWarning: (message: string, code: WarningCode) => void warnings.push({ message, code }) };
}

/** A closed store of `events` events (signed ones partly in batches) over several segments, each sealed one with its index file. */
async function buildStore(seed: number, signed: boolean, events = 160): Promise<{ fs: SimFs; ids: string[] }> {
  const fs = new SimFs(seed);
  const s = await Store.open(optionsOf(fs, signed, { onWarning: () => undefined }));
  const ids = await appendSome(s, signed, 0, events);
  await s.close();
  return { fs, ids };
}

async function appendSome(s: Store, signed: boolean, from: number, events: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = from; n < from + events; ) {
    if (signed && n % 7 === 3) {
      const rs = await s.appendBatch([0, 1, 2].map((k) => ({ coord: coord(n + k), kind: E, payload: { n: n + k, pad: 'x'.repeat((n * 7) % 30) } })));
      ids.push(...rs.map((r) => r.eventId));
      n += 3;
    } else {
      ids.push((await s.append(coord(n), E, { n, pad: 'y'.repeat((n * 5) % 30) })).eventId);
      n++;
    }
  }
  return ids;
}

const segmentIds = (fs: SimFs) => fs.listFiles().flatMap((p) => /^\/s\/(\d+)\.bps$/.exec(p)?.[1] ?? []).map(Number);
const indexIds = (fs: SimFs) => fs.listFiles().flatMap((p) => /^\/s\/(\d+)\.bpi$/.exec(p)?.[1] ?? []).map(Number);
const indexPath = (id: number) => `/s/${indexFileName(id)}`;
const segmentPath = (id: number) => `/s/${segmentFileName(id)}`;

/** The most committed events any one segment holds. */
async function mostPerSegment(fs: SimFs): Promise<number> {
  let most = 0;
  for (const id of segmentIds(fs)) most = Math.max(most, (await indexedFramesOf(fs, segmentPath(id), fs.inspect(segmentPath(id))!.current.length)).length);
  return most;
}

/** Everything a reader can ask, as plain data. */
const answers = (s: Store, ids: readonly string[]) => storeAnswers(s, ids, ENTITIES);

/** The answers of a read-only open served from the intact index files. */
async function fromFiles(fs: SimFs, signed: boolean, ids: readonly string[]) {
  const s = await Store.open(optionsOf(fs, signed, { readOnly: true, onWarning: () => undefined }));
  expect(s.stats().index?.sealedSegments).toBe(segmentIds(fs).length - 1);
  const out = await answers(s, ids);
  await s.close();
  expect(out.report.intact).toBe(true);
  return out;
}

/** Index file damage that leaves a file the open must not use. */
const DAMAGE: readonly [string, RegExp, (fs: SimFs, id: number) => Promise<void> | void][] = [
  ['deleted', /is missing: rebuilt from the segment/, async (fs, id) => fs.remove(indexPath(id))],
  [
    'of another version (v2)',
    /is not usable \(unknown version 2\): rebuilt from the segment/,
    (fs, id) => {
      const bytes = fs.inspect(indexPath(id))!.current.slice();
      bytes[4] = 2;
      fs.putFile(indexPath(id), bytes);
    },
  ],
];

describe('a writable open over sealed segments whose index files are not usable', () => {
  it.each(DAMAGE)('INV-INDEX-REBUILT-INLINE: every index file %s: each is rebuilt inline, memory holds one segment at a time, answers are the same', async (_, warning, damage) => {
    for (const signed of [false, true]) {
      const { fs, ids } = await buildStore(61, signed);
      const segs = segmentIds(fs);
      const sealed = segs.slice(0, -1);
      const most = await mostPerSegment(fs);
      // One segment's events are a small part of the store: a bound of one segment means something.
      expect(most * 4).toBeLessThan(ids.length);
      const expected = await fromFiles(fs, signed, ids);
      for (const id of sealed) await damage(fs, id);
      const w = collect();
      seen.recoveries.length = 0;
      const s = await Store.open(optionsOf(fs, signed, { onWarning: w.onWarning }));
      // As it returns (before any background work): every sealed segment is served from its rebuilt file, and
      // the resident tier holds the newest segment's entries only.
      const index = s.stats().index!;
      expect(index.sealedSegments).toBe(sealed.length);
      expect(index.residentEntries).toBeLessThanOrEqual(most);
      // No recovery the open ran held more than one segment's events (the resident tier is built from them).
      expect(seen.recoveries.length).toBeGreaterThanOrEqual(sealed.length);
      expect(Math.max(...seen.recoveries)).toBeLessThanOrEqual(most);
      const rebuilt = w.warnings.filter((x) => x.code === 'BATPAK_INDEX_FILE_REBUILT');
      expect(rebuilt.map((x) => Number(/segment (\d+)/.exec(x.message)?.[1]))).toEqual(sealed);
      for (const x of rebuilt) expect(x.message).toMatch(warning);
      expect(w.warnings.filter((x) => x.code !== 'BATPAK_INDEX_FILE_REBUILT')).toEqual([]);
      expect(await answers(s, ids)).toEqual(expected);
      await s.close();
      expect(indexIds(fs)).toEqual(sealed);
      // The next open serves them from the rebuilt files, quietly.
      const quiet = collect();
      const again = await Store.open(optionsOf(fs, signed, { onWarning: quiet.onWarning }));
      expect(again.stats().index?.sealedSegments).toBe(sealed.length);
      expect(await answers(again, ids)).toEqual(expected);
      await again.close();
      expect(quiet.warnings).toEqual([]);
    }
  }, 120_000);

  it('INV-INDEX-REBUILT-INLINE: a read-only open cannot write: it scans those segments, answers the same and writes no file', async () => {
    const { fs, ids } = await buildStore(62, true);
    const segs = segmentIds(fs);
    const expected = await fromFiles(fs, true, ids);
    for (const id of segs.slice(0, -1)) await fs.remove(indexPath(id));
    const s = await Store.open(optionsOf(fs, true, { readOnly: true, onWarning: () => undefined }));
    expect(s.stats().index?.sealedSegments).toBe(0);
    expect(await answers(s, ids)).toEqual(expected);
    await s.close();
    expect(indexIds(fs)).toEqual([]);
  }, 60_000);

  it('INV-INDEX-REBUILT-INLINE: a segment damaged mid-way gets no index file; the open refuses it as before (ERR_CORRUPT_SEGMENT)', async () => {
    const { fs } = await buildStore(63, false);
    const segs = segmentIds(fs);
    const target = segs[2]!;
    const bytes = fs.inspect(segmentPath(target))!.current;
    // A byte of an event's payload in the middle of the segment: its frame fails its CRC, valid frames follow.
    const at = Buffer.from(bytes).indexOf('yyyy', Math.floor(bytes.length / 3));
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan((bytes.length * 2) / 3);
    fs.corrupt(segmentPath(target), at, 0x20);
    for (const id of segs.slice(0, -1)) await fs.remove(indexPath(id));
    const err = await Store.open(optionsOf(fs, false, { onWarning: () => undefined })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatpakError);
    expect((err as BatpakError).code).toBe('ERR_CORRUPT_SEGMENT');
    expect((err as BatpakError).message).toContain(segmentFileName(target));
    // The segments before it were rebuilt; it and the ones after it were not.
    expect(indexIds(fs)).toEqual(segs.slice(0, 2));
  }, 60_000);

  it('INV-INDEX-REBUILT-INLINE: a jump in the sequences that compaction.log does not explain gets no index file; the open refuses it as before', async () => {
    const { fs } = await buildStore(64, false);
    const s = await Store.open(optionsOf(fs, false, { onWarning: () => undefined }));
    const result = await s.compact({ strategy: 'retention', keep: (e) => (e.payload as { n: number }).n % 4 !== 1 });
    expect(result.outcome).toBe('performed');
    await s.close();
    // Compaction's record of what it removed is gone (and the checkpoint, which would report that on its own).
    await fs.remove('/s/compaction.log');
    await fs.remove('/s/index.checkpoint');
    for (const id of indexIds(fs)) await fs.remove(indexPath(id));
    const err = await Store.open(optionsOf(fs, false, { onWarning: () => undefined })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatpakError);
    expect((err as BatpakError).code).toBe('ERR_CORRUPT_SEGMENT');
    expect((err as BatpakError).message).toMatch(/no committed compaction removed them/);
    // The first segment (compaction's, with the jump over event 1) got no file, so none did.
    expect(indexIds(fs)).toEqual([]);
  }, 60_000);

  it('INV-INDEX-REBUILT-INLINE: an abort between two rebuilds rejects with ERR_ABORTED and releases the lock; the next open rebuilds the rest', async () => {
    const { fs, ids } = await buildStore(65, false);
    const sealed = segmentIds(fs).slice(0, -1);
    const expected = await fromFiles(fs, false, ids);
    for (const id of sealed) await fs.remove(indexPath(id));
    const ac = new AbortController();
    // Aborted the moment the first rebuilt file is in place (the rebuilds' warnings wait for a successful open).
    const aborting = new Proxy(fs, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop === 'rename') {
          return async (from: string, to: string) => {
            await target.rename(from, to);
            if (to.endsWith('.bpi')) ac.abort(new Error('shutting down'));
          };
        }
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const warned: WarningCode[] = [];
    const err = await Store.open(optionsOf(aborting, false, { signal: ac.signal, onWarning: (_m: string, code: WarningCode) => void warned.push(code) })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatpakError);
    expect((err as BatpakError).code).toBe('ERR_ABORTED');
    // It stopped after the first rebuilt file, and a failed open reports its error alone.
    expect(indexIds(fs)).toEqual(sealed.slice(0, 1));
    expect(warned).toEqual([]);
    const w = collect();
    const again = await Store.open(optionsOf(fs, false, { onWarning: w.onWarning }));
    expect(w.warnings.filter((x) => x.code === 'BATPAK_INDEX_FILE_REBUILT')).toHaveLength(sealed.length - 1);
    expect(await answers(again, ids)).toEqual(expected);
    await again.close();
  }, 60_000);

  it('INV-INDEX-REBUILT-INLINE: a checkpoint written over segments that are served from rebuilt files now is used for the rest, quietly', async () => {
    const { fs, ids } = await buildStore(66, false);
    // A session whose index-file writes all fail: the segments it seals stay resident, and close writes a
    // checkpoint over them (from the first one without a file to the active one).
    const failing = new Proxy(fs, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop === 'rename') return async (from: string, to: string) => (to.endsWith('.bpi') ? Promise.reject(Object.assign(new Error(`EIO: rename ${to}`), { code: 'EIO' })) : target.rename(from, to));
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const before = segmentIds(fs);
    const w0 = collect();
    const s = await Store.open(optionsOf(failing, false, { onWarning: w0.onWarning }));
    ids.push(...(await appendSome(s, false, 1000, 80)));
    await s.close();
    const sealedInSession = segmentIds(fs).filter((id) => id >= before[before.length - 1]!).slice(0, -1);
    expect(sealedInSession.length).toBeGreaterThan(2);
    expect(w0.warnings.filter((x) => x.code === 'BATPAK_INDEX_FILE_WRITE_FAILED').length).toBeGreaterThan(0);
    for (const id of sealedInSession) expect(indexIds(fs)).not.toContain(id);
    const most = await mostPerSegment(fs);
    const w = collect();
    const again = await Store.open(optionsOf(fs, false, { onWarning: w.onWarning }));
    expect(again.stats().index?.sealedSegments).toBe(segmentIds(fs).length - 1);
    expect(again.stats().index!.residentEntries).toBeLessThanOrEqual(most);
    // Rebuilt, and the checkpoint's part for the newest segment used without a fallback.
    expect(w.warnings.filter((x) => x.code === 'BATPAK_INDEX_FILE_REBUILT')).toHaveLength(sealedInSession.length);
    expect(w.warnings.filter((x) => x.code !== 'BATPAK_INDEX_FILE_REBUILT')).toEqual([]);
    const got = await answers(again, ids);
    await again.close();
    expect(got).toEqual(await fromFiles(fs, false, ids));
  }, 60_000);
});

describe('a process that dies while an open rebuilds index files', () => {
  it('INV-INDEX-REBUILT-INLINE: a kill or power loss at any point of the rebuild leaves a store whose next open answers the same', async () => {
    let midRebuild = 0;
    for (const power of [false, true]) {
      // Scheduler turns before the kill: from before the first rebuild to after the last (14 files here).
      for (let turns = 0; turns <= 140; turns += 5) {
        const { fs, ids } = await buildStore(70, true, 120);
        const sealed = segmentIds(fs).slice(0, -1);
        const expected = await fromFiles(fs, true, ids);
        for (const id of sealed) await fs.remove(indexPath(id));
        const proc = new KillableFs(fs);
        const opening = Store.open(optionsOf(proc, true, { onWarning: () => undefined })).then(
          () => 'opened',
          () => 'failed',
        );
        for (let t = 0; t < turns; t++) await new Promise((r) => setImmediate(r));
        proc.kill();
        const written = indexIds(fs).length;
        if (written > 0 && written < sealed.length) midRebuild++;
        if (power) fs.crash({ tear: true });
        await opening;
        if (power) fs.crash({ tear: false });
        const again = await Store.open(optionsOf(new KillableFs(fs), true, { onWarning: () => undefined }));
        expect(again.stats().index?.sealedSegments).toBe(sealed.length);
        expect(await answers(again, ids)).toEqual(expected);
        await again.close();
        expect(fs.listFiles().filter((p) => p.includes('.tmp-'))).toEqual([]);
        expect(indexIds(fs)).toEqual(sealed);
      }
    }
    // Most kills did land between two rebuilt files.
    expect(midRebuild).toBeGreaterThan(20);
  }, 180_000);
});
