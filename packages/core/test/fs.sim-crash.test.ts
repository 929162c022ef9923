// SimFs's crash model: what survives a crash is exactly what was made durable, bytes and names alike.
// Invariant checked: unsynced data and names roll back, synced ones survive, tears are prefixes only.

import { describe, expect, it } from 'vitest';
import { isBatpakError } from '../src/errors.js';
import type { Fs } from '../src/fs/fs.js';
import { SimFs } from '../src/entry/testing.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (u: Uint8Array): string => new TextDecoder().decode(u);

async function errnoOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

async function read(fs: Fs, path: string): Promise<string | null> {
  if ((await fs.stat(path)) === null) return null;
  const f = await fs.open(path);
  try {
    return dec(await f.readAt(0, await f.size()));
  } finally {
    await f.close();
  }
}

/** A file whose bytes and name are both durable. */
async function durableFile(fs: SimFs, path: string, text: string): Promise<void> {
  const f = await fs.open(path, { create: true, exclusive: true });
  await f.append([enc(text)]);
  await f.fsync();
  await f.close();
  await fs.syncDir(path.slice(0, path.lastIndexOf('/')) || '/');
}

async function fresh(seed = 1): Promise<SimFs> {
  const fs = new SimFs(seed);
  await fs.mkdir('/d', { recursive: true });
  return fs;
}

describe('SimFs crash: bytes', () => {
  it('crash-drops-unsynced-tail', async () => {
    const fs = await fresh();
    await durableFile(fs, '/d/seg', 'synced|');
    const f = await fs.open('/d/seg', { write: true });
    await f.append([enc('unsynced')]);
    expect(fs.inspect('/d/seg')).toMatchObject({ current: enc('synced|unsynced'), durable: enc('synced|') });
    const report = fs.crash({ tear: false });
    expect(report.files).toEqual([{ path: '/d/seg', currentLength: 15, durableLength: 7, keptLength: 7 }]);
    expect(await read(fs, '/d/seg')).toBe('synced|');
  });

  it('crash-keeps-synced', async () => {
    const fs = await fresh();
    await durableFile(fs, '/d/a', 'alpha');
    await durableFile(fs, '/d/b', 'beta');
    const f = await fs.open('/d/a', { write: true });
    await f.writeAt(0, enc('ALPHA'));
    await f.append([enc('+more')]);
    await f.fsync();
    expect(fs.crash().files).toEqual([]);
    expect(await read(fs, '/d/a')).toBe('ALPHA+more');
    expect(await read(fs, '/d/b')).toBe('beta');
  });

  it('unsynced truncate and overwrite roll back', async () => {
    const fs = await fresh();
    await durableFile(fs, '/d/t', 'abcdef');
    const f = await fs.open('/d/t', { write: true });
    await f.truncate(2);
    await f.writeAt(0, enc('XY'));
    fs.crash();
    expect(await read(fs, '/d/t')).toBe('abcdef');
  });

  it('torn write leaves only a prefix of the unsynced tail', async () => {
    const kept = new Set<number>();
    for (let seed = 0; seed < 40; seed++) {
      const fs = await fresh(seed);
      await durableFile(fs, '/d/seg', 'HEAD:');
      const f = await fs.open('/d/seg', { write: true });
      await f.append([enc('0123456789')]);
      const report = fs.crash({ tear: true });
      const text = await read(fs, '/d/seg');
      expect(text).not.toBeNull();
      expect('HEAD:0123456789'.startsWith(text ?? '?')).toBe(true);
      expect(text?.startsWith('HEAD:')).toBe(true);
      expect(report.files[0]?.keptLength).toBe(text?.length);
      kept.add((text?.length ?? 0) - 5);
    }
    // The seed spreads tears over the tail: none, some, and partial lengths all occur.
    expect(kept.size).toBeGreaterThan(4);
    expect([...kept].some((k) => k > 0 && k < 10)).toBe(true);
  });

  it('a tear never keeps bytes from the middle of the file', async () => {
    for (let seed = 0; seed < 20; seed++) {
      const fs = await fresh(seed);
      await durableFile(fs, '/d/seg', 'durable');
      const f = await fs.open('/d/seg', { write: true });
      await f.writeAt(0, enc('MID'));
      await f.append([enc('tail')]);
      fs.crash({ tear: true });
      expect(await read(fs, '/d/seg')).toBe('durable');
    }
  });

  it('a torn tail that survived a crash is on the medium: a second crash keeps it', async () => {
    const fs = await fresh(3);
    await durableFile(fs, '/d/seg', '');
    const f = await fs.open('/d/seg', { write: true });
    await f.append([enc('x'.repeat(100))]);
    fs.crash({ tear: true });
    const after = await read(fs, '/d/seg');
    fs.crash({ tear: true });
    expect(await read(fs, '/d/seg')).toBe(after);
  });

  it('corrupt() tampers with the medium: the flip survives a crash', async () => {
    const fs = await fresh();
    await durableFile(fs, '/d/seg', 'abc');
    fs.corrupt('/d/seg', 1, 0x20);
    expect(await read(fs, '/d/seg')).toBe('aBc');
    fs.crash();
    expect(await read(fs, '/d/seg')).toBe('aBc');
    expect(() => fs.corrupt('/d/seg', 3, 1)).toThrow(RangeError);
    expect(() => fs.corrupt('/d/none', 0, 1)).toThrow(/ENOENT/);
  });
});

