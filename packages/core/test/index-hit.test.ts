// A hit from an index file is a place to read, not an answer (INV-DERIVED-NOT-AUTHORITY): a forged file
// whose CRCs and binding all check out is caught when the frame it points at is read and compared.
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { fromHex } from '../src/encoding/hex.js';
import { BlockCache } from '../src/event-index/block-cache.js';
import { checkHit } from '../src/event-index/index-hit.js';
import { SegmentIndexFile } from '../src/event-index/segment-index-file.js';
import { encodeIndexFile } from '../src/event-index/segment-index-encode.js';
import type { IndexedFrame } from '../src/event-index/segment-index-format.js';
import { indexFileName, readBinding } from '../src/event-index/segment-index-write.js';
import { SegmentSet } from '../src/segment/set.js';

const E = defineEvent<{ n: number }>({ category: 1, typeId: 1 });
const SEG = '/s/000001.bps';
const IDX = `/s/${indexFileName(1)}`;

/** A store whose first segment is sealed; the events of that segment as its index file holds them. */
async function sealedStore() {
  const fs = new SimFs(9);
  const s = await Store.open({ dir: '/s', fs, segmentMaxBytes: 2000 });
  for (let i = 0; i < 40; i++) await s.append(new Coordinate(`e${i % 4}`, 's'), E, { n: i });
  const events = [];
  for await (const e of s.query()) events.push(e);
  await s.close();
  const seg = await fs.open(SEG);
  const binding = await readBinding(seg, 1, await seg.size());
  await seg.close();
  const file = (await SegmentIndexFile.open(fs, IDX, binding, new BlockCache())).file!;
  const frames: IndexedFrame[] = [];
  for (const e of events) {
    const loc = await file.bySequence(Number(e.header.globalSequence));
    if (loc === undefined) continue;
    frames.push({ idBytes: fromHex(e.header.eventId), globalSequence: loc.globalSequence, entitySequence: Number(e.header.entitySequence), entity: e.coordinate.entity, offset: loc.offset, length: loc.length, contentHash: new Uint8Array(32), committedAt: 0, flags: 0, encryption: undefined });
  }
  await file.close();
  const segments = new SegmentSet(fs);
  segments.add(1, SEG, binding.committedEnd);
  return { fs, frames, binding, segments };
}

/** Writes a file that passes every check of an open (CRCs, binding) but holds `frames`. */
async function forge(fs: SimFs, binding: Awaited<ReturnType<typeof sealedStore>>['binding'], frames: IndexedFrame[]) {
  fs.putFile(IDX, await encodeIndexFile({ ...binding, segmentCrc: 0 }, frames));
  const o = await SegmentIndexFile.open(fs, IDX, binding, new BlockCache());
  expect(o.stale).toBeUndefined();
  return o.file!;
}

describe('index-file hits are checked against their frames', () => {
  it('INV-DERIVED-NOT-AUTHORITY: a genuine file\'s hits are the frames asked for', async () => {
    const { fs, frames, binding, segments } = await sealedStore();
    expect(frames.length).toBeGreaterThan(5);
    const file = (await SegmentIndexFile.open(fs, IDX, binding, new BlockCache())).file!;
    for (const f of frames) {
      const hit = (await file.byId(f.idBytes))!;
      const checked = await checkHit(segments, 1, hit, { idBytes: f.idBytes, entity: f.entity, entitySequence: f.entitySequence });
      expect(checked.frame?.globalSequence).toBe(f.globalSequence);
      // Another entity sharing the key is skipped, not an error.
      expect((await checkHit(segments, 1, hit, { entity: `${f.entity}-other` })).otherEntity).toBe(true);
    }
  });

  it('INV-DERIVED-NOT-AUTHORITY: a forged file with valid CRCs is caught at every hit', async () => {
    const { fs, frames, binding, segments } = await sealedStore();
    // Every record points at the next event's frame.
    const shifted = frames.map((f, i) => ({ ...f, offset: frames[(i + 1) % frames.length]!.offset, length: frames[(i + 1) % frames.length]!.length }));
    let file = await forge(fs, binding, shifted);
    for (const f of frames) {
      const checked = await checkHit(segments, 1, (await file.byId(f.idBytes))!, { idBytes: f.idBytes });
      expect(checked.untrusted).toMatch(/global sequence|another event/);
    }
    // Into the middle of a frame, past the end, and an edited entity sequence.
    file = await forge(fs, binding, frames.map((f) => ({ ...f, offset: f.offset + 1 })));
    expect((await checkHit(segments, 1, (await file.byId(frames[0]!.idBytes))!, {})).untrusted).toMatch(/no frame/);
    file = await forge(fs, binding, frames.map((f) => ({ ...f, offset: binding.committedEnd })));
    expect((await checkHit(segments, 1, (await file.byId(frames[0]!.idBytes))!, {})).untrusted).toMatch(/outside/);
    const f = frames[3]!;
    const genuine = { globalSequence: f.globalSequence, offset: f.offset, length: f.length };
    expect((await checkHit(segments, 1, genuine, { entitySequence: f.entitySequence + 1 })).untrusted).toMatch(/entity sequence/);
  });

  it('a damaged frame under a genuine file is not an answer either', async () => {
    const { fs, frames, binding, segments } = await sealedStore();
    const file = (await SegmentIndexFile.open(fs, IDX, binding, new BlockCache())).file!;
    const f = frames[2]!;
    fs.corrupt(SEG, f.offset + f.length - 3, 0x08);
    // Reported as damage of the segment (what a read of that frame answers), not as a lie of the file.
    const checked = await checkHit(segments, 1, (await file.byId(f.idBytes))!, { idBytes: f.idBytes });
    expect(checked.frame).toBeUndefined();
    expect(checked.damaged).toMatch(/CRC/);
  });
});
