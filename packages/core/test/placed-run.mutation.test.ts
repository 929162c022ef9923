// verifyChain's pending batch held as columns (chain/placed-run.ts): every field of every frame added comes back
// exactly, across the columns' growth and across chunks, and a cleared run holds nothing (INV-CHAIN-RECOMPUTE: a
// batch is judged only once whole, from the frames as they were read).
import { describe, expect, it } from 'vitest';
import { PlacedRun } from '../src/chain/placed-run.js';

/** Distinct values per field and frame, some past 2^31 where the column is a Float64. */
const fields = (i: number) => ({
  pos: 2 ** 33 + 1000 * i + 1,
  length: 100 + i,
  globalSequence: 2 ** 40 + i,
  count: 7000 + i,
  to: 300_000 + 3 * i,
  idAt: 11 + 17 * i,
  entityAt: 12 + 19 * i,
  entityLength: 1 + (i % 250),
  prevAt: 13 + 23 * i,
  contentAt: 14 + 29 * i,
  payloadAt: 15 + 31 * i,
  flags: 2 ** 32 + (i % 7),
  digestAt: 16 + 37 * i,
  digestPayloadAt: 17 + 41 * i,
});

describe('PlacedRun', () => {
  it('gives back every field of every frame, for more frames than its first columns hold, over several chunks', () => {
    const run = new PlacedRun();
    run.begin(42);
    expect(run.first).toBe(42);
    const chunks = [new Uint8Array(1), new Uint8Array(2), new Uint8Array(3)];
    const digests = [new Uint8Array(4), new Uint8Array(5), new Uint8Array(6)];
    // Chunk of frame i: a new chunk every 200 frames, and a new digest array alone at frame 500 (same bytes).
    const chunkOf = (i: number) => (i < 200 ? 0 : i < 400 ? 1 : 2);
    const digestsOf = (i: number) => (i < 200 ? digests[0]! : i < 400 ? digests[1]! : i < 500 ? digests[2]! : new Uint8Array(7));
    const late = digestsOf(500);
    const digestFor = (i: number) => (i >= 500 ? late : digestsOf(i));
    const n = 700;
    for (let i = 0; i < n; i++) {
      const f = fields(i);
      run.add(chunks[chunkOf(i)]!, digestFor(i), f.pos, f.length, f.globalSequence, f.count, f.to, f.idAt, f.entityAt, f.entityLength, f.prevAt, f.contentAt, f.payloadAt, f.flags, f.digestAt, f.digestPayloadAt);
      expect(run.length).toBe(i + 1);
    }
    for (let i = 0; i < n; i++) {
      const f = fields(i);
      expect(run.bytes(i), `bytes ${i}`).toBe(chunks[chunkOf(i)]);
      expect(run.digests(i), `digests ${i}`).toBe(digestFor(i));
      expect({
        pos: run.pos(i),
        length: run.frameLength(i),
        globalSequence: run.globalSequence(i),
        count: run.count(i),
        to: run.to(i),
        idAt: run.idAt(i),
        entityAt: run.entityAt(i),
        entityLength: run.entityLength(i),
        prevAt: run.prevAt(i),
        contentAt: run.contentAt(i),
        payloadAt: run.payloadAt(i),
        flags: run.flags(i),
        digestAt: run.digestAt(i),
        digestPayloadAt: run.digestPayloadAt(i),
      }, `frame ${i}`).toEqual(f);
    }
    run.clear();
    expect(run.length).toBe(0);
    // After a clear, the first frame's chunk is its own again (no chunk of the old run is handed out).
    const fresh = new Uint8Array(9);
    const freshDigests = new Uint8Array(10);
    const f = fields(0);
    run.add(fresh, freshDigests, f.pos, f.length, f.globalSequence, f.count, f.to, f.idAt, f.entityAt, f.entityLength, f.prevAt, f.contentAt, f.payloadAt, f.flags, f.digestAt, f.digestPayloadAt);
    expect(run.bytes(0)).toBe(fresh);
    expect(run.digests(0)).toBe(freshDigests);
  });
});
