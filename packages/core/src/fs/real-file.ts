// RealFile: one open file over node:fs/promises (appends one gathered writev, fsync is fdatasync: it covers the size).
// Invariant: files are opened by openRegular, non-blocking and only if regular (INV-HOSTILE-FILES): a FIFO never hangs us;
// the append descriptor is closed only once no writev on it is in flight (its number could name another file by then).

import { open as fsOpen, type FileHandle } from 'node:fs/promises';
import { constants, readSync, writev as writevCallback, writevSync } from 'node:fs';
import type { AppendHint, FsFile } from './fs.js';

const { O_RDONLY, O_NONBLOCK } = constants;

/** What preallocate writes, a MiB per call at most; never written to. Made on first use: a reader never needs it. */
let zeros: Uint8Array | undefined;

/**
 * Opens without blocking (O_NONBLOCK: a FIFO with no writer would block open() forever) and refuses
 * anything but a regular file: FIFOs, sockets and devices with errno ENOTREG, directories with EISDIR.
 * O_NONBLOCK does nothing to a regular file's reads and writes.
 */
export async function openRegular(path: string, flags: number, mode?: number): Promise<FileHandle> {
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
export async function readRegular(path: string): Promise<string> {
  const fh = await openRegular(path, O_RDONLY);
  try {
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

export class RealFile implements FsFile {
  readonly path: string;
  readonly #fh: FileHandle;
  /** O_APPEND descriptor of a writable file: the kernel places each append at the current end. */
  readonly #appendFh: FileHandle | undefined;
  /** The append descriptor was opened O_DSYNC (FsOpenOptions.syncAppends). */
  readonly appendsDurable: boolean;
  #closed = false;
  /** Appends whose writev is in flight on the append descriptor's number, and who waits for them at close. */
  #appending = 0;
  #drained: (() => void) | undefined;
  /**
   * Opened with `preallocate`: where the next append lands (the append descriptor has no O_APPEND, appends are
   * positioned here), and how long the file is as far as this handle made it. Undefined otherwise.
   */
  #dataEnd: number | undefined;
  #fileEnd = 0;
  readonly preallocate?: (length: number) => Promise<void>;

  /** Reads of at most this many bytes are one pread on the calling thread (RealFsOptions.syncReadMaxBytes). */
  readonly #syncReadMax: number;
  /** Appends of at most this many bytes with none in flight are one writev on the calling thread (RealFsOptions.syncWriteMaxBytes). */
  readonly #syncWriteMax: number;
  /** The same for an append its caller says is alone (RealFsOptions.syncLoneWriteMaxBytes). */
  readonly #syncLoneWriteMax: number;

  constructor(path: string, fh: FileHandle, appendFh: FileHandle | undefined, appendsDurable = false, syncReadMax = 0, syncWriteMax = 0, syncLoneWriteMax = 0, dataEnd?: number) {
    this.path = path;
    if (appendFh !== undefined && dataEnd !== undefined) {
      this.#dataEnd = dataEnd;
      this.#fileEnd = dataEnd;
      this.preallocate = (length) => this.#preallocate(length);
    }
    this.#syncReadMax = syncReadMax;
    this.#syncWriteMax = syncWriteMax;
    this.#syncLoneWriteMax = syncLoneWriteMax;
    this.#fh = fh;
    this.#appendFh = appendFh;
    this.appendsDurable = appendFh !== undefined && appendsDurable;
  }

  async readAt(position: number, length: number): Promise<Uint8Array> {
    const buf = Buffer.allocUnsafe(length);
    const got = await this.readInto(position, buf);
    return new Uint8Array(buf.buffer, buf.byteOffset, got);
  }

  async readInto(position: number, target: Uint8Array): Promise<number> {
    const length = target.byteLength;
    let got = 0;
    if (length <= this.#syncReadMax) {
      // A small positioned read from the OS page cache takes microseconds; a trip through libuv's thread pool
      // takes tens of them and, on a busy machine, milliseconds: the tail of a cold get was these hops.
      if (this.#closed) throw Object.assign(new Error(`${this.path} is closed`), { code: 'EBADF' });
      while (got < length) {
        const n = readSync(this.#fh.fd, target, got, length - got, position + got);
        if (n === 0) break;
        got += n;
      }
      return got;
    }
    while (got < length) {
      const { bytesRead } = await this.#fh.read(target, got, length - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got;
  }

  async append(chunks: readonly Uint8Array[], hint?: AppendHint): Promise<void> {
    const fh = this.#appendFh;
    if (fh === undefined || this.#closed) {
      throw Object.assign(new Error(`${this.path} is ${this.#closed ? 'closed' : 'not open for writing'}`), { code: 'EBADF' });
    }
    let pending: Uint8Array[] = chunks.filter((c) => c.byteLength > 0);
    if (pending.length === 0) return;
    let bytes = 0;
    for (const c of pending) bytes += c.byteLength;
    // Preallocated: the range is claimed now, before any await, so concurrent appends never overlap (what O_APPEND
    // gives the other files). A failed append leaves it claimed until the caller cuts the file back (truncate).
    let at: number | undefined;
    if (this.#dataEnd !== undefined) {
      at = this.#dataEnd;
      this.#dataEnd += bytes;
      if (this.#dataEnd > this.#fileEnd) this.#fileEnd = this.#dataEnd;
    }
    // An append whose caller expects others to arrive during it (alone: false) keeps the pool whatever its size: written
    // on the loop, each arrival during the flush would find the loop blocked and then get a flush of its own (groups
    // of one: 16 writers arriving on their own turns measured 2–3k events/s against ~11k through the pool).
    const syncMax = hint === undefined ? this.#syncWriteMax : hint.alone === true ? Math.max(this.#syncWriteMax, this.#syncLoneWriteMax) : 0;
    // A lone small append: the thread pool's round trip (a wake-up of the loop after the worker's write) is most of
    // a one-writer append's overhead over a bare write. Nothing else is in flight on this file, so order holds.
    if (this.#appending === 0 && syncMax > 0 && bytes <= syncMax) return this.#appendSync(fh.fd, pending, at);
    // writev may write less than asked (signals, quotas); O_APPEND (or the claimed position) puts the rest right after
    // it. Under O_DSYNC what each call wrote is durable when it returns, so a short write leaves a durable prefix, as
    // append + fsync would.
    this.#appending++;
    try {
      for (;;) {
        const bytesWritten = await this.#writev(fh.fd, pending, at);
        const rest = afterWritten(pending, bytesWritten);
        if (rest.length === 0) return;
        if (bytesWritten === 0) throw Object.assign(new Error(`writev made no progress on ${this.path}`), { code: 'EIO' });
        pending = rest;
        if (at !== undefined) at += bytesWritten;
      }
    } finally {
      if (--this.#appending === 0) this.#drained?.();
    }
  }

  #appendSync(fd: number, chunks: Uint8Array[], position: number | undefined): void {
    let pending = chunks;
    let at = position;
    for (;;) {
      const bytesWritten = writevSync(fd, pending, at);
      const rest = afterWritten(pending, bytesWritten);
      if (rest.length === 0) return;
      if (bytesWritten === 0) throw Object.assign(new Error(`writev made no progress on ${this.path}`), { code: 'EIO' });
      pending = rest;
      if (at !== undefined) at += bytesWritten;
    }
  }

  /** FsFile.preallocate: zeros through the plain descriptor (not O_DSYNC: they need no flush of their own). */
  async #preallocate(length: number): Promise<void> {
    if (this.#closed) throw Object.assign(new Error(`${this.path} is closed`), { code: 'EBADF' });
    const from = this.#fileEnd;
    if (!Number.isSafeInteger(length) || length <= from) return;
    // Claimed before the first await: an append issued meanwhile lands at or past the data end, which is at or
    // before `from`, and a later preallocate starts at `length`: no two writes ever cover the same bytes.
    this.#fileEnd = length;
    this.#appending++;
    try {
      const source = (zeros ??= new Uint8Array(1 << 20));
      for (let at = from; at < length; ) {
        const n = Math.min(source.byteLength, length - at);
        const { bytesWritten } = await this.#fh.write(source, 0, n, at);
        if (bytesWritten === 0) throw Object.assign(new Error(`write made no progress on ${this.path}`), { code: 'EIO' });
        at += bytesWritten;
      }
    } finally {
      if (--this.#appending === 0) this.#drained?.();
    }
  }

  /**
   * One writev on the descriptor's number through the callback API: a commit group's one durable write costs a
   * threadpool round trip either way, and FileHandle.writev adds its promise and handle bookkeeping on top (~20 µs
   * of a 1-writer append's cycle here). The handle stays open meanwhile: close() waits for #appending to drain.
   */
  #writev(fd: number, chunks: readonly Uint8Array[], position: number | undefined): Promise<number> {
    return new Promise((resolve, reject) => writevCallback(fd, chunks as Uint8Array[], position ?? null, (err, written) => (err ? reject(err) : resolve(written))));
  }

  async writeAt(position: number, data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.byteLength) {
      const { bytesWritten } = await this.#fh.write(data, done, data.byteLength - done, position + done);
      if (bytesWritten === 0) throw Object.assign(new Error(`write made no progress on ${this.path}`), { code: 'EIO' });
      done += bytesWritten;
    }
    // As O_APPEND would: later appends land after what this wrote, never over it.
    if (this.#dataEnd !== undefined && position + done > this.#dataEnd) {
      this.#dataEnd = position + done;
      if (this.#dataEnd > this.#fileEnd) this.#fileEnd = this.#dataEnd;
    }
  }

  async fsync(): Promise<void> {
    // fdatasync is per inode: it also covers what the O_APPEND descriptor wrote.
    await this.#fh.datasync();
  }

  async truncate(length: number): Promise<void> {
    await this.#fh.truncate(length);
    // As O_APPEND would: the next append lands at the new end (a cut-back group, or the zeros cut off at a seal).
    if (this.#dataEnd !== undefined) {
      this.#dataEnd = length;
      this.#fileEnd = length;
    }
  }

  async size(): Promise<number> {
    return (await this.#fh.stat()).size;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // An append still in flight writes through the descriptor's number: closing first could let a new file reuse it.
    if (this.#appending > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    await this.#appendFh?.close();
    await this.#fh.close();
  }
}

/** What is left of a gathered write after the first `written` bytes went out. */
function afterWritten(chunks: readonly Uint8Array[], written: number): Uint8Array[] {
  let skip = written;
  const rest: Uint8Array[] = [];
  for (const c of chunks) {
    if (skip >= c.byteLength) {
      skip -= c.byteLength;
      continue;
    }
    rest.push(skip > 0 ? c.subarray(skip) : c);
    skip = 0;
  }
  return rest;
}