describe('SimFs crash: names', () => {
  it('names not synced vanish at crash, even with fsynced bytes', async () => {
    const fs = await fresh();
    const f = await fs.open('/d/new', { create: true, exclusive: true });
    await f.append([enc('data')]);
    await f.fsync();
    expect(fs.inspect('/d/new')?.nameDurable).toBe(false);
    expect(fs.listFiles({ durable: true })).toEqual([]);
    fs.crash();
    expect(await fs.stat('/d/new')).toBeNull();
    expect(await fs.readdir('/d')).toEqual([]);
  });

  it('synced rename survives', async () => {
    const fs = await fresh();
    await durableFile(fs, '/d/final', 'old');
    await durableFile(fs, '/d/tmp', 'new');
    await fs.rename('/d/tmp', '/d/final');
    await fs.syncDir('/d');
    fs.crash();
    expect(await fs.readdir('/d')).toEqual(['final']);
    expect(await read(fs, '/d/final')).toBe('new');
  });

  it('unsynced rename is undone at crash: both old names come back', async () => {
    const fs = await fresh();
    await durableFile(fs, '/d/final', 'old');
    await durableFile(fs, '/d/tmp', 'new');
    await fs.rename('/d/tmp', '/d/final');
    expect(await read(fs, '/d/final')).toBe('new');
    fs.crash();
    expect(await read(fs, '/d/final')).toBe('old');
    expect(await read(fs, '/d/tmp')).toBe('new');
  });

  it('unsynced remove resurrects at crash, with its durable bytes', async () => {
    const fs = await fresh();
    await durableFile(fs, '/d/victim', 'still-here');
    const f = await fs.open('/d/victim', { write: true });
    await f.append([enc('-unsynced')]);
    await fs.remove('/d/victim');
    fs.crash({ tear: false });
    expect(await read(fs, '/d/victim')).toBe('still-here');
  });

  it('durable-remove-never-resurrects', async () => {
    const fs = await fresh();
    await durableFile(fs, '/d/victim', 'x');
    await fs.remove('/d/victim');
    await fs.syncDir('/d');
    for (let i = 0; i < 3; i++) {
      fs.crash();
      expect(await fs.stat('/d/victim')).toBeNull();
    }
  });

  it('a name synced in one directory only: cross-directory rename follows each directory', async () => {
    const fs = await fresh();
    await fs.mkdir('/d/a');
    await fs.mkdir('/d/b');
    await durableFile(fs, '/d/a/f', 'moved');
    await fs.rename('/d/a/f', '/d/b/f');
    await fs.syncDir('/d/b'); // the source directory is not synced: the old name is still durable
    fs.crash();
    expect(await read(fs, '/d/a/f')).toBe('moved');
    expect(await read(fs, '/d/b/f')).toBe('moved');
  });

  it('mkdir is durable at once by default, and needs a parent syncDir with durableMkdir: false', async () => {
    const loose = new SimFs({ seed: 1 });
    await loose.mkdir('/x/y', { recursive: true });
    loose.crash();
    expect(await loose.stat('/x/y')).not.toBeNull();

    const strict = new SimFs({ seed: 1, durableMkdir: false });
    await strict.mkdir('/x/y', { recursive: true });
    await strict.syncDir('/');
    strict.crash();
    expect(await strict.stat('/x')).not.toBeNull();
    expect(await strict.stat('/x/y')).toBeNull();
  });

  it('writeFileAtomic leaves old or new content whichever step fails, never debris', async () => {
    const steps = [
      ['open', 1],
      ['writeAt', 1],
      ['fsync', 1],
      ['rename', 1],
      ['syncDir', 1],
    ] as const;
    for (const [op, nth] of steps) {
      const fs = await fresh();
      await fs.writeFileAtomic('/d/cfg', enc('old'));
      fs.failOn(op, nth, 'EIO');
      expect(await errnoOf(fs.writeFileAtomic('/d/cfg', enc('new')))).toBe('EIO');
      fs.crash();
      expect(['old', 'new']).toContain(await read(fs, '/d/cfg'));
      expect(await fs.readdir('/d')).toEqual(['cfg']);
    }
  });
});

