// RealFs: the Fs interface over node:fs/promises, and the only module of the store that imports
// node:fs (INV-FS-ROUTED). Appends are one gathered writev; fsync is fdatasync (it covers the size).

import { open as fsOpen, stat as fsStat, readdir as fsReaddir, mkdir as fsMkdir, rename as fsRename, rm, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BatpakError } from '../errors.js';
import type { Fs, FsFile, FsLock, FsOpenOptions, FsStat } from './fs.js';

class RealFile implements FsFile {
  readonly path: string;
  readonly #fh: FileHandle;
  /** O_APPEND descriptor of a writable file: the kernel places each append at the current end. */
  readonly #appendFh: FileHandle | undefined;
  #closed = false;

  constructor(path: string, fh: FileHandle, appendFh: FileHandle | undefined) {
    this.path = path;
    this.#fh = fh;
    this.#appendFh = appendFh;
  }

  async readAt(position: number, length: number): Promise<Uint8Array> {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.#fh.read(buf, got, length - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, got);
  }

  async append(chunks: readonly Uint8Array[]): Promise<void> {
    const fh = this.#appendFh;
    if (fh === undefined || this.#closed) {
      throw Object.assign(new Error(`${this.path} is ${this.#closed ? 'closed' : 'not open for writing'}`), { code: 'EBADF' });
    }
    let pending: Uint8Array[] = chunks.filter((c) => c.byteLength > 0);
    if (pending.length === 0) return;
    // writev may write less than asked (signals, quotas); O_APPEND puts the rest right after it.
    for (;;) {
      const { bytesWritten } = await fh.writev(pending as Buffer[]);
      let skip = bytesWritten;
      const rest: Uint8Array[] = [];
      for (const c of pending) {
        if (skip >= c.byteLength) {
          skip -= c.byteLength;
          continue;
        }
        rest.push(skip > 0 ? c.subarray(skip) : c);
        skip = 0;
      }
      if (rest.length === 0) return;
      if (bytesWritten === 0) throw Object.assign(new Error(`writev made no progress on ${this.path}`), { code: 'EIO' });
      pending = rest;
    }
  }

  async writeAt(position: number, data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.byteLength) {
      const { bytesWritten } = await this.#fh.write(data, done, data.byteLength - done, position + done);
      if (bytesWritten === 0) throw Object.assign(new Error(`write made no progress on ${this.path}`), { code: 'EIO' });
      done += bytesWritten;
    }
  }

  async fsync(): Promise<void> {
    // fdatasync is per inode: it also covers what the O_APPEND descriptor wrote.
    await this.#fh.datasync();
  }

  async truncate(length: number): Promise<void> {
    await this.#fh.truncate(length);
  }

  async size(): Promise<number> {
    return (await this.#fh.stat()).size;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#appendFh?.close();
    await this.#fh.close();
  }
}

/** Lock files held by this process, so a second open in the same process is refused too. */
const heldLocks = new Set<string>();

interface LockOwner {
  readonly pid: number;
  readonly start: string;
  readonly host: string;
}

function processStart(pid: number): string {
  try {
    // Field 22 of /proc/<pid>/stat is the start time in clock ticks; it tells a reused pid apart.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '';
  } catch {
    return '';
  }
}

function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true; // cannot prove a remote holder dead: stay locked
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EPERM') return false;
  }
  const start = processStart(owner.pid);
  return start === '' || owner.start === '' || start === owner.start;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockOwner>;
    if (typeof v.pid === 'number' && typeof v.start === 'string' && typeof v.host === 'string') {
      return { pid: v.pid, start: v.start, host: v.host };
    }
  } catch {
    // fall through
  }
  return undefined;
}

function lockedError(path: string, detail: string): BatpakError {
  return new BatpakError('ERR_STORE_LOCKED', `store is locked by another writer (${detail}): ${path}`, {
    details: { file: path },
  });
}

