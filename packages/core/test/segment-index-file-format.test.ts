// Index files, version 3 (FORMAT.md § Segment index files): a file of another version is stale and rebuilt, and a
// byte changed anywhere — header, any block, lists, fence, either filter, summary — is refused (stale at
// open, or IndexFileDamage at the lookup that reads it), never a wrong answer (INV-INDEX-FILE-CHECKED).
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store, type WarningCode } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { BlockCache } from '../src/event-index/block-cache.js';
import { SegmentIndexFile } from '../src/event-index/segment-index-file.js';
import { entityKey, INDEX_BLOCK_BYTES, INDEX_HEADER_BYTES, IndexFileDamage, listsPosition } from '../src/event-index/segment-index-format.js';
import { indexFileName } from '../src/event-index/segment-index-write.js';
import { encodeIndexFile } from '../src/event-index/segment-index-encode.js';
import { IDX, openFile, randomSegment, rng, writtenFile } from './helpers/index-file-fixture.js';

/** Every answer the file gives; throws IndexFileDamage when a part it reads does not check out. */
async function readEverything(file: SegmentIndexFile, frames: ReturnType<typeof randomSegment>['frames']) {
  const out: unknown[] = [await file.heads(), await file.lists()];
  for (const f of frames) out.push(await file.byId(f.idBytes), await file.bySequence(f.globalSequence), await file.head(f.entity), await file.entity(entityKey(f.entity)));
  return out;
}

/** With version `v` written over the header (and its CRC fixed), as a file of another version would be. */
function withVersion(bytes: Uint8Array, v: number): Uint8Array {
  const out = bytes.slice();
  const dv = new DataView(out.buffer);
  dv.setUint16(4, v, true);
  dv.setUint32(124, crc32(out.subarray(0, 124)), true);
  return out;
}

