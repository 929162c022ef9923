// A durable store zero-fills its active segment ahead of the data (FsFile.preallocate), so a group's O_DSYNC write
// overwrites written blocks instead of growing the file. The zeros never reach a sealed segment or a closed store,
// and after a crash they are cut without a torn-tail warning: they hold nothing that was written.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store, type StoreOptions } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { scanSegment } from '../src/segment/scan.js';
import { PREALLOCATE_STEP_BYTES } from '../src/segment/writer.js';

const Note = defineEvent<{ n: number; pad: string }>({ category: 3, typeId: 1, name: 'Note' });
const at = (i: number) => new Coordinate(`e:${i % 5}`, 's');

/** Where the frames of a segment's bytes end (the valid prefix), and whether only zeros follow. */
function layout(bytes: Uint8Array): { dataEnd: number; zerosAfter: number } {
  const { validEnd } = scanSegment(bytes, { file: 'x', allowTornTail: true });
  const rest = bytes.subarray(validEnd);
  expect(rest.every((b) => b === 0)).toBe(true);
  return { dataEnd: validEnd, zerosAfter: rest.length };
}

const segmentsOf = (fs: SimFs) => fs.listFiles().filter((f) => f.endsWith('.bps')).sort();

async function fill(store: Store, n: number, from = 0): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => store.append(at(from + i), Note, { n: from + i, pad: 'x'.repeat(100) })));
}

