// The EventIndex seam over the all-resident index: ranges, pages, scans from a global sequence, entity
// ranges after an entity or global sequence, segment ranges and the resident summary, each against a plain
// array filter (sequences with holes, as compaction leaves them), with the page boundaries and the empty index.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/encoding/hex.js';
import { checkpointEvents, decodeCheckpoint, encodeCheckpoint, encodeCheckpointRecords, readCheckpoint, type CheckpointBytes } from '../src/event-index/checkpoint.js';
import { plainEntry, type IndexEntry } from '../src/event-index/entry.js';
import { collectRange, entityEvents, entityPages, type EventIndex } from '../src/event-index/event-index.js';
import { ResidentIndex } from '../src/event-index/resident-index.js';
import { encodeIndexFile } from '../src/event-index/segment-index-encode.js';
import { EventFlags } from '../src/segment/frame.js';

interface Spec {
  readonly entity: string;
  readonly globalSequence: number;
  readonly entitySequence: number;
  readonly segmentId?: number;
  readonly flags?: number;
  readonly encryption?: { readonly scope: Uint8Array; readonly generation: number };
}

const entry = (s: Spec): IndexEntry => {
  const eventId = s.globalSequence.toString(16).padStart(32, '0');
  return {
    eventId,
    idBytes: fromHex(eventId),
    entity: s.entity,
    scope: '',
    kind: 0,
    committedAt: 1_700_000_000_000 + s.globalSequence,
    prevHash: new Uint8Array(32).fill(s.globalSequence & 0xff),
    contentHash: new Uint8Array(32).fill((s.globalSequence + 1) & 0xff),
    payloadVersion: 0,
    batch: undefined,
    extensions: undefined,
    globalSequence: s.globalSequence,
    entitySequence: s.entitySequence,
    segmentId: s.segmentId ?? 1,
    offset: 32 + s.globalSequence * 100,
    length: 100,
    flags: s.flags ?? 0,
    encryption: s.encryption === undefined ? undefined : { ...s.encryption, nonce: new Uint8Array(24) },
  };
};

/** An entry's fields as a plain object: the index makes a new entry object per answer, equal field by field. */
const fields = (e: IndexEntry | undefined) => (e === undefined ? undefined : { ...plainEntry(e) });

/** `n` events over `entities` entities round-robin, global sequences 1..n, entity sequences 1.. per entity. */
function filled(n: number, entities = 1, segmentEvery = Infinity): { index: ResidentIndex; all: IndexEntry[] } {
  const index = new ResidentIndex();
  const seqs = new Map<string, number>();
  const all: IndexEntry[] = [];
  for (let g = 1; g <= n; g++) {
    const entity = `e${g % entities}`;
    const es = (seqs.get(entity) ?? 0) + 1;
    seqs.set(entity, es);
    const e = entry({ entity, globalSequence: g, entitySequence: es, segmentId: 1 + Math.floor((g - 1) / segmentEvery) });
    index.insert(e);
    all.push(e);
  }
  return { index, all };
}

async function pagesOf(pages: AsyncIterable<readonly IndexEntry[]>): Promise<(readonly IndexEntry[])[]> {
  const out: (readonly IndexEntry[])[] = [];
  for await (const p of pages) out.push(p);
  return out;
}

const seqs = (list: readonly IndexEntry[]) => list.map((e) => e.globalSequence);

