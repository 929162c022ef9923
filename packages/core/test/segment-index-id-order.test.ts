// The id column of an index file is sorted by the whole 16 bytes (FORMAT.md § Segment index files): ids that share
// all but their last bytes, or differ only in one middle byte, are each found by byId. The sort skips 16-bit digits
// every id shares, and a missed or mis-skipped digit would leave such ids out of order (and not found).
import { describe, expect, it } from 'vitest';
import { openFile, randomSegment, writtenFile } from './helpers/index-file-fixture.js';

const shape = { n: 700, entities: ['a', 'b', 'c'], seed: 7, jumpRate: 0, encryptRate: 0, scopes: [new Uint8Array([1])] };

async function allFound(idOf: (i: number) => Uint8Array): Promise<void> {
  const { frames, segment } = randomSegment(shape);
  // Reversed: the ids' order is the opposite of the frames' (global sequence) order.
  const withIds = frames.map((f, i) => ({ ...f, idBytes: idOf(frames.length - 1 - i) }));
  const { fs, binding } = await writtenFile(withIds, segment);
  const file = await openFile(fs, binding);
  try {
    for (const f of withIds) expect(await file.byId(f.idBytes)).toEqual({ globalSequence: f.globalSequence, offset: f.offset, length: f.length });
  } finally {
    await file.close();
  }
}

describe('index file id order', () => {
  it('ids that differ only in their last two bytes', async () => {
    await allFound((i) => {
      const id = new Uint8Array(16).fill(0x5a);
      id[14] = (i * 7919) >>> 8;
      id[15] = (i * 7919) & 0xff;
      return id;
    });
  });

  it('ids that differ only in their last byte and in byte 6', async () => {
    await allFound((i) => {
      const id = new Uint8Array(16).fill(0x11);
      id[15] = i & 0xff;
      id[6] = i >>> 8;
      return id;
    });
  });
});
