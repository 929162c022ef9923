// verifyChain over sealed segments served from their index files: each segment's bytes are read once, the walk
// finding its committed events in its frames under recovery's commit rules (INV-VERIFY-FAST-PATH), and the checks
// stay as strong — an event id committed twice across such segments is still found (INV-TIERED-INDEX-SAME).
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import type { Fs, FsFile } from '../src/fs/fs.js';
import { decodeFrameBody, encodeEventFrame } from '../src/segment/frame.js';

const Note = defineEvent<{ n: number; text: string }>({ category: 1, typeId: 9, name: 'SealedVerifyNote' });

/** `base` with every byte read from a file counted by path. */
function countingReads(base: SimFs): { fs: Fs; read: Map<string, number> } {
  const read = new Map<string, number>();
  const add = (path: string, n: number) => read.set(path, (read.get(path) ?? 0) + n);
  const wrap = (path: string, f: FsFile): FsFile =>
    new Proxy(f, {
      get(t, k) {
        if (k === 'readAt') {
          return async (position: number, length: number) => {
            const b = await t.readAt(position, length);
            add(path, b.length);
            return b;
          };
        }
        if (k === 'readInto' && t.readInto !== undefined) {
          return async (position: number, target: Uint8Array) => {
            const n = await t.readInto!(position, target);
            add(path, n);
            return n;
          };
        }
        const v = Reflect.get(t, k) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
  const fs = new Proxy(base, {
    get(t, k) {
      if (k === 'open') return async (path: string, o?: Parameters<Fs['open']>[1]) => wrap(path, await t.open(path, o));
      const v = Reflect.get(t, k) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  }) as unknown as Fs;
  return { fs, read };
}

async function written(events: number, extra: { signingKey?: Uint8Array } = {}): Promise<{ sim: SimFs; ids: string[] }> {
  const sim = new SimFs(17);
  const s = await Store.open({ dir: '/s', fs: sim, segmentMaxBytes: 4096, onWarning: () => undefined, ...extra });
  const ids: string[] = [];
  for (let n = 0; n < events; ) {
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

describe('verifyChain over segments served from index files', () => {
  for (const signed of [false, true]) {
    it(`INV-VERIFY-FAST-PATH: reads each segment's bytes once${signed ? ' (signed groups)' : ''}, and reports what a store that scanned every segment reports`, async () => {
      const { sim, ids } = await written(300, signed ? { signingKey: new Uint8Array(32).fill(3) } : {});
      const { fs, read } = countingReads(sim);
      const s = await Store.open({ dir: '/s', fs, readOnly: true, onWarning: () => undefined });
      expect(s.stats().index?.sealedSegments).toBeGreaterThan(5);
      read.clear();
      const report = await s.verifyChain();
      await s.close();
      expect(report.intact).toBe(true);
      expect(report.eventsChecked).toBe(ids.length);
      for (const path of segmentPaths(sim)) {
        const size = sim.inspect(path)!.current.length;
        // Before: a sealed segment was read by a scan listing its events, then again by the walk checking its frames.
        expect(read.get(path), path).toBeGreaterThan(0);
        expect(read.get(path)!, path).toBeLessThanOrEqual(size);
      }
      // The same report as a store holding every event in memory (its index files set aside).
      for (const p of sim.listFiles().filter((x) => x.endsWith('.bpi'))) await sim.remove(p);
      const scanned = await Store.open({ dir: '/s', fs: sim, readOnly: true, onWarning: () => undefined });
      expect(scanned.stats().index?.sealedSegments).toBe(0);
      expect(await scanned.verifyChain()).toEqual(report);
      await scanned.close();
    }, 60_000);
  }

  it('INV-TIERED-INDEX-SAME: an event id committed in two sealed segments is reported', async () => {
    const { sim, ids } = await written(200);
    const firstId = ids[3]!;
    // The frame of a later event rewritten to carry the first one's id (same length, CRC recomputed): every other
    // check holds, and its segment's index file still checks out (the frame is none of its first or last records).
    const idField = (id: string) => Buffer.concat([Buffer.from([0xa2, 0x69, 0x64, 0xc4, 16]), Buffer.from(id, 'hex')]);
    const path = segmentPaths(sim).find((p) => Buffer.from(sim.inspect(p)!.current).includes(idField(ids[150]!)))!;
    expect(path).not.toBe(segmentPaths(sim).find((p) => Buffer.from(sim.inspect(p)!.current).includes(idField(firstId))));
    const bytes = sim.inspect(path)!.current.slice();
    // The body starts with the map header and `t: 0` (4 bytes) before the id's key, after the 12-byte frame header.
    const at = Buffer.from(bytes).indexOf(idField(ids[150]!)) - 4 - 12;
    const length = new DataView(bytes.buffer).getUint32(at + 4);
    const frame = decodeFrameBody(bytes.subarray(at + 12, at + 12 + length));
    if (frame.type !== 0) throw new Error('not an event frame');
    const forged = encodeEventFrame({ ...frame, id: new Uint8Array(Buffer.from(firstId, 'hex')) });
    expect(forged.length).toBe(12 + length);
    expect(new DataView(forged.buffer, forged.byteOffset).getUint32(8)).toBe(crc32(forged.subarray(12)));
    bytes.set(forged, at);
    sim.putFile(path, bytes);
    expect(segmentPaths(sim).indexOf(path)).toBeLessThan(segmentPaths(sim).length - 1);
    const again = await Store.open({ dir: '/s', fs: sim, readOnly: true, onWarning: () => undefined });
    expect(again.stats().index?.sealedSegments).toBeGreaterThan(3);
    const report = await again.verifyChain();
    await again.close();
    expect(report.intact).toBe(false);
    expect(report.corruptFrames).toEqual([{ file: path, offset: at, reason: `duplicate event id ${firstId}`, eventId: firstId }]);
  }, 60_000);
});
