// RealFs: the Fs interface over node:fs/promises, and the only module of the store that imports
// node:fs (INV-FS-ROUTED). Appends are one gathered writev; fsync is fdatasync (it covers the size).

import { open as fsOpen, stat as fsStat, readdir as fsReaddir, mkdir as fsMkdir, rename as fsRename, rm, readFile, type FileHandle } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BatpakError } from '../errors.js';
import type { Fs, FsFile, FsLock, FsOpenOptions, FsStat } from './fs.js';

class RealFile implements FsFile {
  readonly path: string;
  #fh: FileHandle;
  #end: number;
  #closed = false;

  constructor(path: string, fh: FileHandle, end: number) {
    this.path = path;
    this.#fh = fh;
    this.#end = end;
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
    let total = 0;
    for (const c of chunks) total += c.byteLength;
    if (total === 0) return;
    let position = this.#end;
    let pending: Uint8Array[] = chunks.filter((c) => c.byteLength > 0);
    // writev may write less than asked (signals, quotas); continue from where it stopped.
    for (;;) {
      const { bytesWritten } = await this.#fh.writev(pending as NodeJS.ArrayBufferView[] as Buffer[], position);
      position += bytesWritten;
      this.#end = Math.max(this.#end, position);
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
    this.#end = Math.max(this.#end, position + data.byteLength);
  }

  async fsync(): Promise<void> {
    await this.#fh.datasync();
  }

  async truncate(length: number): Promise<void> {
    await this.#fh.truncate(length);
    this.#end = length;
  }

  async size(): Promise<number> {
    const s = await this.#fh.stat();
    this.#end = s.size;
    return s.size;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
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
    const { size } = await fh.stat();
    return new RealFile(path, fh, size);
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
    await rm(path, { force: options.force === true });
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
      // Stale: move it aside atomically (only one contender's rename succeeds), then retry create.
      const aside = `${abs}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        await fsRename(abs, aside);
        await rm(aside, { force: true });
      } catch (err) {
        if ((err as { code?: string }).code !== 'ENOENT') throw err;
      }
    }
    throw lockedError(abs, 'contended');
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