describe('preallocated segments', () => {
  it('a durable store writes into zeros ahead of its data, capped at the segment size limit', async () => {
    const fs = new SimFs(1);
    const store = await Store.open({ dir: '/s', fs, checkpoint: 'off' });
    await fill(store, 20);
    const [active] = segmentsOf(fs);
    const { dataEnd, zerosAfter } = layout(fs.inspect(active!)!.current);
    expect(zerosAfter).toBeGreaterThan(0);
    expect(dataEnd + zerosAfter).toBeLessThanOrEqual(dataEnd + PREALLOCATE_STEP_BYTES);
    await store.close();
    // Closed: the active segment ends at its last frame again.
    expect(layout(fs.inspect(active!)!.current).zerosAfter).toBe(0);
  });

  it('never past the size limit, and a sealed segment ends at its last frame', async () => {
    const fs = new SimFs(2);
    const segmentMaxBytes = 4096;
    const store = await Store.open({ dir: '/s', fs, checkpoint: 'off', segmentMaxBytes });
    for (let i = 0; i < 8; i++) await fill(store, 10, i * 10);
    const files = segmentsOf(fs);
    expect(files.length).toBeGreaterThan(3);
    for (const f of files.slice(0, -1)) expect(layout(fs.inspect(f)!.current).zerosAfter, f).toBe(0);
    // The active one: zeros up to the limit at most (a group past it is written whole, then the segment rotates).
    const last = fs.inspect(files.at(-1)!)!.current;
    const { dataEnd, zerosAfter } = layout(last);
    expect(dataEnd + zerosAfter).toBeLessThanOrEqual(Math.max(segmentMaxBytes, dataEnd));
    await store.close();
    for (const f of segmentsOf(fs)) expect(layout(fs.inspect(f)!.current).zerosAfter, f).toBe(0);
  });

  it('a segment sealed at close (below its size limit) is sealed without its zeros, and the store reopens', async () => {
    const fs = new SimFs(5);
    const store = await Store.open({ dir: '/s', fs, checkpoint: 'off', segmentMaxBytes: 4 << 20 });
    // Past SEAL_AT_CLOSE_MIN_BYTES (1 MiB) and an eighth of the limit: close seals the active segment.
    for (let i = 0; i < 24; i++) await fill(store, 400, i * 400);
    expect(layout(fs.inspect(segmentsOf(fs)[0]!)!.current).zerosAfter).toBeGreaterThan(0);
    await store.close();
    const files = segmentsOf(fs);
    expect(files.length).toBe(2);
    for (const f of files) expect(layout(fs.inspect(f)!.current).zerosAfter, f).toBe(0);
    const again = await Store.open({ dir: '/s', fs, checkpoint: 'off' });
    expect(again.stats().events).toBe(9600n);
    await again.close();
  });

  it('after a crash the zeros are cut without a torn-tail warning, and every acknowledged event is there', async () => {
    const fs = new SimFs(3);
    const store = await Store.open({ dir: '/s', fs, checkpoint: 'off' });
    await fill(store, 30);
    const active = segmentsOf(fs).at(-1)!;
    expect(layout(fs.inspect(active)!.current).zerosAfter).toBeGreaterThan(0);
    fs.crash(); // no close: the zeros stay on disk
    expect(layout(fs.inspect(active)!.current).zerosAfter).toBeGreaterThan(0);
    const warnings: string[] = [];
    const again = await Store.open({ dir: '/s', fs, checkpoint: 'off', onWarning: (_m, code) => warnings.push(code) });
    expect(again.stats().events).toBe(30n);
    expect(warnings).not.toContain('BATPAK_RECOVERY_TAIL_CUT');
    expect(layout(fs.inspect(active)!.current).zerosAfter).toBe(0);
    // And it writes on where the data ended, not after the zeros it cut.
    await fill(again, 5, 30);
    expect(again.stats().events).toBe(35n);
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
    const third = await Store.open({ dir: '/s', fs, checkpoint: 'off', onWarning: (_m, code) => warnings.push(code) });
    expect(third.stats().events).toBe(35n);
    expect(warnings).toEqual([]);
    await third.close();
  });

  it('a bit flipped while recovery reads a zero-ended last frame never cuts it: the open refuses, the next one reads it', async () => {
    // A payload is its frame's last field; ending in zeros, before the preallocated zeros, a damaged byte makes the
    // whole frame look like a torn append (gauntlet seed 5000096). Recovery reads the tail again before it cuts.
    const fs = new SimFs(4);
    const store = await Store.open({ dir: '/s', fs, checkpoint: 'off' });
    const payload = Uint8Array.from([...new Uint8Array(40).fill(5), 0, 0, 0, 0]);
    for (let i = 0; i < 6; i++) await store.appendRaw(at(i), { category: 3, typeId: 2 }, payload);
    const active = segmentsOf(fs).at(-1)!;
    fs.crash(); // the zeros stay on disk
    const bytes = fs.inspect(active)!.current;
    const { frames } = scanSegment(bytes, { file: active, allowTornTail: true });
    const last = frames.at(-1)!;
    expect(bytes[last.offset + last.length - 1]).toBe(0);
    // The first read of the active segment sees one flipped bit inside the last frame; the file itself is intact.
    const flipAt = last.offset + 20;
    let flips = 1;
    const flaky = new Proxy(fs, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'open') return typeof value === 'function' ? value.bind(target) : value;
        return async (path: string, options?: object) => {
          const file = await target.open(path, options as never);
          if (path !== active) return file;
          return new Proxy(file, {
            get(f, p, r) {
              if (p !== 'readAt') return typeof Reflect.get(f, p, r) === 'function' ? (Reflect.get(f, p, r) as (...a: unknown[]) => unknown).bind(f) : Reflect.get(f, p, r);
              return async (offset: number, length: number) => {
                const got = await f.readAt(offset, length);
                if (flips > 0 && offset <= flipAt && flipAt < offset + got.length) {
                  flips--;
                  const copy = got.slice();
                  copy[flipAt - offset]! ^= 0x04;
                  return copy;
                }
                return got;
              };
            },
          });
        };
      },
    });
    await expect(Store.open({ dir: '/s', fs: flaky, checkpoint: 'off' })).rejects.toMatchObject({ code: 'ERR_IO' });
    expect(flips).toBe(0);
    expect(fs.inspect(active)!.current.length).toBe(bytes.length); // nothing was cut
    const again = await Store.open({ dir: '/s', fs, checkpoint: 'off' });
    expect(again.stats().events).toBe(6n);
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
  });

  it("a store with sync 'none' does not preallocate", async () => {
    const fs = new SimFs(4);
    const store = await Store.open({ dir: '/s', fs, checkpoint: 'off', sync: 'none' });
    await fill(store, 20);
    expect(layout(fs.inspect(segmentsOf(fs)[0]!)!.current).zerosAfter).toBe(0);
    await store.close();
  });

  it('on a real disk: zeros ahead while open, none after close, and a reopen reads every event', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'batpak-prealloc-'));
    try {
      const opts: StoreOptions = { dir, checkpoint: 'off' };
      const store = await Store.open(opts);
      await fill(store, 20);
      const seg = join(dir, (await readdir(dir)).filter((f) => f.endsWith('.bps')).sort()[0]!);
      expect(layout(new Uint8Array(await readFile(seg))).zerosAfter).toBeGreaterThan(0);
      await store.close();
      expect(layout(new Uint8Array(await readFile(seg))).zerosAfter).toBe(0);
      const again = await Store.open(opts);
      expect(again.stats().events).toBe(20n);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
