// RealFs: the Fs interface over node:fs/promises, and the only module of the store that imports
// node:fs (INV-FS-ROUTED). Appends are one gathered writev; fsync is fdatasync (it covers the size).
// Every open is non-blocking and checked to be a regular file (INV-HOSTILE-FILES): a FIFO never hangs us.

import { open as fsOpen, stat as fsStat, readdir as fsReaddir, mkdir as fsMkdir, rename as fsRename, rm, link, unlink, type FileHandle } from 'node:fs/promises';
import { constants, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BatpakError } from '../errors.js';
import type { Fs, FsFile, FsLock, FsOpenOptions, FsStat } from './fs.js';
import { atomicTempPath } from './atomic-write.js';

const { O_RDONLY, O_RDWR, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NONBLOCK, O_DIRECTORY } = constants;
/** Files the store writes for itself (temp files, keyset, checkpoint…) are private to its user. */
const PRIVATE_MODE = 0o600;

/**
 * Opens without blocking (O_NONBLOCK: a FIFO with no writer would block open() forever) and refuses
 * anything but a regular file: FIFOs, sockets and devices with errno ENOTREG, directories with EISDIR.
 * O_NONBLOCK does nothing to a regular file's reads and writes.
 */
async function openRegular(path: string, flags: number, mode?: number): Promise<FileHandle> {
  const fh = await fsOpen(path, flags | O_NONBLOCK, mode);
  let st;
  try {
    st = await fh.stat();
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
  if (st.isFile()) return fh;
  await fh.close().catch(() => undefined);
  const errno = st.isDirectory() ? 'EISDIR' : 'ENOTREG';
  const what = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device or other special file';
  throw Object.assign(new Error(`${errno}: ${path} is ${what}, not a regular file`), { code: errno, path });
}

/** A whole small file, read through a checked non-blocking descriptor. */
async function readRegular(path: string): Promise<string> {
  const fh = await openRegular(path, O_RDONLY);
  try {
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

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
  /** Unique per acquisition: no two lock files ever hold the same text, so "still the stale one?" is exact. */
  readonly nonce?: string;
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
      return { pid: v.pid, start: v.start, host: v.host, ...(typeof v.nonce === 'string' ? { nonce: v.nonce } : {}) };
    }
  } catch {
    // fall through
  }
  return undefined;
}

function lockedError(path: string, detail: string): BatpakError {
  return BatpakError.storeLocked(path, detail);
}

const errno = (err: unknown) => (err as { code?: string }).code;

/** A file without identity (a crash between create and write, by an older version) is busy this long. */
const UNIDENTIFIED_GRACE_MS = 5000;

/** Age of a file in ms, Infinity when it is gone. */
async function ageOf(path: string): Promise<number> {
  const st = await fsStat(path).catch(() => null);
  return st === null ? Infinity : Date.now() - st.mtimeMs;
}

