// A forged index.checkpoint (records deleted or edited, CRC recomputed) never changes what get, query,
// verifyChain or compaction act on (INV-DERIVED-NOT-AUTHORITY): every entry is checked against its frame.
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, isBatpakError, Store, type StoreOptions } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../src/event-index/checkpoint.js';
import { plainEntry, type IndexEntry } from '../src/event-index/entry.js';
import { CanonicalBodyMatcher, frameMismatch } from '../src/event-index/frame-match.js';
import { buildCompactionOutput } from '../src/compaction/build.js';
import { committedEventOffsets } from '../src/segment/recovery.js';
import { scanSegment } from '../src/segment/scan.js';
import { EventFlags, type EventFrame } from '../src/segment/frame.js';

const Note = defineEvent<{ n: number }>({ category: 2, typeId: 3, name: 'ForgeNote' });
const CKPT = '/db/index.checkpoint';

/**
 * A signed store over several segments, closed. Its checkpoint holds the resident tier only (the segments after
 * those served from index files: here the active one), so the forgeries below edit events of the last segment.
 */
async function signedStore(events = 12) {
  const fs = new SimFs(11);
  let clock = 1_700_000_000_000;
  const base: StoreOptions = { dir: '/db', fs, segmentMaxBytes: 600, signingKey: new Uint8Array(32).fill(9), now: () => (clock += 1) };
  const s = await Store.open(base);
  const ids: string[] = [];
  for (let n = 0; n < events; n++) ids.push((await s.append(new Coordinate(n % 3 === 0 ? 'a' : 'b', 's'), Note, { n })).eventId);
  await s.close();
  return { fs, base, ids };
}

function readCheckpoint(fs: SimFs): Checkpoint {
  const c = decodeCheckpoint(fs.inspect(CKPT)!.current);
  if (c === undefined) throw new Error('no checkpoint');
  return c;
}

/** Rewrites the checkpoint with edited entries and a recomputed CRC (the CRC is no secret). */
function forge(fs: SimFs, edit: (entries: IndexEntry[]) => IndexEntry[]): void {
  const c = readCheckpoint(fs);
  fs.putFile(CKPT, encodeCheckpoint({ ...c, entries: edit(c.entries.map((e) => plainEntry(e))) }));
}

async function everything(s: Store) {
  const out = [];
  for await (const e of s.query()) out.push({ header: e.header, coordinate: e.coordinate.toString(), payload: e.payload });
  return out;
}