export class RealFs implements Fs {
  async open(path: string, options: FsOpenOptions = {}): Promise<FsFile> {
    const write = options.write === true || options.create === true;
    let flags = write ? 'r+' : 'r';
    if (options.create === true) flags = options.exclusive === true ? 'wx+' : 'a+';
    let fh = await fsOpen(path, flags);
    if (flags === 'a+') {
      // 'a+' only served to create; reopen without O_APPEND so positioned writes land where asked.
      await fh.close();
      fh = await fsOpen(path, 'r+');
    }
    if (!write) return new RealFile(path, fh, undefined);
    try {
      return new RealFile(path, fh, await fsOpen(path, 'a'));
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async stat(path: string): Promise<FsStat | null> {
    try {
      const s = await fsStat(path);
      return { size: s.size, isFile: s.isFile(), isDirectory: s.isDirectory() };
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return null;
      throw err;
    }
  }

  async readdir(path: string): Promise<string[]> {
    return (await fsReaddir(path)).sort();
  }

  async mkdir(path: string, options: { readonly recursive?: boolean } = {}): Promise<void> {
    await fsMkdir(path, { recursive: options.recursive === true });
  }

  async rename(from: string, to: string): Promise<void> {
    await fsRename(from, to);
  }

  async remove(path: string, options: { readonly force?: boolean } = {}): Promise<void> {
    try {
      // unlink (not rm) so a directory is EISDIR, the errno the interface promises.
      await unlink(path);
    } catch (err) {
      if (options.force === true && (err as { code?: string }).code === 'ENOENT') return;
      throw err;
    }
  }

  async syncDir(path: string): Promise<void> {
    const fh = await fsOpen(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    const fh = await fsOpen(tmp, 'wx');
    try {
      let done = 0;
      while (done < data.byteLength) {
        const { bytesWritten } = await fh.write(data, done, data.byteLength - done, done);
        done += bytesWritten;
      }
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    await fh.close();
    try {
      await fsRename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    await this.syncDir(dirname(path));
  }

  async lock(path: string): Promise<FsLock> {
    const abs = resolve(path);
    if (heldLocks.has(abs)) throw lockedError(abs, 'held by this process');
    const me: LockOwner = { pid: process.pid, start: processStart(process.pid), host: hostname() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fh = await fsOpen(abs, 'wx');
        try {
          await fh.writeFile(JSON.stringify(me));
          await fh.sync();
        } finally {
          await fh.close();
        }
        heldLocks.add(abs);
        return this.#lockHandle(abs, me);
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
      }
      // Someone holds (or held) the lock file: is the holder still alive?
      let text: string;
      try {
        text = await readFile(abs, 'utf8');
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') continue;
        throw err;
      }
      const owner = parseOwner(text);
      if (owner === undefined) {
        // A holder writes its identity right after creating the file; an unreadable, fresh file is a
        // holder mid-creation, an old one is debris from a crash.
        const st = await fsStat(abs).catch(() => null);
        const age = st === null ? Infinity : Date.now() - st.mtimeMs;
        if (age < 5000) throw lockedError(abs, 'lock file being created');
      } else if (isAlive(owner)) {
        throw lockedError(abs, `pid ${owner.pid} on ${owner.host}`);
      }
      await this.#takeOverStale(abs, text);
    }
    throw lockedError(abs, 'contended');
  }

  /**
   * Removes a stale lock file, but only while holding `<lock>.takeover` (created exclusively) and only
   * if the file still holds the stale text: otherwise a contender that read the same stale owner could
   * move aside a lock another contender has just taken.
   */
  async #takeOverStale(abs: string, staleText: string): Promise<void> {
    const guard = `${abs}.takeover`;
    let fh: FileHandle;
    try {
      fh = await fsOpen(guard, 'wx');
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
      const st = await fsStat(guard).catch(() => null);
      // A takeover guard older than a few seconds is debris from a crash during a takeover.
      if (st !== null && Date.now() - st.mtimeMs > 5000) await rm(guard, { force: true });
      else throw lockedError(abs, 'another process is taking over a stale lock');
      return;
    }
    try {
      const now = await readFile(abs, 'utf8').catch((err: { code?: string }) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (now === staleText) await rm(abs, { force: true });
    } finally {
      await fh.close();
      await rm(guard, { force: true });
    }
  }

  #lockHandle(abs: string, me: LockOwner): FsLock {
    let released = false;
    return {
      path: abs,
      release: async () => {
        if (released) return;
        released = true;
        heldLocks.delete(abs);
        try {
          const owner = parseOwner(await readFile(abs, 'utf8'));
          if (owner !== undefined && owner.pid === me.pid && owner.start === me.start && owner.host === me.host) {
            await rm(abs, { force: true });
          }
        } catch {
          // Already gone: nothing to release.
        }
      },
    };
  }
}