describe('SimFs crash: handles and locks', () => {
  it('handles opened before a crash are dead', async () => {
    const fs = await fresh();
    await durableFile(fs, '/d/f', 'abc');
    const f = await fs.open('/d/f', { write: true });
    fs.crash();
    for (const op of [
      () => f.readAt(0, 1),
      () => f.append([enc('x')]),
      () => f.writeAt(0, enc('x')),
      () => f.fsync(),
      () => f.truncate(0),
      () => f.size(),
    ]) {
      let err: unknown;
      try {
        await op();
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string }).code).toBe('EIO');
      expect(String(err)).toMatch(/predates a crash/);
    }
    await f.close(); // cleanup of a dead handle is allowed
    const g = await fs.open('/d/f');
    expect(dec(await g.readAt(0, 3))).toBe('abc');
    expect(fs.stats().openHandles).toBe(1);
  });

  it('locks are released by a crash, and a pre-crash release does not free the new holder', async () => {
    const fs = await fresh();
    const before = await fs.lock('/d/.batpak.lock');
    fs.crash();
    const after = await fs.lock('/d/.batpak.lock');
    await before.release();
    let err: unknown;
    try {
      await fs.lock('/d/.batpak.lock');
    } catch (e) {
      err = e;
    }
    expect(isBatpakError(err, 'ERR_STORE_LOCKED')).toBe(true);
    await after.release();
  });
});

