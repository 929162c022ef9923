// RealFs: the Fs interface over node:fs/promises, with its open files in real-file.ts and its writer lock in real-lock.ts.
// Invariant: these three are the only modules of the store that import node:fs (INV-FS-ROUTED).

import { open as fsOpen, stat as fsStat, readdir as fsReaddir, mkdir as fsMkdir, rename as fsRename, rm, unlink } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Fs, FsFile, FsLock, FsOpenOptions, FsStat } from './fs.js';
import { atomicTempPath } from './atomic-write.js';
import { RealFile, openRegular } from './real-file.js';
import { acquireLock } from './real-lock.js';
import { BatpakError } from '../errors.js';

const { O_RDONLY, O_RDWR, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_DSYNC, O_NONBLOCK, O_DIRECTORY } = constants;
/** Files the store writes for itself (temp files, keyset, checkpoint…) are private to its user. */
const PRIVATE_MODE = 0o600;

/** Options of RealFs. */
export interface RealFsOptions {
  /**
   * Positioned reads of at most this many bytes (an index block, a typical event's frame) are made with one
   * `pread` on the calling thread instead of through libuv's thread pool, as lmdb and SQLite read: microseconds
   * when the bytes are in the OS page cache, but a page that is not blocks the event loop for one device read.
   * Default 64 KiB; 0 sends every read through the thread pool. Larger reads (scans, verify) always do.
   */
  readonly syncReadMaxBytes?: number;
  /**
   * An append of at most this many bytes that comes with no AppendHint, while no other append is in flight on its
   * file, is one `writev` on the calling thread instead of a trip through libuv's thread pool, as better-sqlite3
   * writes (the store always passes a hint: `alone: false` keeps its appends on the pool whatever their size, see
   * syncLoneWriteMaxBytes). Under `sync: 'always'`
   * the segment's appends are `O_DSYNC`, so the event loop then waits for the flush (about one fdatasync: ~0.2 ms on
   * a fast SSD, milliseconds on a slow virtual disk) instead of the trip's wake-up. Default 4 KiB: a lone append or
   * a small commit group; the big groups that form under load keep the thread pool, so the loop stays free to
   * prepare the next group while they flush. 0 sends every append through the thread pool.
   */
  readonly syncWriteMaxBytes?: number;
  /**
   * The same for an append of at most this many bytes that its caller says is alone (AppendHint.alone: the store's
   * commit queue is empty behind it, e.g. one writer's `appendBatch`, or every concurrent writer's events in one
   * group): the loop would have nothing to prepare while the pool wrote it, and the pool's round trip (a worker
   * wake-up, then the loop's) was ~a quarter of a 1-writer `appendBatch(100)` and more CPU per event than the write.
   * The trade-off: the event loop is blocked for the flush, so other work of the process (requests arriving on
   * sockets) waits that long, and appends that arrive during it form the next group only after it (no overlap of
   * preparing one group with flushing the other). Default 256 KiB; 0 keeps such appends on the thread pool.
   */
  readonly syncLoneWriteMaxBytes?: number;
}

/** Default RealFsOptions.syncReadMaxBytes. */
export const DEFAULT_SYNC_READ_MAX_BYTES = 64 * 1024;
/** Default RealFsOptions.syncWriteMaxBytes. */
export const DEFAULT_SYNC_WRITE_MAX_BYTES = 4 * 1024;
/** Default RealFsOptions.syncLoneWriteMaxBytes. */
export const DEFAULT_SYNC_LONE_WRITE_MAX_BYTES = 256 * 1024;

function byteLimit(value: number | undefined, fallback: number, field: string): number {
  const max = value ?? fallback;
  if (!Number.isSafeInteger(max) || max < 0) throw BatpakError.invalidArgument(`${field} must be a whole number of bytes ≥ 0`, { field });
  return max;
}

export class RealFs implements Fs {
  readonly #syncReadMax: number;
  readonly #syncWriteMax: number;
  readonly #syncLoneWriteMax: number;

  constructor(options: RealFsOptions = {}) {
    this.#syncReadMax = byteLimit(options.syncReadMaxBytes, DEFAULT_SYNC_READ_MAX_BYTES, 'syncReadMaxBytes');
    this.#syncWriteMax = byteLimit(options.syncWriteMaxBytes, DEFAULT_SYNC_WRITE_MAX_BYTES, 'syncWriteMaxBytes');
    this.#syncLoneWriteMax = byteLimit(options.syncLoneWriteMaxBytes, DEFAULT_SYNC_LONE_WRITE_MAX_BYTES, 'syncLoneWriteMaxBytes');
  }

  async open(path: string, options: FsOpenOptions = {}): Promise<FsFile> {
    const write = options.write === true || options.create === true;
    let flags = write ? O_RDWR : O_RDONLY;
    if (options.create === true) flags = O_RDWR | O_CREAT | (options.exclusive === true ? O_EXCL : 0);
    const fh = await openRegular(path, flags);
    if (!write) return new RealFile(path, fh, undefined, false, this.#syncReadMax, 0);
    try {
      // O_DSYNC on the append descriptor only: each writev returns once its data (and the size) is on disk,
      // which saves the separate fdatasync round trip per commit group. Positioned writes stay on `fh`.
      const durable = options.syncAppends === true;
      // Preallocated: no O_APPEND (Linux ignores a pwrite's position under it); appends are positioned at the data end.
      const positioned = options.preallocate === true;
      const appendFh = await openRegular(path, O_WRONLY | (positioned ? 0 : O_APPEND) | (durable ? O_DSYNC : 0));
      const dataEnd = positioned ? (await appendFh.stat().catch(async (err: unknown) => { await appendFh.close(); throw err; })).size : undefined;
      return new RealFile(path, fh, appendFh, durable, this.#syncReadMax, this.#syncWriteMax, this.#syncLoneWriteMax, dataEnd);
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

  /** The directory's writer lock (INV-WRITER-LOCK): see real-lock.ts. */
  async lock(path: string): Promise<FsLock> {
    return acquireLock(path);
  }
}
