// The read window behind verifyChain and the checkpoint check (INV-CHAIN-RECOMPUTE): what it shows is
// exactly the file's bytes whatever the chunk size, a needle across a chunk edge is found, and a short
// read is an error. The last test damages frames on both sides of a real 4 MiB window edge.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Coordinate, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import type { Fs, FsFile } from '../src/fs/fs.js';
import { ReadWindow, WINDOW_BYTES } from '../src/segment/window.js';

const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 7) & 0xff);

function simWith(data: Uint8Array): SimFs {
  const sim = new SimFs(1);
  sim.putFile('/f', data);
  return sim;
}

describe('ReadWindow', () => {
  it('ensure + view return the file bytes for any chunk size and any sequence of ranges', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.tuple(fc.nat(320), fc.nat(80)), { maxLength: 20 }),
        async (size, chunk, ranges) => {
          const data = bytesOf(size, chunk);
          const w = await ReadWindow.open(simWith(data), '/f', undefined, chunk);
          try {
            for (const [pos, len] of ranges) {
              const ok = await w.ensure(pos, len);
              expect(ok).toBe(pos + len <= size);
              if (ok) expect([...w.view(pos, len)]).toEqual([...data.subarray(pos, pos + len)]);
            }
          } finally {
            await w.close();
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a length limit bounds the window below the file size', async () => {
    const w = await ReadWindow.open(simWith(bytesOf(100, 1)), '/f', 40, 16);
    expect(w.end).toBe(40);
    expect(await w.ensure(30, 10)).toBe(true);
    expect(await w.ensure(30, 11)).toBe(false);
    await w.close();
  });

  it('indexOf finds the first match at or after `from`, also across a chunk edge, and -1 past the end', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 4, max: 200 }), fc.integer({ min: 1, max: 32 }), fc.nat(200), fc.nat(200), async (size, chunk, at, from) => {
        const data = new Uint8Array(size);
        const needle = Uint8Array.of(0x42, 0x50, 0x4b, 0x46);
        const place = at % (size - 3);
        data.set(needle, place);
        const w = await ReadWindow.open(simWith(data), '/f', undefined, chunk);
        try {
          const start = from % size;
          expect(await w.indexOf(needle, start)).toBe(Buffer.from(data).indexOf(needle, start));
        } finally {
          await w.close();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a short read is ERR_IO, never taken for the end of the file', async () => {
    const sim = simWith(bytesOf(100, 2));
    const shortFs = new Proxy(sim, {
      get(target, prop, receiver) {
        if (prop === 'open') {
          return async (path: string): Promise<FsFile> => {
            const f = await target.open(path);
            return { ...bindAll(f), readAt: async (p: number, n: number) => (await f.readAt(p, n)).subarray(0, Math.max(0, n - 1)) };
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Fs;
    const w = await ReadWindow.open(shortFs, '/f', undefined, 16);
    await expect(w.ensure(0, 10)).rejects.toMatchObject({ code: 'ERR_IO' });
    await w.close();
  });
});

function bindAll(f: FsFile): FsFile {
  return {
    path: f.path,
    readAt: f.readAt.bind(f),
    append: f.append.bind(f),
    writeAt: f.writeAt.bind(f),
    fsync: f.fsync.bind(f),
    truncate: f.truncate.bind(f),
    size: f.size.bind(f),
    close: f.close.bind(f),
  };
}

describe('verifyChain across 4 MiB window edges (INV-CHAIN-RECOMPUTE)', () => {
  it('a frame straddling a window edge and a damaged header after it are each reported; every other event is checked', async () => {
    const Blob = defineEvent<{ n: number; pad: string }>({ category: 3, typeId: 9, name: 'Blob' });
    const sim = new SimFs(3);
    const s = await Store.open({ dir: '/db', fs: sim });
    const ids: string[] = [];
    const pad = 'x'.repeat(3000);
    // ~5.9 MB in one segment: two window edges' worth of frames at 4 MiB.
    for (let i = 0; i < 2000; i += 100) {
      const rs = await s.appendBatch(Array.from({ length: 100 }, (_, k) => ({ coord: new Coordinate(`e${(i + k) % 7}`, 's'), kind: Blob, payload: { n: i + k, pad } })));
      ids.push(...rs.map((r) => r.eventId));
    }
    const seg = sim.listFiles().find((f) => f.endsWith('.bps'))!;
    const bytes = sim.inspect(seg)!.current;
    expect(bytes.length).toBeGreaterThan(WINDOW_BYTES + 100_000);
    // Frame spans by walking headers.
    const spans: { offset: number; length: number; event: number }[] = [];
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let ev = 0;
    for (let pos = 32; pos + 12 <= bytes.length; ) {
      const length = 12 + dv.getUint32(pos + 4);
      // Event frames carry the 'pad' text; seal frames (none here: unsigned) would not.
      const isEvent = Buffer.from(bytes.subarray(pos, pos + length)).includes('xxxx');
      spans.push({ offset: pos, length, event: isEvent ? ev++ : -1 });
      pos += length;
    }
    expect(ev).toBe(2000);
    const straddle = spans.find((f) => f.event >= 0 && f.offset < WINDOW_BYTES && f.offset + f.length > WINDOW_BYTES)!;
    const later = spans.find((f) => f.event >= 0 && f.offset > WINDOW_BYTES + 50_000)!;
    // A payload byte just past the edge (the CRC fails, the content hash too) …
    const inPad = Math.min(WINDOW_BYTES + 5, straddle.offset + straddle.length - 100);
    expect(inPad).toBeGreaterThanOrEqual(WINDOW_BYTES);
    sim.corrupt(seg, inPad, 0x01);
    // … and a frame magic destroyed further on: the walk must resynchronise on the next frame.
    sim.corrupt(seg, later.offset, 0xff);
    const r = await s.verifyChain();
    expect(r.corruptFrames).toEqual([
      { file: seg, offset: straddle.offset, reason: 'frame CRC mismatch', eventId: ids[straddle.event] },
      { file: seg, offset: later.offset, reason: 'damaged frame header' },
    ]);
    expect(r.contentHashMismatches).toEqual([ids[straddle.event]]);
    expect(r.missingEvents).toEqual([ids[later.event]]);
    // The unreadable frame is skipped, so its entity's next event links to a hash the walk never saw.
    expect(r.danglingLinks).toEqual([ids[later.event + 7]]);
    expect(r.eventsChecked).toBe(1999);
    await s.close();
  });
});
