// Test fixtures for the two-tier index: a real store written through Store (batches, signed groups,
// encryption, a compaction), its events recovered from the segments as the oracle (a ResidentIndex), index
// files written for its sealed segments, and a comparison of every EventIndex call against the oracle.
import { expect } from 'vitest';
import { Coordinate, defineEvent, Store } from '../../src/index.js';
import { SimFs } from '../../src/entry/testing.js';
import { BlockCache } from '../../src/event-index/block-cache.js';
import type { IndexEntry } from '../../src/event-index/entry.js';
import type { EventIndex } from '../../src/event-index/event-index.js';
import { entryFromRecovered } from '../../src/event-index/from-frame.js';
import { ResidentIndex } from '../../src/event-index/resident-index.js';
import { SegmentIndexFile } from '../../src/event-index/segment-index-file.js';
import { encodeIndexFile } from '../../src/event-index/segment-index-encode.js';
import type { IndexedFrame } from '../../src/event-index/segment-index-format.js';
import { indexedFramesOf } from '../../src/event-index/segment-index-scan.js';
import { indexFileName, readBinding } from '../../src/event-index/segment-index-write.js';
import { segmentFileName } from '../../src/segment/format.js';
import { listSegments, recoverLog } from '../../src/segment/recovery.js';
import { SegmentSet } from '../../src/segment/set.js';
import { rng } from './index-file-fixture.js';

const E = defineEvent<{ n: number; pad: string }>({ category: 1, typeId: 1 });
const KEY = new Uint8Array(32).fill(7);

export interface StoreShape {
  readonly seed: number;
  readonly events: number;
  readonly entities: number;
  /** Chance that the next append is a batch of 2–4 events. */
  readonly batchRate: number;
  readonly signed: boolean;
  readonly encrypted: boolean;
  /** Run a retention compaction half-way (a compacted segment with gaps and tombstones). */
  readonly compact: boolean;
  readonly segmentMaxBytes: number;
}

export interface TieredFixture {
  readonly fs: SimFs;
  readonly segments: SegmentSet;
  /** Every committed event, recovered from the segments (commit order). */
  readonly entries: IndexEntry[];
  /** Segment ids, ascending; the last one is the active segment. */
  readonly segmentIds: number[];
  readonly oracle: ResidentIndex;
  readonly entities: string[];
}

const path = (id: number) => `/s/${segmentFileName(id)}`;

/** Writes a store of the given shape and recovers it; the oracle holds every event. */
export async function buildStore(shape: StoreShape): Promise<TieredFixture> {
  const fs = new SimFs(shape.seed);
  const rnd = rng(shape.seed);
  const entities = Array.from({ length: shape.entities }, (_, i) => `ent-${i}`);
  const s = await Store.open({
    dir: '/s',
    fs,
    segmentMaxBytes: shape.segmentMaxBytes,
    checkpoint: 'off',
    ...(shape.signed ? { signingKey: KEY } : {}),
    ...(shape.encrypted ? { payloadEncryption: {} } : {}),
  });
  const item = (n: number) => ({ coord: new Coordinate(entities[Math.floor(rnd() * entities.length)]!, `sc${n % 2}`), kind: E, payload: { n, pad: 'x'.repeat(Math.floor(rnd() * 40)) } });
  for (let n = 0; n < shape.events; ) {
    if (shape.compact && n >= shape.events / 2 && n < shape.events / 2 + 1) await s.compact({ strategy: 'retention', keep: (e) => (e.payload as { n: number }).n % 3 !== 0 });
    if (rnd() < shape.batchRate) {
      const k = 2 + Math.floor(rnd() * 3);
      await s.appendBatch(Array.from({ length: k }, (_, i) => item(n + i)));
      n += k;
    } else {
      const it = item(n++);
      await s.append(it.coord, it.kind, it.payload);
    }
  }
  await s.close();
  const ids = await listSegments(fs, '/s');
  const log = await recoverLog(fs, ids.map((id) => ({ id, path: path(id) })));
  const entries = log.events.map(entryFromRecovered);
  const segments = new SegmentSet(fs);
  for (const seg of log.segments) segments.add(seg.id, seg.path, seg.committedEnd, undefined, seg.crc);
  const oracle = new ResidentIndex(entries.length);
  for (const e of entries) oracle.insert(e);
  return { fs, segments, entries, segmentIds: ids, oracle, entities };
}

/** The committed events of a sealed segment as its index file holds them (read from the segment). */
export async function framesOf(f: TieredFixture, id: number): Promise<IndexedFrame[]> {
  return indexedFramesOf(f.fs, path(id), f.segments.size(id));
}