describe('segment index file format', () => {
  it('INV-INDEX-FILE-CHECKED: a version-1 or version-2 (or any other version) file is stale', async () => {
    const { frames, segment } = randomSegment({ n: 50, entities: ['a', 'b'], seed: 5 });
    const { fs, binding } = await writtenFile(frames, segment);
    const current = fs.inspect(IDX)!.current.slice();
    for (const v of [0, 1, 2, 4, 0xffff]) {
      fs.putFile(IDX, withVersion(current, v));
      expect((await SegmentIndexFile.open(fs, IDX, binding, new BlockCache())).stale).toBe(`unknown version ${v}`);
    }
    fs.putFile(IDX, current);
    await (await openFile(fs, binding)).close();
  });

  it('INV-INDEX-FILE-REBUILT: a store whose index files are version 2 rebuilds each at open, with a warning', async () => {
    const fs = new SimFs(11);
    const E = defineEvent<{ n: number }>({ category: 1, typeId: 1 });
    const s = await Store.open({ dir: '/s', fs, segmentMaxBytes: 600 });
    for (let i = 0; i < 30; i++) await s.append(new Coordinate(`e${i % 3}`, 's'), E, { n: i });
    await s.close();
    const files = fs.listFiles().filter((p) => p.endsWith('.bpi'));
    expect(files.length).toBeGreaterThan(2);
    const current = new Map(files.map((p) => [p, fs.inspect(p)!.current.slice()]));
    for (const [p, bytes] of current) fs.putFile(p, withVersion(bytes, 2));
    const warnings: { message: string; code: WarningCode }[] = [];
    const again = await Store.open({ dir: '/s', fs, segmentMaxBytes: 600, onWarning: (message, code) => warnings.push({ message, code }) });
    await again.close();
    const rebuilt = warnings.filter((w) => w.code === 'BATPAK_INDEX_FILE_REBUILT');
    expect(rebuilt).toHaveLength(files.length);
    expect(rebuilt[0]!.message).toMatch(/unknown version 2/);
    // Rebuilt byte for byte as version 3.
    for (const [p, bytes] of current) expect(Buffer.compare(fs.inspect(p)!.current, bytes)).toBe(0);
    expect(files.map((p) => p.slice(3))).toContain(indexFileName(1));
  });

  it('INV-INDEX-FILE-CHECKED: a changed byte anywhere is refused, never read as an answer', async () => {
    const { frames, segment } = randomSegment({ n: 450, entities: ['x'.repeat(1000), 'y'.repeat(900), 'v'.repeat(1024), 'u'.repeat(1020), 'z', 'w', 'ü'], seed: 9, jumpRate: 0.05, encryptRate: 0.3 });
    const { fs, binding } = await writtenFile(frames, segment);
    const bytes = fs.inspect(IDX)!.current.slice();
    const file = await openFile(fs, binding);
    const truth = JSON.stringify(await readEverything(file, frames));
    const h = file.header;
    await file.close();
    expect(h.headBlocks).toBeGreaterThan(1);
    expect(h.listsBytes).toBeGreaterThan(12);
    // Every byte outside the blocks, and in every block its first and last bytes and a sample between.
    const blocksEnd = listsPosition(h);
    const positions = new Set<number>();
    for (let i = 0; i < INDEX_HEADER_BYTES; i++) positions.add(i);
    for (let i = blocksEnd; i < bytes.length; i++) positions.add(i);
    const rnd = rng(77);
    for (let at = INDEX_HEADER_BYTES; at < blocksEnd; at += INDEX_BLOCK_BYTES) {
      for (const k of [0, 1, 2, 3, 4, 5, INDEX_BLOCK_BYTES - 5, INDEX_BLOCK_BYTES - 1]) positions.add(at + k);
      for (let j = 0; j < 24; j++) positions.add(at + Math.floor(rnd() * INDEX_BLOCK_BYTES));
    }
    let staleAtOpen = 0;
    let refusedAtRead = 0;
    for (const at of positions) {
      const damaged = bytes.slice();
      damaged[at]! ^= 1 << Math.floor(rnd() * 8);
      fs.putFile(IDX, damaged);
      const o = await SegmentIndexFile.open(fs, IDX, binding, new BlockCache());
      if (o.stale !== undefined) {
        staleAtOpen++;
        continue;
      }
      // Opened: only a block or the lists can be damaged, and reading them must refuse.
      expect(at >= INDEX_HEADER_BYTES && at < h.listsBytes + blocksEnd, `byte ${at} passed open`).toBe(true);
      const read = await readEverything(o.file, frames).then(
        (answers) => JSON.stringify(answers),
        (err: unknown) => err,
      );
      await o.file.close();
      expect(read, `byte ${at} changed the answers instead of being refused`).toBeInstanceOf(IndexFileDamage);
      refusedAtRead++;
    }
    expect(staleAtOpen).toBeGreaterThan(INDEX_HEADER_BYTES);
    expect(refusedAtRead).toBeGreaterThan(100);
    expect(truth.length).toBeGreaterThan(0);
  });

  it('a name of 4,018 bytes (a whole block) is kept whole; a longer one makes the file unwritable, not wrong', async () => {
    const longest = 'm'.repeat(4018);
    const { frames, segment } = randomSegment({ n: 30, entities: [longest, 'a', 'b'], seed: 4 });
    const { fs, binding } = await writtenFile(frames, segment);
    const file = await openFile(fs, binding);
    expect((await file.head(longest))?.entity).toBe(longest);
    expect(file.header.headBlocks).toBe(2);
    await file.close();
    const tooLong = randomSegment({ n: 3, entities: ['n'.repeat(4019)], seed: 4 });
    await expect(encodeIndexFile({ ...binding, segmentCrc: 0 }, tooLong.frames)).rejects.toThrow(RangeError);
  });

  it('head() finds entities whose names are long and not ASCII, and a missing entity costs no read when the filter says no', async () => {
    const names = ['é'.repeat(512), '𝄞'.repeat(256), 'plain', ''];
    const { frames, segment } = randomSegment({ n: 40, entities: names, seed: 3 });
    const { fs, binding } = await writtenFile(frames, segment);
    const cache = new BlockCache();
    const file = await openFile(fs, binding, cache);
    for (const name of names) expect((await file.head(name))?.entity).toBe(name);
    const before = cache.size;
    let absentPassed = 0;
    for (let i = 0; i < 200; i++) {
      if (file.mayContainEntity(`absent-${i}`)) absentPassed++;
      else expect(await file.head(`absent-${i}`)).toBeUndefined();
    }
    expect(absentPassed).toBeLessThan(20);
    expect(cache.size).toBe(before);
    await file.close();
  });
});
