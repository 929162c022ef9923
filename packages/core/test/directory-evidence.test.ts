// What the store directory itself shows about lost data is damage, never "intact" and never only a
// warning (INV-DIRECTORY-EVIDENCE); one segment-name grammar for reader and writer; a non-store is refused.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, isBatpakError, parseSegmentFileName, segmentFileName, Store, type StoreOptions } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { directoryDamage } from '../src/store/directory-evidence.js';
import { decodeCheckpoint } from '../src/event-index/checkpoint.js';
import { scanSegment } from '../src/segment/scan.js';

const Note = defineEvent<{ n: number }>({ category: 2, typeId: 4, name: 'EvidenceNote' });

async function build(events = 300, opts: Partial<StoreOptions> = {}) {
  const fs = new SimFs(21);
  const base: StoreOptions = { dir: '/db', fs, segmentMaxBytes: 4096, ...opts };
  const s = await Store.open(base);
  const ids: string[] = [];
  for (let n = 0; n < events; n += 10) {
    const rs = await s.appendBatch(Array.from({ length: 10 }, (_, k) => ({ coord: new Coordinate(`e${(n + k) % 7}`, 's'), kind: Note, payload: { n: n + k } })));
    ids.push(...rs.map((r) => r.eventId));
  }
  await s.close();
  const segments = fs.listFiles().filter((f) => f.endsWith('.bps')).sort();
  return { fs, base, ids, segments };
}

async function refusedForWriting(base: StoreOptions, reason: string) {
  const err = await Store.open(base).catch((e: unknown) => e);
  expect(isBatpakError(err, 'ERR_CORRUPT_SEGMENT')).toBe(true);
  expect((err as { details: { reason: string } }).details.reason).toBe(reason);
}

