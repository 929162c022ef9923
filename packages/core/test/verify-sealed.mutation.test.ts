// verifyChain over sealed segments served from their index files, with one frame damaged: the in-place walk reports
// exactly what the reference walk over a store that scanned every segment reports (INV-VERIFY-FAST-PATH), by kind.
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store, type ChainVerificationReport } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { decodeFrameBody, encodeEventFrame, type EventFrame } from '../src/segment/frame.js';

const Note = defineEvent<{ n: number; text: string }>({ category: 1, typeId: 9, name: 'SealedDamageNote' });

async function written(): Promise<{ sim: SimFs; ids: string[] }> {
  const sim = new SimFs(23);
  const s = await Store.open({ dir: '/s', fs: sim, segmentMaxBytes: 4096, onWarning: () => undefined });
  const ids: string[] = [];
  for (let n = 0; n < 200; ) {
    if (n % 11 === 5) {
      const rs = await s.appendBatch([0, 1, 2].map((k) => ({ coord: new Coordinate(`e${(n + k) % 7}`, 's'), kind: Note, payload: { n: n + k, text: 'batch' } })));
      ids.push(...rs.map((r) => r.eventId));
      n += 3;
    } else {
      ids.push((await s.append(new Coordinate(`e${n % 7}`, 's'), Note, { n, text: 'x'.repeat(n % 50) })).eventId);
      n++;
    }
  }
  await s.close();
  return { sim, ids };
}

const segmentPaths = (sim: SimFs) => sim.listFiles().filter((p) => /^\/s\/\d+\.bps$/.test(p));
const idField = (id: string) => Buffer.concat([Buffer.from([0xa2, 0x69, 0x64, 0xc4, 16]), Buffer.from(id, 'hex')]);

/** Rewrites event `id`'s frame in place (same length, CRC recomputed): every frame-level check still passes. */
function rewrite(sim: SimFs, id: string, change: (f: EventFrame) => EventFrame): void {
  const path = segmentPaths(sim).find((p) => Buffer.from(sim.inspect(p)!.current).includes(idField(id)))!;
  const bytes = sim.inspect(path)!.current.slice();
  const at = Buffer.from(bytes).indexOf(idField(id)) - 4 - 12;
  const length = new DataView(bytes.buffer).getUint32(at + 4);
  const frame = decodeFrameBody(bytes.subarray(at + 12, at + 12 + length));
  if (frame.type !== 0) throw new Error('not an event frame');
  const forged = encodeEventFrame(change(frame));
  expect(forged.length).toBe(12 + length);
  bytes.set(forged, at);
  sim.putFile(path, bytes);
  expect(segmentPaths(sim).indexOf(path)).toBeLessThan(segmentPaths(sim).length - 2);
}

const flipLast = (b: Uint8Array) => {
  const c = b.slice();
  c[c.length - 1] = c[c.length - 1]! ^ 0x01;
  return c;
};

/** The report of the store as it opens (sealed segments from their files), and of one that scanned every segment. */
async function reports(sim: SimFs): Promise<{ tiered: ChainVerificationReport; scanned: ChainVerificationReport }> {
  const a = await Store.open({ dir: '/s', fs: sim, readOnly: true, onWarning: () => undefined });
  expect(a.stats().index?.sealedSegments).toBeGreaterThan(3);
  const tiered = await a.verifyChain();
  await a.close();
  const copy = new SimFs(5);
  for (const p of sim.listFiles()) if (!p.endsWith('.bpi')) copy.putFile(p, sim.inspect(p)!.current.slice());
  const b = await Store.open({ dir: '/s', fs: copy, readOnly: true, onWarning: () => undefined });
  expect(b.stats().index?.sealedSegments).toBe(0);
  const scanned = await b.verifyChain();
  await b.close();
  return { tiered, scanned };
}

describe('verifyChain over sealed segments: one damaged frame', () => {
  it('an intact store: every event checked, nothing reported', async () => {
    const { sim, ids } = await written();
    const { tiered, scanned } = await reports(sim);
    expect(tiered.intact).toBe(true);
    expect(tiered.eventsChecked).toBe(ids.length);
    expect(tiered).toEqual(scanned);
  }, 60_000);

  it('a single event whose payload changed (CRC recomputed): a content hash mismatch naming it', async () => {
    const { sim, ids } = await written();
    rewrite(sim, ids[140]!, (f) => ({ ...f, payload: flipLast(f.payload) }));
    const { tiered, scanned } = await reports(sim);
    expect(tiered.intact).toBe(false);
    expect(tiered.contentHashMismatches).toEqual([ids[140]]);
    expect(tiered.danglingLinks).toEqual([]);
    expect(tiered.corruptFrames).toEqual([]);
    expect(tiered.eventsChecked).toBe(ids.length);
    expect(tiered).toEqual(scanned);
  }, 60_000);

  it('a batch member whose payload changed: a content hash mismatch naming it', async () => {
    const { sim, ids } = await written();
    rewrite(sim, ids[127]!, (f) => ({ ...f, payload: flipLast(f.payload) }));
    const { tiered, scanned } = await reports(sim);
    expect(tiered.contentHashMismatches).toEqual([ids[127]]);
    expect(tiered.eventsChecked).toBe(ids.length);
    expect(tiered).toEqual(scanned);
  }, 60_000);

  it('an event whose link changed: a dangling link naming it, nothing else', async () => {
    const { sim, ids } = await written();
    rewrite(sim, ids[140]!, (f) => ({ ...f, prevHash: flipLast(f.prevHash) }));
    const { tiered, scanned } = await reports(sim);
    expect(tiered.intact).toBe(false);
    expect(tiered.danglingLinks).toEqual([ids[140]]);
    expect(tiered.contentHashMismatches).toEqual([]);
    expect(tiered.gaps).toEqual([]);
    expect(tiered).toEqual(scanned);
  }, 60_000);

  it('a stored content hash changed: its own mismatch, and the next event of its entity no longer links', async () => {
    const { sim, ids } = await written();
    rewrite(sim, ids[140]!, (f) => ({ ...f, contentHash: flipLast(f.contentHash) }));
    const { tiered, scanned } = await reports(sim);
    expect(tiered.contentHashMismatches).toEqual([ids[140]]);
    // Event 147 is the next of entity e0 (140 % 7 === 147 % 7).
    expect(tiered.danglingLinks).toEqual([ids[147]]);
    expect(tiered).toEqual(scanned);
  }, 60_000);
});