describe('ResidentIndex through the EventIndex seam', () => {
  it('an empty index answers every lookup with nothing', async () => {
    const index: EventIndex = new ResidentIndex();
    expect(index.size).toBe(0);
    expect(index.last()).toBeUndefined();
    expect(index.lastGlobalSequence()).toBe(0);
    expect(index.head('e')).toBeUndefined();
    expect(index.getResident('0'.repeat(32))).toBeUndefined();
    expect(await index.get('0'.repeat(32))).toBeUndefined();
    expect(await index.has('0'.repeat(32))).toBe(false);
    expect(await index.bySequence(1)).toBeUndefined();
    expect(await index.entityRange('e', { afterEntitySequence: 0 }, 10)).toEqual([]);
    expect(await pagesOf(index.scan(1))).toEqual([]);
    expect(await pagesOf(index.scan(0))).toEqual([]);
    expect(await index.segmentEntries(1)).toEqual([]);
    expect(await collectRange(index, 1, Infinity)).toEqual([]);
    expect(await pagesOf(entityPages(index, 'e'))).toEqual([]);
    expect(index.summary()).toEqual({ signedEvents: 0, firstEncrypted: undefined, generations: new Map() });
  });

  it('answers every range like a filter over commit order, holes in the sequences included', async () => {
    // A step per event: which of 3 entities, how far the global sequence moves (a hole past 1), whether the
    // entity sequence skips one (compaction dropped an event), whether a new segment starts.
    const step = fc.record({ entity: fc.nat(2), gap: fc.integer({ min: 1, max: 3 }), skip: fc.boolean(), rotate: fc.boolean() });
    const query = fc.record({ entity: fc.nat(3), after: fc.integer({ min: -1, max: 130 }), limit: fc.integer({ min: 1, max: 8 }), segment: fc.integer({ min: 0, max: 40 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), fc.array(query, { minLength: 1, maxLength: 8 }), async (steps, queries) => {
        const index = new ResidentIndex();
        const all: IndexEntry[] = [];
        const es = [0, 0, 0];
        let g = 0;
        let segmentId = 1;
        for (const s of steps) {
          g += s.gap;
          es[s.entity]! += s.skip ? 2 : 1;
          if (s.rotate) segmentId++;
          const e = entry({ entity: `e${s.entity}`, globalSequence: g, entitySequence: es[s.entity]!, segmentId });
          index.insert(e);
          all.push(e);
        }
        expect(index.size).toBe(all.length);
        expect(index.lastGlobalSequence()).toBe(g);
        for (const q of queries) {
          const entity = `e${q.entity}`;
          const ofEntity = all.filter((e) => e.entity === entity);
          expect(seqs((await pagesOf(index.scan(q.after))).flat()), `scan(${q.after})`).toEqual(seqs(all.filter((e) => e.globalSequence >= q.after)));
          expect((await index.bySequence(q.after))?.globalSequence).toBe(all.find((e) => e.globalSequence === q.after)?.globalSequence);
          expect(seqs(await index.entityRange(entity, { afterEntitySequence: q.after }, q.limit)), `after entity sequence ${q.after}`).toEqual(
            seqs(ofEntity.filter((e) => e.entitySequence > q.after).slice(0, q.limit)),
          );
          expect(seqs(await index.entityRange(entity, { afterGlobalSequence: q.after }, q.limit)), `after global sequence ${q.after}`).toEqual(
            seqs(ofEntity.filter((e) => e.globalSequence > q.after).slice(0, q.limit)),
          );
          expect(seqs(await collectRange(index, q.after, q.after + q.limit))).toEqual(seqs(all.filter((e) => e.globalSequence >= q.after && e.globalSequence <= q.after + q.limit)));
          expect(seqs(await index.segmentEntries(q.segment))).toEqual(seqs(all.filter((e) => e.segmentId === q.segment)));
          expect(fields(index.head(entity))).toEqual(fields(ofEntity[ofEntity.length - 1]));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('scans a page at a time, never an empty page, from any sequence across page boundaries', async () => {
    const { index, all } = filled(2049);
    const pages = await pagesOf(index.scan(1));
    expect(pages.map((p) => p.length)).toEqual([1024, 1024, 1]);
    expect(pages.flat().map(fields)).toEqual(all.map(fields));
    for (const from of [1024, 1025, 2048, 2049]) expect(seqs((await pagesOf(index.scan(from))).flat())).toEqual(seqs(all.slice(from - 1)));
    expect(await pagesOf(index.scan(2050))).toEqual([]);
  });

  it('pages an entity of exactly two pages, and one past that, without loss or repeats', async () => {
    for (const n of [512, 513]) {
      const { index, all } = filled(n);
      const pages = await pagesOf(entityPages(index, 'e0'));
      expect(pages.map((p) => p.length)).toEqual(n === 512 ? [256, 256] : [256, 256, 1]);
      expect(pages.flat().map(fields)).toEqual(all.map(fields));
    }
    const { index, all } = filled(700, 2);
    const after: IndexEntry[] = [];
    for await (const e of entityEvents(index, 'e1', { afterEntitySequence: 100 })) after.push(e);
    expect(after.map(fields)).toEqual(all.filter((e) => e.entity === 'e1' && e.entitySequence > 100).map(fields));
  });

  it('sees events appended while a scan runs, and follows a replaceSegments from where it was', async () => {
    const { index, all } = filled(2048, 1, 1000);
    const pages = index.scan(1)[Symbol.asyncIterator]();
    const first = await pages.next();
    expect(seqs(first.value as IndexEntry[])).toEqual(seqs(all.slice(0, 1024)));
    // Compaction drops the even events of segments 1 and 2; an append lands in segment 3 meanwhile.
    const before = index.generation;
    index.replaceSegments([1, 2], all.filter((e) => e.segmentId <= 2 && e.globalSequence % 2 === 1));
    index.insert(entry({ entity: 'e0', globalSequence: 2049, entitySequence: 2049, segmentId: 3 }));
    expect(index.generation).toBe(before + 1);
    const rest: IndexEntry[] = [];
    for (let r = await pages.next(); r.done !== true; r = await pages.next()) rest.push(...r.value);
    const expected = [...all.filter((e) => e.globalSequence > 1024 && (e.segmentId === 3 || e.globalSequence % 2 === 1)).map((e) => e.globalSequence), 2049];
    expect(seqs(rest)).toEqual(expected);
    expect(index.size).toBe(1000 + 48 + 1);
    expect(await index.get(all[1]!.eventId)).toBeUndefined();
    expect(index.head('e0')?.globalSequence).toBe(2049);
  });

  it('replaceSegments keeps the other segments in commit order, whatever their place', async () => {
    const { index, all } = filled(30, 3, 10);
    // Replace segment 2 only (the middle): segments 1 and 3 stay, merged around it by global sequence.
    const middle = all.filter((e) => e.segmentId === 2 && e.globalSequence !== 15);
    index.replaceSegments([2], middle);
    expect(seqs((await pagesOf(index.scan(1))).flat())).toEqual(seqs(all.filter((e) => e.globalSequence !== 15)));
    expect(seqs(await index.entityRange('e0', { afterEntitySequence: 0 }, 100))).toEqual(seqs(all.filter((e) => e.entity === 'e0' && e.globalSequence !== 15)));
  });

  it('replaceSegments of runs that are not adjacent, or of a segment it does not hold, keeps exactly the rest', async () => {
    const { index, all } = filled(40, 4, 10);
    index.replaceSegments([3, 1, 9], []);
    const rest = all.filter((e) => e.segmentId === 2 || e.segmentId === 4);
    expect(seqs((await pagesOf(index.scan(1))).flat())).toEqual(seqs(rest));
    expect(index.size).toBe(rest.length);
    for (const e of all) expect((await index.get(e.eventId))?.globalSequence).toBe(rest.includes(e) ? e.globalSequence : undefined);
    index.replaceSegments([4], []);
    expect(seqs((await pagesOf(index.scan(1))).flat())).toEqual(seqs(all.filter((e) => e.segmentId === 2)));
  });

  it('keeps a summary of signed and encrypted events, rebuilt by replaceSegments', () => {
    const index = new ResidentIndex();
    const scopeA = new Uint8Array([1, 2]);
    const scopeB = new Uint8Array([3]);
    index.insert(entry({ entity: 'a', globalSequence: 1, entitySequence: 1 }));
    index.insert(entry({ entity: 'a', globalSequence: 2, entitySequence: 2, flags: EventFlags.SEALED, encryption: { scope: scopeA, generation: 3 } }));
    index.insert(entry({ entity: 'a', globalSequence: 3, entitySequence: 3, flags: EventFlags.SEALED, encryption: { scope: scopeA, generation: 1 }, segmentId: 2 }));
    index.insert(entry({ entity: 'b', globalSequence: 4, entitySequence: 1, encryption: { scope: scopeB, generation: 0 }, segmentId: 2 }));
    let s = index.summary();
    expect(s.signedEvents).toBe(2);
    expect(s.firstEncrypted).toBe(entry({ entity: 'a', globalSequence: 2, entitySequence: 2 }).eventId);
    expect([...s.generations.values()]).toEqual([
      { scope: scopeA, generation: 3 },
      { scope: scopeB, generation: 0 },
    ]);
    // Segment 1 (events 1 and 2) compacted away entirely: only segment 2's events count.
    index.replaceSegments([1], []);
    s = index.summary();
    expect(s.signedEvents).toBe(1);
    expect(s.firstEncrypted).toBe(entry({ entity: 'a', globalSequence: 3, entitySequence: 3 }).eventId);
    expect([...s.generations.values()].map((g) => g.generation)).toEqual([1, 0]);
    expect(index.last()?.globalSequence).toBe(4);
  });
});

describe('ResidentIndex holds entries as records (INV-INDEX-RESIDENT-COMPACT)', () => {
  /** Distinct per g: g in the first four bytes, a pattern after. */
  const richId = (g: number) => new Uint8Array(16).map((_, i) => (i < 4 ? (g >>> (8 * i)) & 0xff : (g * 31 + i * 7) & 0xff));
  const rich = (g: number, entity: string): IndexEntry => ({
    ...plainEntry(entry({ entity, globalSequence: g, entitySequence: g })),
    eventId: toHex(richId(g)),
    idBytes: richId(g),
    scope: `scope-${g % 3}`,
    kind: 0x1234,
    payloadVersion: 7,
    flags: EventFlags.SEALED,
    committedAt: 1_765_000_000_123.5,
    offset: 2 ** 40 + g,
    length: 0xfffffff0,
    segmentId: 0xfffffffe,
    batch: g % 2 === 0 ? { first: g, index: 0, count: 2 } : { first: g - 1, index: 1, count: 2 },
    encryption: g % 3 === 0 ? { scope: new Uint8Array([g & 0xff, 9]), nonce: new Uint8Array(24).fill(g & 0xff), generation: g } : undefined,
    extensions: g % 4 === 0 ? new Map([['batpak.signing.downgrade', new Uint8Array([1, 2, g & 0xff])]]) : undefined,
  });

  it('segmentEntries: views and copies give the same fields and the same index file, and the event loop turns meanwhile', async () => {
    const index = new ResidentIndex();
    const n = 40_000;
    for (let g = 1; g <= n; g++) index.insert({ ...rich(g, `entité-${g % 7}`), segmentId: g <= n - 10 ? 1 : 2 });
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const copies = await index.segmentEntries(1);
    const views = await index.segmentEntries(1, { views: true });
    clearInterval(ticker);
    // 2 × 39,990 entries: at least two turns of the loop each (16,384 per turn), where one synchronous step had none.
    expect(turns).toBeGreaterThanOrEqual(2);
    expect(copies.length).toBe(n - 10);
    expect(views.map(fields)).toEqual(copies.map(fields));
    const binding = { segmentId: 1, committedEnd: 2 ** 41, segmentHeader: new Uint8Array(32).fill(3), tailCrc: 7, segmentCrc: 9 };
    expect(Buffer.from(await encodeIndexFile(binding, views)).equals(Buffer.from(await encodeIndexFile(binding, copies)))).toBe(true);
  }, 60_000);

  it('a seal (replaceSegments with no entries) keeps every field of the records it keeps, across record chunks', async () => {
    // 4,096 records per chunk: segment 2 starts inside the second chunk and spans three, segment 3 follows it.
    const index = new ResidentIndex();
    const n = 14_000;
    const seg = (g: number) => (g <= 5_000 ? 1 : g <= 13_000 ? 2 : 3);
    const all = Array.from({ length: n }, (_, k) => ({ ...rich(k + 1, `entité-${(k + 1) % 11}`), segmentId: seg(k + 1) }));
    for (const e of all) index.insert(e);
    index.replaceSegments([1], []);
    const kept = all.filter((e) => e.segmentId !== 1);
    expect(index.size).toBe(kept.length);
    expect((await pagesOf(index.scan(1))).flat().map(fields)).toEqual(kept.map(fields));
    for (const e of all) expect(fields(await index.get(e.eventId))).toEqual(e.segmentId === 1 ? undefined : fields(e));
    expect(fields(index.head('entité-3'))).toEqual(fields(kept.filter((e) => e.entity === 'entité-3').at(-1)));
    expect((await index.entityRange('entité-5', { afterEntitySequence: 0 }, 10_000)).map(fields)).toEqual(kept.filter((e) => e.entity === 'entité-5').map(fields));
    expect((await index.segmentEntries(3)).map(fields)).toEqual(all.filter((e) => e.segmentId === 3).map(fields));
    // Inserts after it land after the kept records.
    const later = { ...rich(n + 1, 'entité-new'), segmentId: 3 };
    index.insert(later);
    expect(fields(await index.get(later.eventId))).toEqual(fields(later));
    expect(index.summary().signedEvents).toBe(kept.length + 1);
  }, 60_000);

  it('answers every field of every entry as inserted, by id, sequence, entity and scan', async () => {
    const index = new ResidentIndex();
    const all = Array.from({ length: 1500 }, (_, i) => rich(i + 1, `entité-${i % 7}`));
    for (const e of all) index.insert(e);
    for (const e of all) {
      expect(fields(index.getResident(e.eventId))).toEqual(fields(e));
      expect(fields(await index.bySequence(e.globalSequence))).toEqual(fields(e));
    }
    expect((await pagesOf(index.scan(1))).flat().map(fields)).toEqual(all.map(fields));
    expect((await index.entityRange('entité-3', { afterEntitySequence: 0 }, 10_000)).map(fields)).toEqual(all.filter((e) => e.entity === 'entité-3').map(fields));
    // A record's entry is a new object each time, over bytes that never change.
    expect(index.getResident(all[9]!.eventId)).not.toBe(index.getResident(all[9]!.eventId));
  });

  it('finds an id only by its lowercase hex: uppercase, short or non-hex text finds nothing', async () => {
    const index = new ResidentIndex();
    const e = rich(10, 'a');
    index.insert(e);
    expect(index.getResident(e.eventId)?.eventId).toBe(e.eventId);
    for (const id of [e.eventId.toUpperCase(), e.eventId.slice(1), `${e.eventId}0`, `g${e.eventId.slice(1)}`, '', 'x'.repeat(32)]) {
      expect(index.getResident(id)).toBeUndefined();
      expect(await index.has(id)).toBe(false);
    }
  });

  it('an id inserted twice points at the later entry (as a map would), and both stay in their entity', async () => {
    const index = new ResidentIndex();
    const a = rich(1, 'a');
    const b = { ...plainEntry(rich(2, 'a')), eventId: a.eventId, idBytes: a.idBytes };
    index.insert(a);
    index.insert(b);
    expect(index.getResident(a.eventId)?.globalSequence).toBe(2);
    expect((await index.entityRange('a', { afterEntitySequence: 0 }, 10)).map((e) => e.globalSequence)).toEqual([1, 2]);
  });

  it('adopts a decoded checkpoint\'s records as they are, and reports the first repeated id', async () => {
    const all = Array.from({ length: 300 }, (_, i) => rich(i + 1, `e${i % 5}`));
    const image = encodeCheckpoint({ segments: [{ id: 1, committedEnd: 32, header: new Uint8Array(32), crc: 0 }], lastSeen: 300, lastInCompacted: false, lastCommittedAt: 0, compactions: 0, entries: all });
    const decoded = decodeCheckpoint(image)!;
    const { index, duplicate } = ResidentIndex.fromRecords(decoded.records);
    expect(duplicate).toBe(-1);
    expect((await pagesOf(index.scan(1))).flat().map(fields)).toEqual(all.map(fields));
    // The tail appended after the adopted records is the index's, never the checkpoint's.
    index.insert(rich(301, 'e0'));
    expect(index.size).toBe(301);
    expect(checkpointEvents(decoded)).toBe(300);
    expect(decoded.entries.length).toBe(300);
    for (const e of all) expect(fields(index.getResident(e.eventId))).toEqual(fields(e));
    expect(index.summary().signedEvents).toBe(301);
    const twice = [...all.slice(0, 5), { ...plainEntry(all[5]!), eventId: all[2]!.eventId, idBytes: all[2]!.idBytes }];
    const again = encodeCheckpoint({ segments: [{ id: 1, committedEnd: 32, header: new Uint8Array(32), crc: 0 }], lastSeen: 6, lastInCompacted: false, lastCommittedAt: 0, compactions: 0, entries: twice });
    expect(ResidentIndex.fromRecords(decodeCheckpoint(again)!.records).duplicate).toBe(5);
  });

  it('a checkpoint image encoded from the records is byte for byte the one encoded from the entries', () => {
    const index = new ResidentIndex();
    const all = Array.from({ length: 700 }, (_, i) => ({ ...rich(i + 1, `e${i % 9}`), segmentId: i < 200 ? 3 : 4 }));
    for (const e of all) index.insert(e);
    const meta = { segments: [{ id: 4, committedEnd: 32, header: new Uint8Array(32).fill(5), crc: 7 }], lastSeen: 700, lastInCompacted: false, lastCommittedAt: 9, compactions: 2 };
    const fromRecords = encodeCheckpointRecords(meta, index.recordsAfterSegment(3));
    expect(fromRecords).toEqual(encodeCheckpoint({ ...meta, entries: all.slice(200) }));
    expect(decodeCheckpoint(fromRecords)!.entries.map(fields)).toEqual(all.slice(200).map(fields));
  });

  it('a checkpoint read a small window at a time decodes to what the whole image does; a cut or flipped byte reads as none', async () => {
    const all = Array.from({ length: 500 }, (_, i) => rich(i + 1, `entité-${i % 11}-${'x'.repeat(i % 40)}`));
    const image = encodeCheckpoint({ segments: [1, 2].map((id) => ({ id, committedEnd: 64, header: new Uint8Array(32).fill(id), crc: id })), lastSeen: 500, lastInCompacted: true, lastCommittedAt: 3, compactions: 1, entries: all });
    const whole = decodeCheckpoint(image)!;
    const reads: number[] = [];
    const src = (bytes: Uint8Array): CheckpointBytes => ({
      size: bytes.length,
      read: async (pos, length) => {
        reads.push(length);
        return bytes.slice(pos, pos + length);
      },
    });
    // Windows smaller than a record, a name or an extra, and ones that cut records and names anywhere.
    for (const chunk of [1, 97, 164 * 3 + 5, 4096]) {
      reads.length = 0;
      const got = (await readCheckpoint(src(image), chunk))!;
      expect(got.entries.map(fields)).toEqual(all.map(fields));
      expect({ ...got, records: undefined, entries: undefined }).toEqual({ ...whole, records: undefined, entries: undefined });
      // Every byte, in pieces no longer than the window or the one item being read (an item cut by a window's end is
      // read again with the next: at most a record's bytes more per read).
      const total = reads.reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThanOrEqual(image.length);
      expect(total).toBeLessThanOrEqual(image.length + reads.length * 164);
      expect(Math.max(...reads)).toBeLessThanOrEqual(Math.max(chunk, 164));
    }
    for (const cut of [0, 11, 12, 200, image.length - 1]) expect(await readCheckpoint(src(image.subarray(0, cut)), 97)).toBeUndefined();
    for (const at of [3, 9, 40, 300, 1000, image.length - 3]) {
      const bad = image.slice();
      bad[at]! ^= 0x10;
      expect(await readCheckpoint(src(bad), 97)).toBeUndefined();
      expect(decodeCheckpoint(bad)).toBeUndefined();
    }
    expect(await readCheckpoint(src(new Uint8Array([...image, 0])), 97)).toBeUndefined();
  });

  it('a sealed segment\'s heads are the newest entry per entity, detached from the records', () => {
    const { index, all } = filled(10_000, 3, 6000);
    const view = index.segmentSealView(1);
    expect(view).toMatchObject({ count: 6000, first: 1, last: 6000 });
    const newest = ['e0', 'e1', 'e2'].map((en) => all.filter((e) => e.segmentId === 1 && e.entity === en).pop()!);
    expect(view.heads.map(fields).sort((x, y) => x!.globalSequence - y!.globalSequence)).toEqual(newest.map(fields).sort((x, y) => x!.globalSequence - y!.globalSequence));
    // Own bytes: a kept head pins no chunk of records.
    for (const h of view.heads) for (const b of [h.idBytes, h.prevHash, h.contentHash]) expect(b.buffer.byteLength).toBeLessThan(1024);
    expect(index.segmentSealView(9)).toEqual({ count: 0, first: 0, last: 0, heads: [] });
  });
});