describe('the directory shows lost data (INV-DIRECTORY-EVIDENCE)', () => {
  it('the newest segment deleted: damage in verifyChain, a writer is refused unless allowDataLoss', async () => {
    const { fs, base, segments } = await build();
    expect(segments.length).toBeGreaterThan(3);
    await fs.remove(segments[segments.length - 1]!);
    const warnings: string[] = [];
    const ro = await Store.openReadOnly('/db', { fs, onWarning: (w) => warnings.push(w) });
    const r = await ro.verifyChain();
    expect(r.intact).toBe(false);
    expect(r.directoryDamage.map((d) => d.reason)).toEqual(['missing-segment', 'events-missing']);
    expect(r.directoryDamage[0]!.file).toBe(segments[segments.length - 1]);
    expect(r.directoryDamage[1]!.message).toMatch(/recorded events up to global sequence 300/);
    expect(warnings.some((w) => w.includes('missing-segment'))).toBe(true);
    await ro.close();
    await refusedForWriting(base, 'missing-segment');
    const w = await Store.open({ ...base, allowDataLoss: true });
    expect((await w.verifyChain()).intact).toBe(false);
    await w.close();
    const again = await Store.open(base);
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
  });

  it('every segment deleted: damage, not "intact, 0 events"', async () => {
    const { fs, segments } = await build(50);
    for (const s of segments) await fs.remove(s);
    const ro = await Store.openReadOnly('/db', { fs });
    const r = await ro.verifyChain();
    expect(r.eventsChecked).toBe(0);
    expect(r.intact).toBe(false);
    expect(r.directoryDamage.map((d) => d.reason)).toEqual(['missing-segment', 'events-missing']);
    await ro.close();
  });

  it('the newest segment truncated or zeroed: damage, and a writer does not cut or replace it', async () => {
    for (const how of ['truncate', 'zero'] as const) {
      const { fs, base, segments } = await build();
      const newest = segments[segments.length - 1]!;
      const bytes = fs.inspect(newest)!.current;
      fs.putFile(newest, how === 'truncate' ? bytes.slice(0, 32 + 5) : new Uint8Array(bytes.length));
      const ro = await Store.openReadOnly('/db', { fs });
      const r = await ro.verifyChain();
      expect(r.intact).toBe(false);
      expect(r.directoryDamage.map((d) => d.reason)).toEqual(['events-missing']);
      await ro.close();
      await refusedForWriting(base, 'events-missing');
      // The refused writer left the segment as it was (the evidence stays).
      expect(fs.inspect(newest)!.current.length).toBe(how === 'truncate' ? 37 : bytes.length);
    }
  });

  it('a torn tail written after the last checkpoint stays recoverable (no damage)', async () => {
    const { fs, base, segments } = await build(40);
    const s = await Store.open(base);
    await s.append(new Coordinate('x', 's'), Note, { n: 1000 });
    await s.sync();
    // A crash: the close (and its checkpoint) never happen; a partial frame follows the last one.
    const newest = segments[segments.length - 1]!;
    const now = fs.listFiles().filter((f) => f.endsWith('.bps')).sort();
    const tailFile = now[now.length - 1]!;
    // The segment's frames, without the zeros preallocated past them: a torn append lands where the data ends.
    const bytes = fs.inspect(tailFile)!.current;
    const dataEnd = scanSegment(bytes, { file: tailFile, allowTornTail: true }).validEnd;
    fs.crash();
    fs.putFile(tailFile, new Uint8Array([...bytes.subarray(0, dataEnd), 0x42, 0x50, 0x4b, 0x46, 0, 0, 1, 0]));
    expect(newest <= tailFile).toBe(true);
    const warnings: string[] = [];
    const again = await Store.open({ ...base, onWarning: (w) => warnings.push(w) });
    expect(again.stats().events).toBe(41n);
    const r = await again.verifyChain();
    expect(r.intact).toBe(true);
    expect(r.directoryDamage).toEqual([]);
    expect(warnings.some((w) => w.includes('torn-tail'))).toBe(true);
    await again.close();
  });

  it('directoryDamage: segment-id holes explained only by a committed compaction; a checkpoint ahead of compaction.log', () => {
    const facts = { dir: '/d', names: [], compactions: [], checkpoint: undefined, lastSeen: 10, events: 10 };
    expect(directoryDamage({ ...facts, segmentIds: [1, 2, 3] })).toEqual([]);
    expect(directoryDamage({ ...facts, segmentIds: [1, 4, 5, 7] })).toEqual([
      { reason: 'segment-id-gap', file: '/d/000002.bps', message: 'segments 2..3, 6 are missing and no committed compaction removed them' },
    ]);
    const compaction = { compactionId: 'c', strategy: 'merge', mergedId: 1, sources: [1, 2, 3], removed: [] };
    expect(directoryDamage({ ...facts, segmentIds: [1, 4], compactions: [compaction] })).toEqual([]);
    expect(directoryDamage({ ...facts, segmentIds: [2, 4], compactions: [compaction] }).map((d) => d.message)).toEqual(['segments 1 are missing and no committed compaction removed them']);
    const checkpoint = { segments: [{ id: 1, committedEnd: 32, header: new Uint8Array(32), crc: 0 }], lastSeen: 10, lastInCompacted: false, lastCommittedAt: 0, compactions: 2, entries: [] };
    expect(directoryDamage({ ...facts, segmentIds: [1], compactions: [compaction], checkpoint }).map((d) => d.reason)).toEqual(['compactions-missing']);
    expect(directoryDamage({ ...facts, segmentIds: [1], compactions: [compaction, compaction], checkpoint })).toEqual([]);
    expect(directoryDamage({ ...facts, segmentIds: [1], compactions: [compaction, compaction], checkpoint, lastSeen: 9 }).map((d) => d.reason)).toEqual(['events-missing']);
    // Same compaction count: fewer events than the checkpoint listed is a loss even with the same last sequence.
    const listed = { ...checkpoint, compactions: 0, entries: new Array(3).fill(undefined) as never[] };
    expect(directoryDamage({ ...facts, segmentIds: [1], checkpoint: listed, events: 2 }).map((d) => d.message)).toEqual(['the checkpoint recorded 3 events, the segments hold 2']);
    expect(directoryDamage({ ...facts, segmentIds: [1], checkpoint: listed, events: 3 })).toEqual([]);
    expect(directoryDamage({ ...facts, segmentIds: [1], names: ['999999999999999.bps', 'notes.txt', '000001.bps'] }).map((d) => d.reason)).toEqual(['stray-file']);
  });
});

