// The segment writer's write of one commit group: issued before writeGroup returns when no rotation is due (the
// append pipeline builds the group's index entries and receipts while it is in flight), after the rotation otherwise.
import { describe, expect, it } from 'vitest';
import { SimFs } from '../src/entry/testing.js';
import type { FsFile } from '../src/fs/fs.js';
import { createSegment, SegmentWriter, type ActiveSegment } from '../src/segment/writer.js';

/** A segment whose file records, in `calls`, each append as it is issued. */
async function spiedSegment(fs: SimFs, calls: string[]): Promise<ActiveSegment> {
  const seg = await createSegment(fs, '/s/1.seg', 1, 0);
  const file = seg.file;
  const spied: FsFile = {
    path: file.path,
    readAt: (position, length) => file.readAt(position, length),
    append: (chunks, hint) => (calls.push(hint === undefined ? 'append' : `append ${JSON.stringify(hint)}`), file.append(chunks)),
    writeAt: (position, data) => file.writeAt(position, data),
    fsync: () => file.fsync(),
    truncate: (length) => file.truncate(length),
    size: () => file.size(),
    close: () => file.close(),
  };
  return { ...seg, file: spied };
}

function writer(active: ActiveSegment, fs: SimFs, segmentMaxBytes: number): SegmentWriter {
  return new SegmentWriter(active, { fs, segmentPath: (id) => `/s/${id}.seg`, segmentMaxBytes, sync: true, onRotate: () => undefined });
}

describe('SegmentWriter.writeGroup', () => {
  it("passes the file its caller's hint, asked at the time of the write", async () => {
    const fs = new SimFs(1);
    await fs.mkdir('/s');
    const calls: string[] = [];
    const w = writer(await spiedSegment(fs, calls), fs, 1 << 20);
    await w.writeGroup([new Uint8Array([1])], 0);
    await w.writeGroup([new Uint8Array([2])], 0, undefined, () => undefined);
    await w.writeGroup([new Uint8Array([3])], 0, undefined, () => ({ alone: true }));
    expect(calls).toEqual(['append', 'append', 'append {"alone":true}']);
  });

  it('issues the group append before it returns when no rotation is due, and resolves where the group landed', async () => {
    const fs = new SimFs(1);
    await fs.mkdir('/s');
    const calls: string[] = [];
    const seg = await spiedSegment(fs, calls);
    const start = seg.size;
    const w = writer(seg, fs, 1 << 20);
    const written = w.writeGroup([new Uint8Array([1, 2, 3]), new Uint8Array([4])], 0);
    calls.push('returned');
    expect(calls).toEqual(['append', 'returned']);
    await expect(written).resolves.toEqual({ segmentId: 1, offset: start });
    expect(w.active.size).toBe(start + 4);
  });

  it('rotates first when the active segment is full: the group lands at the start of the next segment', async () => {
    const fs = new SimFs(1);
    await fs.mkdir('/s');
    const calls: string[] = [];
    const seg = await spiedSegment(fs, calls);
    const w = writer(seg, fs, 1); // already full
    const at = await w.writeGroup([new Uint8Array([7, 7])], 0);
    expect(calls).toEqual([]); // not through the full segment's file
    expect(at.segmentId).toBe(2);
    expect(w.active.id).toBe(2);
    expect(w.active.size).toBe(at.offset + 2);
  });
});
