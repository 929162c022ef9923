// fsConformance: the cases every Fs implementation must pass for a store to run on it — errno codes,
// positioned reads, append order, truncation, renames, directory listing, atomic replace and locking, and,
// when the subject can simulate power loss, durability. Invariant: RealFs and SimFs pass every case.

import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBatpakError } from '../errors.js';
import type { Fs, FsFile } from '../fs/fs.js';
import { buildCases, check, rejection, rejectsWithCode, same, type ConformanceCase } from './conformance.js';

/** An Fs to test, with the directory the cases may fill and how to clean up after one case. */
export interface FsUnderTest {
  readonly fs: Fs;
  /** An existing, empty directory. */
  readonly root: string;
  cleanup?(): Promise<void> | void;
  /**
   * Simulates power loss: afterwards `fs` shows only what was made durable (fsync, syncDir) and open
   * handles are dead. Without it the `durable-…` cases pass without checking anything.
   */
  crash?(): Promise<void> | void;
}

/**
 * The Fs conformance cases. `factory` is called once per case; it returns a fresh subject, or a bare Fs,
 * in which case the cases work in a new directory under the OS temp directory that they create through
 * the Fs itself (fine for an in-memory Fs; a disk-backed Fs should return `{ fs, root, cleanup }`).
 * Usage: `for (const c of fsConformance(() => new MyFs())) it(c.name, c.run)`.
 */