describe('SimFs determinism', () => {
  interface Run {
    readonly faults: ReturnType<SimFs['faults']>;
    readonly report: ReturnType<SimFs['crash']>;
    readonly reads: readonly number[][];
    readonly files: readonly unknown[];
    readonly stats: ReturnType<SimFs['stats']>;
  }

  async function scenario(seed: number): Promise<Run> {
    const fs = new SimFs(seed);
    await fs.mkdir('/d', { recursive: true });
    const a = await fs.open('/d/a', { create: true });
    const b = await fs.open('/d/b', { create: true });
    await fs.syncDir('/d');
    fs.setFaultRate({ probability: 0.2, kinds: ['bit-flip', 'short-read', 'fsync-lie'] });
    const reads: number[][] = [];
    for (let i = 0; i < 30; i++) {
      // Interleaved, un-awaited appends: the order they land in must depend on the calls only.
      await Promise.all([a.append([enc(`a${i};`)]), b.append([enc(`b${i};`)]), a.append([enc(`A${i};`)])]);
      if (i % 7 === 0) await a.fsync();
      if (i % 5 === 0) await b.fsync();
      reads.push([...(await a.readAt(0, 16))]);
    }
    const report = fs.crash({ tear: true });
    return { faults: fs.faults(), report, reads, files: [...fs.snapshot()], stats: fs.stats() };
  }

  it('same seed ⇒ same faults, torn lengths, flipped bits and bytes', async () => {
    const first = await scenario(42);
    // The scenario must exercise what it claims to pin down.
    expect(first.faults.some((f) => f.kind === 'bit-flip' && f.bit !== undefined)).toBe(true);
    expect(first.faults.some((f) => f.kind === 'fsync-lie')).toBe(true);
    expect(first.report.files.some((f) => f.keptLength > f.durableLength)).toBe(true);
    expect(await scenario(42)).toEqual(first);
  });

  it('different seeds ⇒ different runs', async () => {
    const runs = await Promise.all([1, 2, 3].map((s) => scenario(s)));
    expect(runs[0]).not.toEqual(runs[1]);
    expect(runs[1]).not.toEqual(runs[2]);
  });
});

describe('SimFs crash: writes over preallocated zeros', () => {
  /** 'head|' durable, zeros preallocated to 32 and synced, then `data` appended over them (not synced). */
  async function overZeros(seed: number, data: string) {
    const fs = await fresh(seed);
    await durableFile(fs, '/d/seg', 'head|');
    const f = await fs.open('/d/seg', { write: true, preallocate: true });
    await f.preallocate!(32);
    await f.fsync();
    await f.append([enc(data)]);
    return { fs, f };
  }

  it('an unsynced write into durable zeros is lost, or kept as a prefix, never more', async () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 24; seed++) {
      const { fs } = await overZeros(seed, 'abcdef');
      const view = fs.inspect('/d/seg')!;
      expect(dec(view.current.subarray(0, 11))).toBe('head|abcdef');
      expect(view.durable).toEqual(new Uint8Array([...enc('head|'), ...new Uint8Array(27)]));
      fs.crash();
      const after = fs.inspect('/d/seg')!.current;
      expect(after.length).toBe(32);
      let kept = 0;
      while (kept < 6 && after[5 + kept] === 'abcdef'.charCodeAt(kept)) kept++;
      expect(after.subarray(5 + kept).every((b) => b === 0)).toBe(true);
      seen.add(kept);
    }
    // Tears keep different prefixes across seeds: both "all lost" and partial writes occur.
    expect(seen.size).toBeGreaterThan(2);
  });

  it('an fsynced write into the zeros survives, and the next write over zeros is torn from there', async () => {
    const { fs, f } = await overZeros(5, 'abc');
    await f.fsync();
    await f.append([enc('XYZ')]);
    fs.crash({ tear: false });
    const after = fs.inspect('/d/seg')!.current;
    expect(dec(after.subarray(0, 8))).toBe('head|abc');
    expect(after.subarray(8).every((b) => b === 0)).toBe(true);
    expect(after.length).toBe(32);
  });

  it('corrupting a byte in the durable zeros flips it in both copies', async () => {
    const { fs } = await overZeros(7, 'abc');
    fs.corrupt('/d/seg', 20, 0xff);
    const view = fs.inspect('/d/seg')!;
    expect(view.current[20]).toBe(0xff);
    expect(view.durable[20]).toBe(0xff);
    expect(view.durable[5]).toBe(0); // the unsynced write is still not durable
    fs.crash({ tear: false });
    expect(fs.inspect('/d/seg')!.current[20]).toBe(0xff);
  });
});
