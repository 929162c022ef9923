// The conformance suites can fail: each deliberately broken Fs or KeyStore here breaks one promise of its
// contract, and the suite must name the case that catches it. Invariant: a faithful wrapper passes all.

import { describe, expect, it } from 'vitest';
import type { Fs, FsFile, FsLock, FsOpenOptions, FsStat } from '../src/fs/fs.js';
import type { KeyStore } from '../src/keyset/keystore.js';
import { ConformanceError, fsConformance, keyStoreConformance, SimFs, type ConformanceCase } from '../src/entry/testing.js';

/** Runs every case; the names of those that failed, each checked to fail with a descriptive message. */
async function failures(cases: readonly ConformanceCase[]): Promise<string[]> {
  const failed: string[] = [];
  for (const c of cases) {
    try {
      await c.run();
    } catch (err) {
      expect(err).toBeInstanceOf(ConformanceError);
      expect((err as Error).message).toMatch(new RegExp(`^(fs|keyStore)Conformance ${c.name}: .+`));
      failed.push(c.name);
    }
  }
  return failed;
}

type Breakage = 'none' | 'read-pads-past-eof' | 'fsync-does-not-persist' | 'rename-copies' | 'append-at-handle-offset' | 'readdir-unsorted' | 'lock-not-exclusive' | 'errors-without-errno';

/** A SimFs seen through a wrapper that, unless `breakage` is 'none', gets one thing wrong. */
class BrokenFs implements Fs {
  constructor(
    readonly inner: SimFs,
    readonly breakage: Breakage,
  ) {}
  async open(path: string, options?: FsOpenOptions): Promise<FsFile> {
    let f: FsFile;
    try {
      f = await this.inner.open(path, options);
    } catch (err) {
      if (this.breakage === 'errors-without-errno') throw new Error(`cannot open ${path}`);
      throw err;
    }
    return this.#file(f);
  }
  #file(f: FsFile): FsFile {
    const breakage = this.breakage;
    let offset = 0; // where this handle last wrote: the wrong notion of "the end" for append-at-handle-offset
    return {
      path: f.path,
      async readAt(position, length) {
        const got = await f.readAt(position, length);
        if (breakage !== 'read-pads-past-eof' || got.byteLength === length) return got;
        const padded = new Uint8Array(length);
        padded.set(got);
        return padded;
      },
      async append(chunks) {
        if (breakage !== 'append-at-handle-offset') return f.append(chunks);
        for (const c of chunks) {
          await f.writeAt(offset, c);
          offset += c.byteLength;
        }
      },
      writeAt: (position, data) => f.writeAt(position, data),
      fsync: async () => (breakage === 'fsync-does-not-persist' ? undefined : f.fsync()),
      truncate: (length) => f.truncate(length),
      size: () => f.size(),
      close: () => f.close(),
    };
  }
  stat(path: string): Promise<FsStat | null> {
    return this.inner.stat(path);
  }
  async readdir(path: string): Promise<string[]> {
    const names = await this.inner.readdir(path);
    return this.breakage === 'readdir-unsorted' ? names.reverse() : names;
  }
  mkdir(path: string, options?: { readonly recursive?: boolean }): Promise<void> {
    return this.inner.mkdir(path, options);
  }
  async rename(from: string, to: string): Promise<void> {
    if (this.breakage !== 'rename-copies' || from === to) return this.inner.rename(from, to);
    const src = await this.inner.open(from);
    const bytes = await src.readAt(0, await src.size());
    await src.close();
    await this.inner.writeFileAtomic(to, bytes);
  }
  remove(path: string, options?: { readonly force?: boolean }): Promise<void> {
    return this.inner.remove(path, options);
  }
  syncDir(path: string): Promise<void> {
    return this.inner.syncDir(path);
  }
  writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    return this.inner.writeFileAtomic(path, data);
  }
  async lock(path: string): Promise<FsLock> {
    if (this.breakage === 'lock-not-exclusive') return { path, release: async () => undefined };
    return this.inner.lock(path);
  }
}

function brokenFsCases(breakage: Breakage): ConformanceCase[] {
  return fsConformance(async () => {
    const sim = new SimFs(9);
    await sim.mkdir('/data', { recursive: true });
    await sim.syncDir('/');
    return { fs: new BrokenFs(sim, breakage), root: '/data', crash: () => void sim.crash() };
  });
}

describe('fsConformance catches a broken Fs', () => {
  it('a faithful wrapper passes every case', async () => {
    expect(await failures(brokenFsCases('none'))).toEqual([]);
  });
  const expected: ReadonlyArray<[Breakage, string]> = [
    ['read-pads-past-eof', 'read-past-eof-is-empty'],
    ['read-pads-past-eof', 'positioned-read-exact'],
    ['fsync-does-not-persist', 'durable-fsync-keeps-appended-bytes'],
    ['rename-copies', 'rename-replaces-atomically'],
    ['append-at-handle-offset', 'append-goes-to-current-end'],
    ['readdir-unsorted', 'readdir-sorted-names'],
    ['lock-not-exclusive', 'lock-excludes-second-owner'],
    ['errors-without-errno', 'open-missing-is-enoent'],
  ];
  it.each(expected)('%s fails %s', async (breakage, caseName) => {
    expect(await failures(brokenFsCases(breakage))).toContain(caseName);
  });
});

type KeyStoreBreakage = 'none' | 'keeps-caller-buffer' | 'null-when-empty' | 'appends-instead-of-replacing' | 'forgets-on-reopen';

/** An in-memory KeyStore (what an embedder might write), optionally wrong in one way. */
class MemoryKeyStore implements KeyStore {
  readonly name = 'memory';
  constructor(
    readonly cell: { image?: Uint8Array },
    readonly breakage: KeyStoreBreakage,
  ) {}
  async load(): Promise<Uint8Array | undefined> {
    if (this.cell.image === undefined) return this.breakage === 'null-when-empty' ? (null as unknown as undefined) : undefined;
    return this.cell.image.slice();
  }
  async persist(image: Uint8Array): Promise<void> {
    if (this.breakage === 'keeps-caller-buffer') this.cell.image = image;
    else if (this.breakage === 'appends-instead-of-replacing' && this.cell.image !== undefined) this.cell.image = Buffer.concat([this.cell.image, image]);
    else this.cell.image = image.slice();
  }
}

function brokenKeyStoreCases(breakage: KeyStoreBreakage): ConformanceCase[] {
  return keyStoreConformance(() => {
    const cell = {};
    return { keyStore: new MemoryKeyStore(cell, breakage), reopen: () => new MemoryKeyStore(breakage === 'forgets-on-reopen' ? {} : cell, breakage) };
  });
}

describe('keyStoreConformance catches a broken KeyStore', () => {
  it('a correct in-memory KeyStore passes every case', async () => {
    expect(await failures(brokenKeyStoreCases('none'))).toEqual([]);
  });
  const expected: ReadonlyArray<[KeyStoreBreakage, string]> = [
    ['keeps-caller-buffer', 'persist-keeps-its-own-copy'],
    ['null-when-empty', 'load-before-persist-is-undefined'],
    ['appends-instead-of-replacing', 'persist-replaces-whole-image'],
    ['forgets-on-reopen', 'reopen-sees-last-image'],
  ];
  it.each(expected)('%s fails %s', async (breakage, caseName) => {
    expect(await failures(brokenKeyStoreCases(breakage))).toContain(caseName);
  });
});