export function fsConformance(factory: () => Fs | FsUnderTest | Promise<Fs | FsUnderTest>): ConformanceCase[] {
  const setup = async (): Promise<FsUnderTest> => {
    const made = await factory();
    if ('fs' in made && 'root' in made) return made;
    const root = join(tmpdir(), `batpak-fs-conformance-${randomBytes(6).toString('hex')}`);
    await made.mkdir(root, { recursive: true });
    return { fs: made, root };
  };
  return buildCases('fsConformance', setup, async (s) => s.cleanup?.(), FS_CASES);
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (u: Uint8Array): string => new TextDecoder().decode(u);

async function readAll(f: FsFile): Promise<string> {
  return dec(await f.readAt(0, await f.size()));
}

async function writeText(fs: Fs, path: string, text: string): Promise<void> {
  const f = await fs.open(path, { create: true });
  try {
    await f.truncate(0);
    await f.append([enc(text)]);
    await f.fsync();
  } finally {
    await f.close();
  }
}

async function readText(fs: Fs, path: string): Promise<string> {
  const f = await fs.open(path);
  try {
    return await readAll(f);
  } finally {
    await f.close();
  }
}

async function expectLocked(p: Promise<unknown>, what: string): Promise<void> {
  const err = await rejection(p);
  check(isBatpakError(err, 'ERR_STORE_LOCKED'), `${what}: expected a BatpakError ERR_STORE_LOCKED, got ${String(err)}`);
}

type Body = (s: FsUnderTest) => Promise<void>;

const FS_CASES: Readonly<Record<string, Body>> = {
  'create-new-exclusive': async ({ fs, root }) => {
    const f = await fs.open(join(root, 'a'), { create: true, exclusive: true });
    await f.append([enc('first')]);
    await f.close();
    await rejectsWithCode(fs.open(join(root, 'a'), { create: true, exclusive: true }), 'EEXIST', 'exclusive create of an existing file');
    const g = await fs.open(join(root, 'a'), { create: true });
    same(await readAll(g), 'first', 'non-exclusive create opens the existing file without truncating it');
    await g.close();
  },
  'open-missing-is-enoent': async ({ fs, root }) => {
    const p = (...n: string[]): string => join(root, ...n);
    await rejectsWithCode(fs.open(p('missing')), 'ENOENT', 'read-open of a missing file');
    await rejectsWithCode(fs.open(p('missing'), { write: true }), 'ENOENT', 'write-open of a missing file');
    await rejectsWithCode(fs.open(p('no-dir', 'x'), { create: true }), 'ENOENT', 'create in a missing directory');
    await writeText(fs, p('file'), 'x');
    await rejectsWithCode(fs.open(p('file', 'x'), { create: true }), 'ENOTDIR', 'create below a file');
    await fs.mkdir(p('dir'));
    await rejectsWithCode(fs.open(p('dir'), { write: true }), 'EISDIR', 'open of a directory');
  },
  'positioned-read-exact': async ({ fs, root }) => {
    const f = await fs.open(join(root, 'r'), { create: true });
    await f.append([enc('0123456789')]);
    same(dec(await f.readAt(2, 5)), '23456', 'readAt(2, 5)');
    same(dec(await f.readAt(0, 10)), '0123456789', 'readAt(0, 10)');
    same(dec(await f.readAt(8, 5)), '89', 'a read straddling EOF returns exactly min(length, size - position) bytes');
    same((await f.readAt(3, 0)).byteLength, 0, 'a zero-length read');
    if (f.readInto !== undefined) {
      const into = new Uint8Array(5).fill(0x2e);
      same(await f.readInto(2, into), 5, 'readInto(2, 5 bytes) reads 5');
      same(dec(into), '23456', 'readInto fills the target');
      same(await f.readInto(8, into), 2, 'a readInto straddling EOF reads min(length, size - position) bytes');
      same(dec(into.subarray(0, 2)), '89', 'readInto straddling EOF');
      same(await f.readInto(10, into), 0, 'a readInto at EOF');
    }
    await f.close();
  },
  'read-past-eof-is-empty': async ({ fs, root }) => {
    const f = await fs.open(join(root, 'r'), { create: true });
    await f.append([enc('abc')]);
    same((await f.readAt(3, 4)).byteLength, 0, 'a read at EOF');
    same((await f.readAt(100, 4)).byteLength, 0, 'a read past EOF');
    await f.close();
  },
  'append-keeps-order': async ({ fs, root }) => {
    const f = await fs.open(join(root, 'log'), { create: true });
    await f.append([enc('a'), enc(''), enc('bc')]);
    await f.append([enc('d')]);
    await f.append([]);
    await f.append([enc('ef'), enc('g')]);
    same(await f.size(), 7, 'size after appends');
    same(await readAll(f), 'abcdefg', 'content after appends');
    await f.close();
  },
  'append-goes-to-current-end': async ({ fs, root }) => {
    // "At the end of the file" means the file's end now, not where this handle last wrote.
    const a = await fs.open(join(root, 'shared'), { create: true });
    const b = await fs.open(join(root, 'shared'), { write: true });
    await a.append([enc('one.')]);
    await b.append([enc('two.')]);
    await a.append([enc('three.')]);
    same(await readText(fs, join(root, 'shared')), 'one.two.three.', 'appends through two handles');
    await a.close();
    await b.close();
  },
  'concurrent-appends-do-not-overlap': async ({ fs, root }) => {
    const f = await fs.open(join(root, 'c'), { create: true });
    await Promise.all([f.append([enc('AAAA')]), f.append([enc('BBBB')]), f.append([enc('CCCC')])]);
    const text = await readAll(f);
    same(text.length, 12, 'length after three concurrent 4-byte appends');
    same([...text].sort().join(''), 'AAAABBBBCCCC', 'bytes after three concurrent appends');
    await f.close();
  },
  'preallocated-appends-overwrite-the-zeros': async ({ fs, root }) => {
    const path = join(root, 'p');
    await writeText(fs, path, 'ab');
    const f = await fs.open(path, { write: true, preallocate: true });
    await f.append([enc('c')]);
    // An Fs may ignore the option: then the file has no preallocate and appends at its end as any other.
    if (f.preallocate === undefined) {
      same(await readAll(f), 'abc', 'appends of a file whose Fs ignores preallocate');
      await f.close();
      return;
    }
    await f.preallocate(10);
    same(await f.size(), 10, 'size after preallocate(10)');
    same(await readAll(f), 'abc\0\0\0\0\0\0\0', 'preallocate writes zeros past the data');
    await f.preallocate(4);
    same(await f.size(), 10, 'preallocate to a shorter length changes nothing');
    await f.append([enc('d'), enc('e')]);
    await Promise.all([f.append([enc('FF')]), f.append([enc('GG')])]);
    const text = await readAll(f);
    same(text.length, 10, 'appends into the zeros do not grow the file');
    same(text.slice(0, 5), 'abcde', 'an append lands at the end of the data, not the end of the file');
    same([...text.slice(5, 9)].sort().join(''), 'FFGG', 'concurrent appends into the zeros do not overlap');
    same(text.slice(9), '\0', 'zeros past the data stay');
    await f.append([enc('HIJ')]);
    same((await readAll(f)).slice(9), 'HIJ', 'an append past the zeros grows the file after them');
    await f.truncate(3);
    await f.append([enc('x')]);
    same(await readAll(f), 'abcx', 'after a truncate the next append lands at the new end');
    await f.writeAt(6, enc('w'));
    await f.append([enc('y')]);
    same(await readAll(f), 'abcx\0\0wy', 'after a writeAt past the data, appends land after it');
    await f.close();
    const g = await fs.open(path, { write: true, preallocate: true });
    await g.preallocate!(12);
    await g.append([enc('z')]);
    same(await readAll(g), 'abcx\0\0wyz\0\0\0', 'a reopened file appends at its size at open');
    await g.close();
  },
  'write-at-extends-with-zeros': async ({ fs, root }) => {
    const f = await fs.open(join(root, 'w'), { create: true });
    await f.writeAt(4, enc('xy'));
    same(await f.size(), 6, 'size after writeAt(4, 2 bytes) on an empty file');
    same([...(await f.readAt(0, 6))], [0, 0, 0, 0, 120, 121], 'the gap reads as zeros');
    await f.writeAt(1, enc('Q'));
    same(await f.size(), 6, 'size after an overwrite inside the file');
    same([...(await f.readAt(0, 3))], [0, 81, 0], 'bytes after an overwrite');
    await f.append([enc('!')]);
    same(dec(await f.readAt(4, 3)), 'xy!', 'an append after writeAt');
    await f.close();
  },
  'empty-write-at-does-not-extend': async ({ fs, root }) => {
    const f = await fs.open(join(root, 'e'), { create: true });
    await f.writeAt(10, new Uint8Array(0));
    await f.append([enc('z')]);
    same(await f.size(), 1, 'size after an empty writeAt past EOF and a 1-byte append');
    same(await readAll(f), 'z', 'content');
    await f.close();
  },
  'truncate-cuts-and-zero-extends': async ({ fs, root }) => {
    const f = await fs.open(join(root, 't'), { create: true });
    await f.append([enc('abcdef')]);
    await f.truncate(2);
    same(await f.size(), 2, 'size after truncate(2)');
    await f.append([enc('Z')]);
    same(await readAll(f), 'abZ', 'an append after truncate goes to the new end');
    await f.truncate(5);
    same([...(await f.readAt(0, 10))], [97, 98, 90, 0, 0], 'truncate to a larger length zero-extends');
    await f.close();
  },
  'size-tracks-unsynced-writes': async ({ fs, root }) => {
    const f = await fs.open(join(root, 's'), { create: true });
    same(await f.size(), 0, 'size of a new file');
    await f.append([enc('12345')]);
    same(await f.size(), 5, 'size before fsync');
    same((await fs.stat(join(root, 's')))?.size, 5, 'stat size before fsync');
    const g = await fs.open(join(root, 's'));
    same(await g.size(), 5, 'size seen by a second handle');
    same(await readAll(g), '12345', 'content seen by a second handle');
    await g.close();
    await f.fsync();
    same(await f.size(), 5, 'size after fsync');
    await f.close();
  },
  'read-only-handle-rejects-writes': async ({ fs, root }) => {
    await writeText(fs, join(root, 'ro'), 'keep');
    const f = await fs.open(join(root, 'ro'));
    await rejectsWithCode(f.append([enc('x')]), 'EBADF', 'append on a read-only handle');
    await rejectsWithCode(f.writeAt(0, enc('x')), 'EBADF', 'writeAt on a read-only handle');
    await rejectsWithCode(f.truncate(0), 'EINVAL', 'truncate on a read-only handle');
    same(await readAll(f), 'keep', 'content after refused writes');
    await f.close();
  },
  'closed-handle-rejects-io': async ({ fs, root }) => {
    const f = await fs.open(join(root, 'cl'), { create: true });
    await f.close();
    await f.close(); // idempotent
    await rejectsWithCode(f.readAt(0, 1), 'EBADF', 'readAt on a closed handle');
    await rejectsWithCode(f.append([enc('x')]), 'EBADF', 'append on a closed handle');
    await rejectsWithCode(f.size(), 'EBADF', 'size on a closed handle');
  },
  'rename-replaces-atomically': async ({ fs, root }) => {
    await writeText(fs, join(root, 'old'), 'old content, longer');
    await writeText(fs, join(root, 'new'), 'new');
    await fs.rename(join(root, 'new'), join(root, 'old'));
    same(await readText(fs, join(root, 'old')), 'new', 'the target holds the source content');
    same(await fs.stat(join(root, 'new')), null, 'the source name is gone');
    same(await fs.readdir(root), ['old'], 'directory after the rename');
    await fs.mkdir(join(root, 'sub'));
    await fs.rename(join(root, 'old'), join(root, 'sub', 'moved'));
    same(await fs.readdir(join(root, 'sub')), ['moved'], 'a rename into a subdirectory');
  },
  'same-path-rename-non-destructive': async ({ fs, root }) => {
    await writeText(fs, join(root, 'same'), 'still here');
    await fs.rename(join(root, 'same'), join(root, 'same'));
    same(await readText(fs, join(root, 'same')), 'still here', 'content after renaming a file onto itself');
  },
  'rename-errors': async ({ fs, root }) => {
    const p = (...n: string[]): string => join(root, ...n);
    await rejectsWithCode(fs.rename(p('missing'), p('x')), 'ENOENT', 'rename of a missing file');
    await writeText(fs, p('f'), 'f');
    await fs.mkdir(p('d'));
    await writeText(fs, p('d', 'inside'), 'i');
    await rejectsWithCode(fs.rename(p('f'), p('d')), 'EISDIR', 'rename of a file onto a directory');
    await rejectsWithCode(fs.rename(p('d'), p('f')), 'ENOTDIR', 'rename of a directory onto a file');
    same(await readText(fs, p('f')), 'f', 'the file after refused renames');
  },
  'remove-and-force': async ({ fs, root }) => {
    await writeText(fs, join(root, 'gone'), 'x');
    await fs.remove(join(root, 'gone'));
    same(await fs.stat(join(root, 'gone')), null, 'stat after remove');
    await rejectsWithCode(fs.remove(join(root, 'gone')), 'ENOENT', 'remove of a missing file');
    await fs.remove(join(root, 'gone'), { force: true });
    await fs.remove(join(root, 'no-dir', 'gone'), { force: true });
  },
  'remove-directory-is-eisdir': async ({ fs, root }) => {
    await fs.mkdir(join(root, 'd'));
    await rejectsWithCode(fs.remove(join(root, 'd')), 'EISDIR', 'remove of a directory');
    same((await fs.stat(join(root, 'd')))?.isDirectory, true, 'the directory is still there');
  },
  'removed-file-stays-readable-through-open-handle': async ({ fs, root }) => {
    await writeText(fs, join(root, 'unlinked'), 'ghost');
    const f = await fs.open(join(root, 'unlinked'), { write: true });
    await fs.remove(join(root, 'unlinked'));
    same(await readAll(f), 'ghost', 'read through a handle after its file was removed');
    await f.append([enc('!')]);
    same(await readAll(f), 'ghost!', 'append through a handle after its file was removed');
    await f.close();
    same(await fs.stat(join(root, 'unlinked')), null, 'the name stays gone');
  },
  'readdir-sorted-names': async ({ fs, root }) => {
    for (const name of ['b', 'a', 'c10', 'c2', 'B']) await writeText(fs, join(root, name), name);
    await fs.mkdir(join(root, 'dir'));
    await writeText(fs, join(root, 'dir', 'nested'), 'n');
    same(await fs.readdir(root), ['B', 'a', 'b', 'c10', 'c2', 'dir'], 'names, sorted by code unit');
    same(await fs.readdir(join(root, 'dir')), ['nested'], 'a subdirectory');
    await rejectsWithCode(fs.readdir(join(root, 'missing')), 'ENOENT', 'readdir of a missing directory');
    await rejectsWithCode(fs.readdir(join(root, 'a')), 'ENOTDIR', 'readdir of a file');
  },
  'stat-null-when-absent': async ({ fs, root }) => {
    same(await fs.stat(join(root, 'nothing')), null, 'stat of a missing file');
    same(await fs.stat(join(root, 'no-dir', 'nothing')), null, 'stat in a missing directory');
    await writeText(fs, join(root, 'f'), 'four');
    same(await fs.stat(join(root, 'f')), { size: 4, isFile: true, isDirectory: false }, 'stat of a file');
    await rejectsWithCode(fs.stat(join(root, 'f', 'below')), 'ENOTDIR', 'stat below a file');
    const d = await fs.stat(root);
    same([d?.isDirectory, d?.isFile], [true, false], 'stat of a directory (isDirectory, isFile)');
  },
  'mkdir-plain-and-recursive': async ({ fs, root }) => {
    const p = (...n: string[]): string => join(root, ...n);
    await rejectsWithCode(fs.mkdir(p('x', 'y')), 'ENOENT', 'plain mkdir in a missing directory');
    await fs.mkdir(p('x', 'y', 'z'), { recursive: true });
    await fs.mkdir(p('x', 'y'), { recursive: true });
    await rejectsWithCode(fs.mkdir(p('x')), 'EEXIST', 'plain mkdir of an existing directory');
    same(await fs.readdir(p('x', 'y')), ['z'], 'recursive mkdir made every level');
    await writeText(fs, p('file'), 'f');
    await rejectsWithCode(fs.mkdir(p('file'), { recursive: true }), 'EEXIST', 'recursive mkdir over a file');
    await rejectsWithCode(fs.mkdir(p('file', 'sub'), { recursive: true }), 'ENOTDIR', 'recursive mkdir below a file');
  },
  'fsync-and-sync-dir-succeed': async ({ fs, root }) => {
    const f = await fs.open(join(root, 'durable'), { create: true, exclusive: true });
    await f.append([enc('data')]);
    await f.fsync();
    await f.close();
    await fs.syncDir(root);
    same(await readText(fs, join(root, 'durable')), 'data', 'content after fsync');
    await rejectsWithCode(fs.syncDir(join(root, 'missing')), 'ENOENT', 'syncDir of a missing directory');
  },
  'write-file-atomic-replaces-whole-content': async ({ fs, root }) => {
    const p = (n: string): string => join(root, n);
    await fs.writeFileAtomic(p('cfg'), enc('a much longer first version'));
    same(await readText(fs, p('cfg')), 'a much longer first version', 'first version');
    await fs.writeFileAtomic(p('cfg'), enc('v2'));
    same(await readText(fs, p('cfg')), 'v2', 'a shorter second version leaves no tail');
    await fs.writeFileAtomic(p('cfg'), new Uint8Array(0));
    same((await fs.stat(p('cfg')))?.size, 0, 'an empty version');
    same(await fs.readdir(root), ['cfg'], 'no temp-file debris beside the file');
    await rejectsWithCode(fs.writeFileAtomic(join(root, 'no-dir', 'cfg'), enc('x')), 'ENOENT', 'writeFileAtomic in a missing directory');
  },
  'lock-excludes-second-owner': async ({ fs, root }) => {
    const lock = await fs.lock(join(root, '.batpak.lock'));
    await expectLocked(fs.lock(join(root, '.batpak.lock')), 'a second lock of a held name');
    const other = await fs.lock(join(root, 'other.lock'));
    await other.release();
    await lock.release();
  },
  'lock-releases-on-release': async ({ fs, root }) => {
    const first = await fs.lock(join(root, '.batpak.lock'));
    await first.release();
    await first.release(); // idempotent
    const second = await fs.lock(join(root, '.batpak.lock'));
    await first.release(); // a stale handle's release must not free the new holder's lock
    await expectLocked(fs.lock(join(root, '.batpak.lock')), 'a lock after a stale handle released');
    await second.release();
  },
  'lock-in-missing-directory-is-enoent': async ({ fs, root }) => {
    await rejectsWithCode(fs.lock(join(root, 'no-dir', '.batpak.lock')), 'ENOENT', 'lock in a missing directory');
  },
  'durable-fsync-keeps-appended-bytes': async (s) => {
    if (s.crash === undefined) return;
    const f = await s.fs.open(join(s.root, 'log'), { create: true, exclusive: true });
    await f.append([enc('acknowledged')]);
    await f.fsync();
    await s.fs.syncDir(s.root);
    await s.crash();
    same(await readText(s.fs, join(s.root, 'log')), 'acknowledged', 'fsynced bytes after a crash');
  },
  'durable-preallocated-append-survives-a-crash': async (s) => {
    if (s.crash === undefined) return;
    const path = join(s.root, 'log');
    const f = await s.fs.open(path, { create: true, exclusive: true });
    await f.append([enc('head.')]);
    await f.fsync();
    await s.fs.syncDir(s.root);
    const d = await s.fs.open(path, { write: true, syncAppends: true, preallocate: true });
    await d.preallocate?.(64);
    await d.append([enc('acknowledged')]);
    if (d.appendsDurable !== true) await d.fsync();
    await s.crash();
    const text = await readText(s.fs, path);
    same(text.slice(0, 17), 'head.acknowledged', 'a durable append into preallocated zeros after a crash');
    same(/^\0*$/.test(text.slice(17)), true, 'only zeros may follow it');
  },
  'durable-write-file-atomic-is-old-or-new': async (s) => {
    if (s.crash === undefined) return;
    await s.fs.writeFileAtomic(join(s.root, 'cfg'), enc('old'));
    await s.fs.writeFileAtomic(join(s.root, 'cfg'), enc('new'));
    await s.crash();
    same(await readText(s.fs, join(s.root, 'cfg')), 'new', 'a completed writeFileAtomic after a crash');
  },
  'durable-rename-after-sync-dir': async (s) => {
    if (s.crash === undefined) return;
    await writeText(s.fs, join(s.root, 'a'), 'moved');
    await s.fs.syncDir(s.root);
    await s.fs.rename(join(s.root, 'a'), join(s.root, 'b'));
    await s.fs.syncDir(s.root);
    await s.crash();
    same(await s.fs.readdir(s.root), ['b'], 'names after a synced rename and a crash');
    same(await readText(s.fs, join(s.root, 'b')), 'moved', 'the renamed file after a crash');
  },
};
