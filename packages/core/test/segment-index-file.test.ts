// Index files of sealed segments (FORMAT.md § Segment index files): lookups by sequence, id and entity
// give exactly what the frames hold, and a missing, torn, stale or damaged file is refused, never read
// as an answer (INV-INDEX-FILE-CHECKED).
import { describe, expect, it } from 'vitest';
import { SimFs } from '../src/entry/testing.js';
import { BlockCache } from '../src/event-index/block-cache.js';
import { SegmentIndexFile, type ExpectedBinding } from '../src/event-index/segment-index-file.js';
import { blockPosition, compareBytes, entityKey, INDEX_BLOCK_BYTES, INDEX_HEADER_BYTES, IndexFileDamage, type IndexedFrame } from '../src/event-index/segment-index-format.js';
import { indexFileName, readBinding, writeIndexFile } from '../src/event-index/segment-index-write.js';

const SEG = '/d/000007.bps';
const IDX = `/d/${indexFileName(7)}`;

/** A fake sealed segment (header + filler) and `n` events over `entities` entities, with a gap in the sequences. */
function fixture(n: number, entities: number, seed = 1) {
  let x = seed;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const frames: IndexedFrame[] = [];
  let offset = 32;
  const perEntity = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const id = new Uint8Array(16).map(() => Math.floor(rnd() * 256));
    const entity = `ent-${i % entities}`;
    const seq = (perEntity.get(entity) ?? 0) + 1;
    perEntity.set(entity, seq);
    const length = 40 + Math.floor(rnd() * 100);
    // Global sequences are not dense in a compacted segment: skip some.
    frames.push({ idBytes: id, globalSequence: 1000 + i * 2 + (i > n / 2 ? 5 : 0), entitySequence: seq, entity, offset, length: length - 12, contentHash: new Uint8Array(32).fill(i & 0xff), committedAt: 1_700_000_000_000 + i, flags: 0, encryption: undefined });
    offset += length;
  }
  const segment = new Uint8Array(offset).map((_, i) => (i * 7 + seed) & 0xff);
  return { frames, segment };
}

async function written(n = 1000, entities = 37) {
  const fs = new SimFs(3);
  const { frames, segment } = fixture(n, entities);
  fs.putFile(SEG, segment);
  const seg = await fs.open(SEG);
  await writeIndexFile(fs, IDX, seg, 7, segment.length, 0xdeadbeef, frames);
  const binding = await readBinding(seg, 7, segment.length);
  return { fs, frames, segment, seg, binding };
}

async function opened(fs: SimFs, binding: ExpectedBinding, cache = new BlockCache()) {
  const o = await SegmentIndexFile.open(fs, IDX, binding, cache);
  if (o.file === undefined) throw new Error(`stale: ${o.stale}`);
  return o.file;
}

