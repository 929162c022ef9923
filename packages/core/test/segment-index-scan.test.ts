// Rebuilding a sealed segment's index file from the segment alone gives exactly the file written at seal
// from the in-memory index, and a damaged frame is refused, not skipped (INV-INDEX-FILE-REBUILT).
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { encodeIndexFile } from '../src/event-index/segment-index-encode.js';
import { decodeIndexHeader } from '../src/event-index/segment-index-format.js';
import { indexedFramesOf } from '../src/event-index/segment-index-scan.js';
import { indexFileName } from '../src/event-index/segment-index-write.js';
import { encodeSegmentHeader, FORMAT_VERSION } from '../src/segment/format.js';
import { encodeEventFrame, EventFlags, type EventFrame } from '../src/segment/frame.js';
import { recoverLog } from '../src/segment/recovery.js';

const E = defineEvent<{ n: number }>({ category: 1, typeId: 1 });

async function store() {
  const fs = new SimFs(12);
  // Signed groups put seal frames between events; batches and single appends mix.
  const s = await Store.open({ dir: '/s', fs, segmentMaxBytes: 900, signingKey: new Uint8Array(32).fill(5) });
  for (let i = 0; i < 30; i++) {
    if (i % 5 === 0) await s.appendBatch([0, 1, 2].map((k) => ({ coord: new Coordinate(`b${k}`, 's'), kind: E, payload: { n: i * 10 + k } })));
    else await s.append(new Coordinate(`e${i % 4}`, 's'), E, { n: i });
  }
  await s.close();
  const sealed = fs.listFiles().filter((p) => p.endsWith('.bps')).slice(0, -1);
  return { fs, sealed };
}

describe('index file rebuilt from its segment', () => {
  it('INV-INDEX-FILE-REBUILT: is byte for byte the file written at seal', async () => {
    const { fs, sealed } = await store();
    expect(sealed.length).toBeGreaterThan(2);
    for (const path of sealed) {
      const id = Number(/(\d+)\.bps$/.exec(path)![1]);
      const written = fs.inspect(`/s/${indexFileName(id)}`)!.current;
      const h = decodeIndexHeader(written);
      const frames = await indexedFramesOf(fs, path, h.committedEnd);
      expect(frames.length).toBe(h.eventCount);
      expect(await encodeIndexFile(h, frames)).toEqual(written);
    }
  });

  it('a damaged frame is ERR_CORRUPT_SEGMENT, and so is a segment shorter than committed', async () => {
    const { fs, sealed } = await store();
    const path = sealed[1]!;
    const size = fs.inspect(path)!.current.length;
    await expect(indexedFramesOf(fs, path, size + 10)).rejects.toMatchObject({ code: 'ERR_CORRUPT_SEGMENT' });
    fs.corrupt(path, size - 20, 0x04);
    const err = await indexedFramesOf(fs, path, size).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatpakError);
    expect((err as BatpakError).code).toBe('ERR_CORRUPT_SEGMENT');
  });

  it('INV-INDEX-FILE-REBUILT: keeps exactly the events recovery commits (an incomplete batch or unsealed group mid-segment is left out)', async () => {
    const fs = new SimFs(13);
    const ev = (g: number, extra: Partial<EventFrame> = {}): Uint8Array =>
      encodeEventFrame({ type: 0, id: new Uint8Array(16).fill(g), globalSequence: g, entitySequence: g, kind: 0x1001, entity: 'a', scope: 's', committedAt: 1000 + g, prevHash: new Uint8Array(32), contentHash: new Uint8Array(32).fill(g), payloadVersion: 1, flags: 0, payload: new Uint8Array([g]), ...extra });
    const parts = [
      encodeSegmentHeader({ version: FORMAT_VERSION, flags: 0, segmentId: 1, createdAtMs: 1 }),
      ev(1),
      // A batch of two whose second item never landed, then a lone event: recovery discards the first item.
      ev(2, { batch: { first: 2, index: 0, count: 2 } }),
      ev(3),
      // A signed group's event without its seal, then an unsigned event: recovery discards it.
      ev(4, { flags: EventFlags.SEALED }),
      ev(5),
    ];
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (bytes.set(p, at), at + p.length), 0);
    fs.putFile('/r/000001.bps', bytes);
    const recovered = await recoverLog(fs, [{ id: 1, path: '/r/000001.bps' }]);
    expect(recovered.discarded.map((d) => d.reason)).toEqual(['incomplete-batch', 'unsealed-group']);
    const frames = await indexedFramesOf(fs, '/r/000001.bps', bytes.length);
    expect(frames.map((f) => f.globalSequence)).toEqual([1, 3, 5]);
    expect(frames.map((f) => f.offset)).toEqual(recovered.events.map((e) => e.offset));
  });
});