/** Writes (over whatever is there) the index file of segment `id` holding `frames` (a genuine or forged list), `damage`d if asked, and opens it. */
export async function indexFile(f: TieredFixture, id: number, cache: BlockCache, frames?: IndexedFrame[], damage?: (bytes: Uint8Array) => void): Promise<SegmentIndexFile> {
  const handle = await f.segments.handle(id);
  const binding = await readBinding(handle, id, f.segments.size(id));
  const bytes = await encodeIndexFile({ ...binding, segmentCrc: f.segments.crc(id) ?? 0 }, frames ?? (await framesOf(f, id)));
  damage?.(bytes);
  f.fs.putFile(`/s/${indexFileName(id)}`, bytes);
  const o = await SegmentIndexFile.open(f.fs, `/s/${indexFileName(id)}`, binding, cache);
  if (o.file === undefined) throw new Error(`index file of segment ${id} is stale: ${o.stale}`);
  return o.file;
}

async function flatten(pages: AsyncIterable<readonly IndexEntry[]>): Promise<IndexEntry[]> {
  const out: IndexEntry[] = [];
  for await (const p of pages) {
    expect(p.length).toBeGreaterThan(0);
    out.push(...p);
  }
  return out;
}

/** Asks `index` every EventIndex question and expects exactly the oracle's answers. */
export async function expectSameAnswers(index: EventIndex, f: TieredFixture, seed: number): Promise<void> {
  const o = f.oracle;
  const rnd = rng(seed);
  expect(index.size).toBe(o.size);
  expect(index.generation).toBe(o.generation);
  expect(index.last()).toEqual(o.last());
  expect(index.lastGlobalSequence()).toBe(o.lastGlobalSequence());
  expect(index.summary()).toEqual(o.summary());
  for (const entity of [...f.entities, 'absent']) expect(index.head(entity), entity).toEqual(o.head(entity));
  // headLink: the append path's view of the same head (no entry built), from whichever tier holds the newer one.
  const link = (e: IndexEntry | undefined) => (e === undefined ? undefined : { globalSequence: e.globalSequence, entitySequence: e.entitySequence, contentHash: e.contentHash });
  for (const entity of [...f.entities, 'absent']) {
    const l = index.headLink?.(entity);
    expect(l === undefined ? undefined : { globalSequence: l.globalSequence, entitySequence: l.entitySequence, contentHash: l.contentHash }, `headLink(${entity})`).toEqual(link(o.head(entity)));
  }
  const last = o.lastGlobalSequence();
  for (let g = 0; g <= last + 2; g++) expect(await index.bySequence(g), `bySequence(${g})`).toEqual(await o.bySequence(g));
  for (const e of f.entries) {
    expect(await index.get(e.eventId), `get(${e.eventId})`).toEqual(e);
    expect(await index.has(e.eventId)).toBe(true);
    const resident = index.getResident(e.eventId);
    if (resident !== undefined) expect(resident).toEqual(e);
  }
  for (let i = 0; i < 20; i++) {
    const id = Array.from({ length: 32 }, () => '0123456789abcdef'[Math.floor(rnd() * 16)]).join('');
    expect(await index.get(id)).toEqual(await o.get(id));
  }
  expect(await index.get('not-an-id')).toBeUndefined();
  for (const entity of [...f.entities, 'absent']) {
    const all = await o.entityRange(entity, { afterEntitySequence: 0 }, 1e9);
    for (const limit of [1, 2, 3, 7, all.length + 1]) {
      const at = all.length === 0 ? 0 : Math.floor(rnd() * all.length);
      const bySeq = { afterEntitySequence: all[at]?.entitySequence ?? 0 };
      const byGlobal = { afterGlobalSequence: Math.floor(rnd() * (last + 2)) };
      for (const from of [{ afterEntitySequence: 0 }, bySeq, byGlobal]) {
        expect(await index.entityRange(entity, from, limit), `${entity} ${JSON.stringify(from)} ${limit}`).toEqual(await o.entityRange(entity, from, limit));
      }
    }
  }
  for (const from of [0, 1, Math.floor(rnd() * (last + 1)), Math.floor(rnd() * (last + 1)), last, last + 1]) {
    expect(await flatten(index.scan(from)), `scan(${from})`).toEqual(await flatten(o.scan(from)));
  }
  for (const id of [...f.segmentIds, 999]) expect(await index.segmentEntries(id), `segment ${id}`).toEqual(await o.segmentEntries(id));
}