describe('a forged checkpoint is never an authority (INV-DERIVED-NOT-AUTHORITY)', () => {
  it('a deleted record: get still finds the event, verifyChain reports the forgery, a merge compaction keeps the event', async () => {
    const { fs, base, ids } = await signedStore();
    const truth = await Store.open({ ...base, readOnly: true, checkpoint: 'off' });
    const expected = await everything(truth);
    const victim = 11;
    const receipt = await truth.receipt(ids[victim]!);
    await truth.close();
    expect(readCheckpoint(fs).entries.map((e) => e.eventId)).toContain(ids[victim]);
    forge(fs, (entries) => entries.filter((e) => e.eventId !== ids[victim]));

    {
      const warnings: string[] = [];
      const ro = await Store.open({ ...base, readOnly: true, onWarning: (w) => warnings.push(w) });
      expect((await ro.get(ids[victim]!)).payload).toEqual({ n: victim });
      expect(await everything(ro)).toEqual(expected);
      expect((await ro.verifyReceipt(receipt)).status).toBe('signed');
      const report = await ro.verifyChain();
      expect(report.intact).toBe(false);
      expect(report.directoryDamage).toEqual([{ reason: 'checkpoint-contradiction', file: CKPT, message: expect.stringContaining(ids[victim]!) as unknown as string }]);
      expect(warnings.some((w) => w.includes('does not describe the segment files'))).toBe(true);
      await ro.close();
      // 'recompute' refuses to open a store whose directory shows a forgery.
      await expect(Store.open({ ...base, readOnly: true, chainVerification: 'recompute' })).rejects.toMatchObject({ code: 'ERR_CHAIN_VERIFICATION_FAILED' });
    }
    // The writer is not refused (nothing was lost: the frames are the truth), and merge keeps the event.
    const w = await Store.open(base);
    const result = await w.compact({ strategy: 'merge' });
    expect(result).toMatchObject({ outcome: 'performed', eventsDropped: 0 });
    expect((await w.get(ids[victim]!)).payload).toEqual({ n: victim });
    await w.close();
    const after = await Store.open({ ...base, readOnly: true, checkpoint: 'off' });
    expect(await everything(after)).toEqual(expected);
    expect((await after.verifyChain()).intact).toBe(true);
    await after.close();
  });

  const edits: [string, (e: IndexEntry) => IndexEntry][] = [
    ['entitySequence', (e) => ({ ...e, entitySequence: e.entitySequence + 7 })],
    ['committedAt', (e) => ({ ...e, committedAt: e.committedAt + 86_400_000 })],
    ['contentHash', (e) => ({ ...e, contentHash: new Uint8Array(32).fill(0xab) })],
    ['entity', (e) => ({ ...e, entity: 'mallory' })],
    ['flags', (e) => ({ ...e, flags: e.flags | EventFlags.TOMBSTONE })],
  ];
  for (const [field, edit] of edits) {
    it(`an edited ${field === 'flags' ? 'tombstone flag' : field}: reads answer from the frames, verifyChain names the forgery`, async () => {
      const { fs, base, ids } = await signedStore();
      const truth = await Store.open({ ...base, readOnly: true, checkpoint: 'off' });
      const expected = await everything(truth);
      const victim = 11;
      const header = (await truth.get(ids[victim]!)).header;
      await truth.close();
      expect(readCheckpoint(fs).entries.map((e) => e.eventId)).toContain(ids[victim]);
      forge(fs, (entries) => entries.map((e) => (e.eventId === ids[victim] ? edit(e) : e)));
      const s = await Store.open({ ...base, readOnly: true });
      const got = await s.get(ids[victim]!);
      expect(got.header).toEqual(header);
      expect(got.payload).toEqual({ n: victim });
      expect(got.coordinate.entity).toBe('b');
      expect(await everything(s)).toEqual(expected);
      const report = await s.verifyChain();
      expect(report.intact).toBe(false);
      expect(report.directoryDamage.map((d) => d.reason)).toEqual(['checkpoint-contradiction']);
      expect(report.directoryDamage[0]!.message).toContain(field);
      await s.close();
    });
  }

  it('a checkpoint naming segment id 0 (found by the fuzzer) is ignored: read-only and writable opens see every event', async () => {
    const { fs, base, ids } = await signedStore();
    const c = readCheckpoint(fs);
    fs.putFile(CKPT, encodeCheckpoint({ ...c, segments: c.segments.map((seg, i) => (i === 0 ? { ...seg, id: 0 } : seg)) }));
    for (const readOnly of [true, false]) {
      const s = await Store.open({ ...base, readOnly });
      expect((await everything(s)).map((e) => e.header.eventId).sort()).toEqual([...ids].sort());
      expect((await s.verifyChain()).intact).toBe(true);
      await s.close();
    }
  });

  it('an honest checkpoint is used as before, and a record whose frame matches loads without a scan', async () => {
    const { fs, base, ids } = await signedStore();
    const warnings: string[] = [];
    const s = await Store.open({ ...base, onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([]);
    expect((await s.verifyChain()).intact).toBe(true);
    await s.close();
    // The resident tier's events: those of the segments after the ones served from index files.
    const c = readCheckpoint(fs);
    expect(c.entries.length).toBeGreaterThan(0);
    expect(c.entries.length).toBeLessThan(12);
    expect(c.entries.every((e) => e.segmentId >= c.segments[0]!.id)).toBe(true);
    expect(c.entries.map((e) => e.eventId)).toEqual(ids.slice(12 - c.entries.length));
  });

  it('frameMismatch names the first differing field and accepts an exact entry', async () => {
    const { fs, base, ids } = await signedStore(3);
    const c = readCheckpoint(fs);
    const s = await Store.open({ ...base, readOnly: true });
    const raw = await s.getRaw(ids[2]!);
    await s.close();
    const e = plainEntry(c.entries.find((x) => x.eventId === ids[2])!);
    const seg = scanSegment(fs.inspect(`/db/${String(e.segmentId).padStart(6, '0')}.bps`)!.current, { file: 'x', allowTornTail: false });
    const frame = seg.frames.find((f) => f.frame.type === 0 && Buffer.from(f.frame.id).toString('hex') === ids[2])!.frame as EventFrame;
    expect(raw.bytes.length).toBeGreaterThan(0);
    expect(frameMismatch(e, frame)).toBeUndefined();
    const cases: [string, Partial<IndexEntry>][] = [
      ['eventId', { idBytes: new Uint8Array(16) }],
      ['globalSequence', { globalSequence: e.globalSequence + 1 }],
      ['entitySequence', { entitySequence: e.entitySequence + 1 }],
      ['kind', { kind: e.kind + 1 }],
      ['entity', { entity: 'z' }],
      ['scope', { scope: 'z' }],
      ['committedAt', { committedAt: e.committedAt + 1 }],
      ['prevHash', { prevHash: new Uint8Array(32).fill(1) }],
      ['contentHash', { contentHash: new Uint8Array(32).fill(1) }],
      ['payloadVersion', { payloadVersion: e.payloadVersion + 1 }],
      ['flags', { flags: e.flags ^ EventFlags.RAW }],
      ['batch', { batch: { first: 1, index: 0, count: 1 } }],
      ['encryption', { encryption: { scope: new Uint8Array(1), nonce: new Uint8Array(24), generation: 0 } }],
      ['extensions', { extensions: new Map([['k', new Uint8Array(1)]]) }],
    ];
    for (const [field, change] of cases) expect(frameMismatch({ ...e, ...change }, frame)).toBe(field);
    const withBatch = { ...frame, batch: { first: 1, index: 0, count: 2 } };
    expect(frameMismatch({ ...e, batch: { first: 1, index: 0, count: 2 } }, withBatch)).toBeUndefined();
    expect(frameMismatch({ ...e, batch: { first: 1, index: 1, count: 2 } }, withBatch)).toBe('batch');
    expect(frameMismatch({ ...e, batch: { first: 2, index: 0, count: 2 } }, withBatch)).toBe('batch');
    expect(frameMismatch({ ...e, batch: { first: 1, index: 0, count: 3 } }, withBatch)).toBe('batch');
    const x = { scope: new Uint8Array([1, 2]), nonce: new Uint8Array(24).fill(3), generation: 2 };
    const withX = { ...frame, encryption: x };
    expect(frameMismatch({ ...e, encryption: { ...x, scope: x.scope.slice() } }, withX)).toBeUndefined();
    expect(frameMismatch({ ...e, encryption: { ...x, generation: 1 } }, withX)).toBe('encryption');
    expect(frameMismatch({ ...e, encryption: { ...x, scope: new Uint8Array([1, 3]) } }, withX)).toBe('encryption');
    expect(frameMismatch({ ...e, encryption: { ...x, nonce: new Uint8Array(24) } }, withX)).toBe('encryption');
    const withR = { ...frame, extensions: new Map([['a', new Uint8Array([1])]]) };
    expect(frameMismatch({ ...e, extensions: new Map([['a', new Uint8Array([1])]]) }, withR)).toBeUndefined();
    expect(frameMismatch({ ...e, extensions: new Map([['a', new Uint8Array([2])]]) }, withR)).toBe('extensions');
    expect(frameMismatch({ ...e, extensions: new Map([['b', new Uint8Array([1])]]) }, withR)).toBe('extensions');
    expect(frameMismatch({ ...e, extensions: new Map([['a', new Uint8Array([1])], ['b', new Uint8Array(0)]]) }, withR)).toBe('extensions');
  });
});

describe('the in-place body check open uses for the common case', () => {
  it('matches exactly the canonical encoding of an entry (batches, long and non-ASCII strings, big numbers) and nothing else', async () => {
    const fs = new SimFs(12);
    let clock = 2 ** 40;
    const s = await Store.open({ dir: '/m', fs, now: () => (clock += 70_000) });
    await s.append(new Coordinate('a', 's'), Note, { n: 1 });
    await s.append(new Coordinate('ü-ñ-€', 'scope-with-ünïcode'), Note, { n: 2 });
    await s.append(new Coordinate('e'.repeat(40), 's'.repeat(300)), Note, { n: 3 });
    await s.appendBatch([0, 1, 2].map((n) => ({ coord: new Coordinate('b', 's'), kind: Note, payload: { n } })));
    await s.appendRaw(new Coordinate('a', 's'), { category: 2, typeId: 9 }, new Uint8Array(70_000).fill(7));
    for (let i = 0; i < 200; i++) await s.append(new Coordinate('a', 's'), Note, { n: i });
    await s.close();
    const c = decodeCheckpoint(fs.inspect('/m/index.checkpoint')!.current)!;
    const seg = fs.inspect('/m/000001.bps')!.current;
    const m = new CanonicalBodyMatcher();
    const body = (e: IndexEntry) => seg.subarray(e.offset + 12, e.offset + e.length);
    for (const e of c.entries) {
      expect(m.matches(body(e), e)).toBe(true);
      expect(m.matches(body(e), plainEntry(e))).toBe(true);
    }
    const changes: ((e: IndexEntry) => Partial<IndexEntry>)[] = [
      () => ({ idBytes: new Uint8Array(16) }),
      (e) => ({ globalSequence: e.globalSequence + 1 }),
      (e) => ({ entitySequence: e.entitySequence + 300 }),
      (e) => ({ kind: e.kind ^ 1 }),
      (e) => ({ entity: `${e.entity}x` }),
      (e) => ({ entity: e.entity.length > 1 ? e.entity.slice(0, -1) + 'Z' : 'Z' }),
      (e) => ({ scope: e.scope.length > 1 ? e.scope.slice(0, -1) + 'Z' : 'Z' }),
      (e) => ({ committedAt: e.committedAt + 1 }),
      () => ({ prevHash: new Uint8Array(32).fill(3) }),
      () => ({ contentHash: new Uint8Array(32).fill(3) }),
      (e) => ({ payloadVersion: e.payloadVersion + 1 }),
      (e) => ({ flags: e.flags ^ EventFlags.TOMBSTONE }),
      (e) => ({ batch: e.batch === undefined ? { first: 1, index: 0, count: 1 } : { ...e.batch, index: (e.batch.index + 1) % e.batch.count } }),
      (e) => ({ batch: e.batch === undefined ? undefined : { ...e.batch, count: e.batch.count + 1 } }),
      () => ({ encryption: { scope: new Uint8Array(1), nonce: new Uint8Array(24), generation: 0 } }),
      () => ({ extensions: new Map([['k', new Uint8Array(1)]]) }),
    ];
    for (const e of c.entries) {
      for (const change of changes) {
        const d = change(e);
        if (d.batch === undefined && 'batch' in d && e.batch === undefined) continue;
        expect(m.matches(body(e), { ...plainEntry(e), ...d })).toBe(false);
      }
    }
    // Not an event body, or one cut short: no.
    const e0 = c.entries[0]!;
    expect(m.matches(body(e0).subarray(0, body(e0).length - 1), e0)).toBe(false);
    expect(m.matches(new Uint8Array(0), e0)).toBe(false);
  });
});

describe('compaction drops only what the frames show uncommitted (INV-DERIVED-NOT-AUTHORITY)', () => {
  async function frames() {
    const fs = new SimFs(3);
    const s = await Store.open({ dir: '/c', fs });
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) ids.push((await s.append(new Coordinate('a', 's'), Note, { n })).eventId);
    const entries = new Map<string, IndexEntry>();
    for (const id of ids) {
      const e = await s.get(id);
      entries.set(id, { eventId: id } as IndexEntry);
      expect(e.payload).toEqual({ n: ids.indexOf(id) });
    }
    await s.close();
    return { fs, ids, entries, size: fs.inspect('/c/000001.bps')!.current.length };
  }

  it('an event missing from the index but committed by its frames refuses the compaction', async () => {
    const { fs, ids, entries, size } = await frames();
    const input = {
      fs,
      mergedId: 1,
      sources: [{ id: 1, path: '/c/000001.bps', committedEnd: size }],
      decide: () => 'keep' as const,
      nowMs: 1,
    };
    const all = await buildCompactionOutput({ ...input, committed: (id) => entries.get(id) });
    expect(all.removed).toEqual([]);
    expect(all.survivors.length).toBe(4);
    const err = await buildCompactionOutput({ ...input, committed: (id) => (id === ids[2] ? undefined : entries.get(id)) }).catch((e: unknown) => e);
    expect(isBatpakError(err, 'ERR_CORRUPT_SEGMENT')).toBe(true);
    expect((err as { details: { eventId: string } }).details.eventId).toBe(ids[2]);
  });

  it('an event the frames never committed (an incomplete batch) is still dropped, not refused', async () => {
    const fs = new SimFs(6);
    const s = await Store.open({ dir: '/i', fs });
    const lone = await s.append(new Coordinate('a', 's'), Note, { n: 0 });
    const batch = await s.appendBatch([1, 2, 3].map((n) => ({ coord: new Coordinate('a', 's'), kind: Note, payload: { n } })));
    await s.close();
    const bytes = fs.inspect('/i/000001.bps')!.current;
    const frames = scanSegment(bytes, { file: 'x', allowTornTail: false }).frames;
    // The batch's last item cut off: its first two items are frames no recovery commits.
    const cut = bytes.slice(0, frames[frames.length - 1]!.offset);
    fs.putFile('/i/000001.bps', cut);
    const out = await buildCompactionOutput({
      fs,
      mergedId: 1,
      sources: [{ id: 1, path: '/i/000001.bps', committedEnd: cut.length }],
      committed: (id) => (id === lone.eventId ? ({ eventId: id } as IndexEntry) : undefined),
      decide: () => 'keep',
      nowMs: 1,
    });
    expect(out.survivors.map((x) => x.entry.eventId)).toEqual([lone.eventId]);
    expect(out.removed.map((r) => Buffer.from(r.id).toString('hex'))).toEqual([batch[0]!.eventId, batch[1]!.eventId]);
  });

  it('committedEventOffsets follows recovery: whole batches, sealed groups, everything in a compacted segment', async () => {
    const fs = new SimFs(4);
    const s = await Store.open({ dir: '/d', fs, signingKey: new Uint8Array(32).fill(1) });
    await s.append(new Coordinate('a', 's'), Note, { n: 0 });
    await s.appendBatch([0, 1, 2].map((n) => ({ coord: new Coordinate('a', 's'), kind: Note, payload: { n } })));
    await s.close();
    const bytes = fs.inspect('/d/000001.bps')!.current;
    const scan = scanSegment(bytes, { file: 'x', allowTornTail: false });
    const events = scan.frames.filter((f) => f.frame.type === 0);
    expect(events.length).toBe(4);
    expect([...committedEventOffsets(scan.frames, false)]).toEqual(events.map((f) => f.offset));
    // Without the last seal, the batch (a signed group) is not committed.
    const lastSeal = scan.frames[scan.frames.length - 1]!;
    expect(lastSeal.frame.type).toBe(1);
    expect([...committedEventOffsets(scan.frames.slice(0, -1), false)]).toEqual([events[0]!.offset]);
    // A seal that does not cover exactly the pending events commits nothing.
    const wrong = { ...lastSeal, frame: { ...lastSeal.frame, count: 2 } } as typeof lastSeal;
    expect([...committedEventOffsets([...scan.frames.slice(0, -1), wrong], false)]).toEqual([events[0]!.offset]);
    // A batch missing its middle item is not committed, even sealed.
    const holed = scan.frames.filter((f) => f.offset !== events[2]!.offset);
    expect([...committedEventOffsets(holed, false)]).toEqual([events[0]!.offset]);
    // In a compacted segment every event frame is committed.
    expect([...committedEventOffsets(holed, true)]).toEqual(events.filter((f) => f.offset !== events[2]!.offset).map((f) => f.offset));
    // Unsigned: a lone event commits at once; a batch only when whole.
    const u = new SimFs(5);
    const us = await Store.open({ dir: '/u', fs: u });
    await us.append(new Coordinate('a', 's'), Note, { n: 0 });
    await us.appendBatch([0, 1].map((n) => ({ coord: new Coordinate('a', 's'), kind: Note, payload: { n } })));
    await us.append(new Coordinate('a', 's'), Note, { n: 9 });
    await us.close();
    const uf = scanSegment(u.inspect('/u/000001.bps')!.current, { file: 'x', allowTornTail: false }).frames;
    expect(committedEventOffsets(uf, false).size).toBe(4);
    // The batch's last item gone: its first item is not committed, the events around it are.
    const cut = uf.filter((_, i) => i !== 2);
    expect([...committedEventOffsets(cut, false)]).toEqual([uf[0]!.offset, uf[3]!.offset]);
  });
});