describe('segment file names: one grammar for reader and writer (issue 17)', () => {
  it('parses exactly the names segmentFileName writes', () => {
    expect(segmentFileName(1)).toBe('000001.bps');
    expect(segmentFileName(1234567)).toBe('1234567.bps');
    expect(segmentFileName(0xffffffff)).toBe('4294967295.bps');
    for (const bad of [0, -1, 1.5, 0x100000000, Number.NaN]) expect(() => segmentFileName(bad)).toThrow(/outside/);
    expect(parseSegmentFileName('000001.bps')).toBe(1);
    expect(parseSegmentFileName('999999.bps')).toBe(999999);
    expect(parseSegmentFileName('4294967295.bps')).toBe(0xffffffff);
    for (const bad of ['000000.bps', '0000001.bps', '00001.bps', '4294967296.bps', '999999999999999.bps', '1000000000000000.bps', '000001.BPS', '000001.bps.tmp', 'x00001.bps']) {
      expect(parseSegmentFileName(bad)).toBeUndefined();
    }
  });

  it('a stray empty 999999999999999.bps is reported, never adopted: all 30 acknowledged events survive a reopen', async () => {
    const fs = new SimFs(8);
    await fs.mkdir('/s', { recursive: true });
    fs.putFile('/s/999999999999999.bps', new Uint8Array(0));
    const base: StoreOptions = { dir: '/s', fs, segmentMaxBytes: 400 };
    const warnings: string[] = [];
    const s = await Store.open({ ...base, onWarning: (w) => warnings.push(w) });
    const ids: string[] = [];
    for (let n = 0; n < 30; n++) ids.push((await s.append(new Coordinate('a', 's'), Note, { n })).eventId);
    await s.close();
    const again = await Store.open(base);
    expect(again.stats().events).toBe(30n);
    for (const [n, id] of ids.entries()) expect((await again.get(id)).payload).toEqual({ n });
    expect(fs.listFiles().filter((f) => /\/\d{11,}\.bps$/.test(f))).toEqual(['/s/999999999999999.bps']);
    expect(warnings.some((w) => w.includes('stray-file'))).toBe(true);
    const r = await again.verifyChain();
    expect(r.eventsChecked).toBe(30);
    expect(r.intact).toBe(false);
    expect(r.directoryDamage).toEqual([{ reason: 'stray-file', file: '/s/999999999999999.bps', message: expect.stringContaining('999999999999999.bps') as unknown as string }]);
    await again.close();
  });
});

describe('a directory that is not a store', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('openReadOnly refuses it with ERR_NOT_A_STORE; Store.open of an empty or new directory still creates a store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'batpak-notastore-'));
    dirs.push(dir);
    await writeFile(join(dir, 'notes.txt'), 'hello');
    const err = await Store.openReadOnly(dir).catch((e: unknown) => e);
    expect(isBatpakError(err, 'ERR_NOT_A_STORE')).toBe(true);
    expect((err as Error).message).toContain('is not a batpak store');
    await expect(Store.openReadOnly(join(dir, 'nope'))).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    const fresh = join(dir, 'fresh');
    const s = await Store.open({ dir: fresh });
    await s.close();
    expect(await readdir(fresh)).toContain('000001.bps');
    const ro = await Store.openReadOnly(fresh);
    expect((await ro.verifyChain()).intact).toBe(true);
    await ro.close();
    const s2 = await Store.open({ dir });
    await s2.close();
  });

  it('a checkpoint alone is a store that lost its segments, not a non-store', async () => {
    const { fs } = await build(20);
    const c = decodeCheckpoint(fs.inspect('/db/index.checkpoint')!.current)!;
    expect(c.entries.length).toBe(20);
    for (const f of fs.listFiles()) if (f.endsWith('.bps')) await fs.remove(f);
    const ro = await Store.openReadOnly('/db', { fs });
    expect((await ro.verifyChain()).intact).toBe(false);
    await ro.close();
  });
});