/** Writes `text` to a fresh private file next to `path` and fsyncs it; returns its name. */
async function writeSibling(path: string, text: string): Promise<string> {
  const tmp = `${path}.${randomBytes(8).toString('hex')}.new`;
  const fh = await fsOpen(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK, 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  return tmp;
}

/**
 * The lock file appears with its whole content or not at all: written aside, then hard-linked to its
 * name (link fails with EEXIST when the name is taken). False when another holder has the name.
 */
async function createWhole(path: string, text: string): Promise<boolean> {
  const tmp = await writeSibling(path, text);
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    if (errno(err) !== 'EPERM' && errno(err) !== 'ENOTSUP' && errno(err) !== 'EOPNOTSUPP') throw err;
    // No hard links on this filesystem: an exclusive create, written at once (identity may lag a moment).
    try {
      const fh = await fsOpen(path, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK);
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      return true;
    } catch (e) {
      if (errno(e) === 'EEXIST') return false;
      throw e;
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

async function readLockText(path: string): Promise<string | undefined> {
  try {
    return await readRegular(path);
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** Claim names for taking over the lock whose text is `staleText`: one live claimant per stale lock. */
function claimPath(path: string, staleText: string, k: number): string {
  return `${path}.takeover-${createHash('sha256').update(staleText).digest('hex').slice(0, 16)}-${k}`;
}

/**
 * Replaces the stale lock (text `staleText`, holder dead) by ours (INV-WRITER-LOCK). Only the process
 * holding the claim file for that stale text (created O_EXCL) may replace it, and it checks under the
 * claim that the lock still holds that exact text: every lock text is unique (a nonce), and a dead
 * holder's lock changes only through its claimant, so the check cannot be stale when the rename lands.
 * A claimant that died leaves its claim: the next claim number is used once its pid is proven dead.
 */
async function takeOver(path: string, staleText: string, myText: string): Promise<boolean> {
  const claims: string[] = [];
  try {
    for (let k = 0; k < 16; k++) {
      const claim = claimPath(path, staleText, k);
      let fh: FileHandle;
      try {
        fh = await fsOpen(claim, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK, 0o644);
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw err;
        const text = await readLockText(claim);
        if (text === undefined) return false; // a claimant just finished: look at the lock again
        const claimant = parseOwner(text);
        const alive = claimant === undefined ? (await ageOf(claim)) < UNIDENTIFIED_GRACE_MS : isAlive(claimant);
        if (alive) throw lockedError(path, 'another process is taking over a stale lock');
        claims.push(claim);
        continue;
      }
      claims.push(claim);
      try {
        await fh.writeFile(myText);
      } finally {
        await fh.close();
      }
      if ((await readLockText(path)) !== staleText) return false;
      const tmp = await writeSibling(path, myText);
      try {
        await fsRename(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      return true;
    }
    throw lockedError(path, 'too many abandoned takeover attempts');
  } finally {
    // Safe to drop now: the lock no longer holds the stale text, so a late claimant backs off.
    for (const c of claims) await rm(c, { force: true }).catch(() => undefined);
  }
}

export class RealFs implements Fs {
  async open(path: string, options: FsOpenOptions = {}): Promise<FsFile> {
    const write = options.write === true || options.create === true;
    let flags = write ? O_RDWR : O_RDONLY;
    if (options.create === true) flags = O_RDWR | O_CREAT | (options.exclusive === true ? O_EXCL : 0);
    const fh = await openRegular(path, flags);
    if (!write) return new RealFile(path, fh, undefined);
    try {
      return new RealFile(path, fh, await openRegular(path, O_WRONLY | O_APPEND));
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
    const fh = await fsOpen(path, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    const tmp = atomicTempPath(path, `${process.pid}-${randomBytes(6).toString('hex')}`);
    // 0600 whatever the umask (INV-PRIVATE-FILES): the temp becomes the file, and a keyset holds keys.
    const fh = await fsOpen(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK, PRIVATE_MODE);
    try {
      await fh.chmod(PRIVATE_MODE);
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
    const me: LockOwner = { pid: process.pid, start: processStart(process.pid), host: hostname(), nonce: randomBytes(12).toString('hex') };
    const myText = JSON.stringify(me);
    for (let attempt = 0; attempt < 4; attempt++) {
      if (await createWhole(abs, myText)) {
        heldLocks.add(abs);
        return this.#lockHandle(abs, myText);
      }
      // Someone holds (or held) the lock file: is the holder still alive?
      const text = await readLockText(abs);
      if (text === undefined) continue;
      const owner = parseOwner(text);
      if (owner === undefined) {
        // No identity: a holder of an older version mid-creation (fresh), or debris from a crash (old).
        if ((await ageOf(abs)) < UNIDENTIFIED_GRACE_MS) throw lockedError(abs, 'lock file being created');
      } else if (isAlive(owner)) {
        throw lockedError(abs, `pid ${owner.pid} on ${owner.host}`);
      }
      if (await takeOver(abs, text, myText)) {
        heldLocks.add(abs);
        return this.#lockHandle(abs, myText);
      }
    }
    throw lockedError(abs, 'contended');
  }

  #lockHandle(abs: string, myText: string): FsLock {
    let released = false;
    return {
      path: abs,
      release: async () => {
        if (released) return;
        released = true;
        heldLocks.delete(abs);
        try {
          // Our text is unique: nobody else's lock can match it, so this never removes another holder's.
          if ((await readLockText(abs)) === myText) await rm(abs, { force: true });
        } catch {
          // Already gone or unreadable: nothing to release.
        }
      },
    };
  }
}