describe('segment index file', () => {
  it('INV-INDEX-FILE-CHECKED: finds every event by sequence, id and entity, and nothing else', async () => {
    const { fs, frames, binding } = await written();
    const file = await opened(fs, binding);
    expect(file.header.eventCount).toBe(frames.length);
    expect(file.header.segmentCrc).toBe(0xdeadbeef);
    for (const f of frames) {
      const loc = { globalSequence: f.globalSequence, offset: f.offset, length: f.length };
      expect(await file.bySequence(f.globalSequence)).toEqual(loc);
      expect(await file.byId(f.idBytes)).toEqual(loc);
    }
    expect(await file.bySequence(1001)).toBeUndefined();
    expect(await file.bySequence(999)).toBeUndefined();
    expect(await file.bySequence(1_000_000)).toBeUndefined();
    expect(await file.byId(new Uint8Array(16))).toBeUndefined();
    expect(await file.byId(new Uint8Array(16).fill(255))).toBeUndefined();
    for (let e = 0; e < 37; e++) {
      const want = frames.filter((f) => f.entity === `ent-${e}`).map((f) => ({ entitySequence: f.entitySequence, globalSequence: f.globalSequence, offset: f.offset, length: f.length }));
      expect(await file.entity(entityKey(`ent-${e}`))).toEqual(want);
    }
    expect(await file.entity(entityKey('nobody'))).toEqual([]);
    await file.close();
  });

  it('one entity spanning many blocks, and an empty segment', async () => {
    const { fs, frames, binding } = await written(700, 1);
    const file = await opened(fs, binding);
    expect((await file.entity(entityKey('ent-0'))).map((h) => h.entitySequence)).toEqual(frames.map((_, i) => i + 1));
    await file.close();
    const empty = await written(0, 1);
    const none = await opened(empty.fs, empty.binding);
    expect(await none.bySequence(1000)).toBeUndefined();
    expect(await none.byId(new Uint8Array(16))).toBeUndefined();
    expect(await none.entity(entityKey('ent-0'))).toEqual([]);
  });

  it('resident memory is the header, fence, filters and summary, and the block cache stays within its budget', async () => {
    const { fs, frames, binding } = await written(5000, 50);
    const cache = new BlockCache(3 * INDEX_BLOCK_BYTES);
    const file = await opened(fs, binding, cache);
    // 5,000 events: ~25 + 25 + 45 blocks, 8–16 fence bytes each; 10 bits per id and per entity; a 64-byte summary.
    expect(file.residentBytes).toBeLessThan(INDEX_HEADER_BYTES + 2000 + (5000 * 10) / 8 + 8 + 64);
    for (const f of frames) expect((await file.byId(f.idBytes))?.offset).toBe(f.offset);
    expect(cache.bytes).toBeLessThanOrEqual(3 * INDEX_BLOCK_BYTES);
    expect(cache.size).toBe(3);
    await file.close();
    expect(cache.size).toBe(0);
  });

  it('INV-INDEX-FILE-CHECKED: a missing, torn or stale file is refused with its reason', async () => {
    const { fs, binding, segment } = await written();
    expect((await SegmentIndexFile.open(fs, '/d/000008.bpi', binding, new BlockCache())).stale).toBe('missing');
    const bytes = fs.inspect(IDX)!.current;
    fs.putFile(IDX, bytes.subarray(0, bytes.length - 100));
    expect((await SegmentIndexFile.open(fs, IDX, binding, new BlockCache())).stale).toMatch(/length|fence/);
    fs.putFile(IDX, bytes.subarray(0, 50));
    expect((await SegmentIndexFile.open(fs, IDX, binding, new BlockCache())).stale).toMatch(/cut short/);
    fs.putFile(IDX, bytes);
    const stale: [Partial<ExpectedBinding>, RegExp][] = [
      [{ segmentId: 8 }, /segment 7/],
      [{ committedEnd: segment.length + 10 }, /bytes/],
      [{ tailCrc: binding.tailCrc ^ 1 }, /last bytes/],
      [{ segmentHeader: new Uint8Array(32) }, /header differs/],
    ];
    for (const [change, why] of stale) {
      expect((await SegmentIndexFile.open(fs, IDX, { ...binding, ...change }, new BlockCache())).stale).toMatch(why);
    }
    await opened(fs, binding);
  });

  it('INV-INDEX-FILE-CHECKED: a damaged header or fence is refused at open, a damaged block at the lookup that reads it', async () => {
    const { fs, frames, binding } = await written();
    const bytes = fs.inspect(IDX)!.current.slice();
    for (const at of [0, 5, 20, 100, bytes.length - 10]) {
      fs.putFile(IDX, bytes);
      fs.corrupt(IDX, at, 0x40);
      expect((await SegmentIndexFile.open(fs, IDX, binding, new BlockCache())).stale).toBeDefined();
    }
    fs.putFile(IDX, bytes);
    // A flipped bit in the first frame block: open succeeds (the fence is intact), the read is refused.
    fs.corrupt(IDX, INDEX_HEADER_BYTES + 30, 0x01);
    const file = await opened(fs, binding);
    await expect(file.bySequence(frames[0]!.globalSequence)).rejects.toThrow(IndexFileDamage);
    await file.close();
    // One in the first id block: a lookup by id reads that block alone (its records name their frames), then the frame.
    fs.putFile(IDX, bytes);
    fs.corrupt(IDX, blockPosition(file.header, 1, 0) + 30, 0x01);
    const byIdFile = await opened(fs, binding);
    const smallest = frames.map((f) => f.idBytes).sort(compareBytes)[0]!;
    await expect(byIdFile.byId(smallest)).rejects.toThrow(IndexFileDamage);
    await byIdFile.close();
  });
});
