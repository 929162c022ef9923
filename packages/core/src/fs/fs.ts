// The Fs interface: every disk touch the store makes goes through it (INV-FS-ROUTED), so SimFs can
// crash or fault any of them. Implementations throw Node-style errors carrying an errno `code`.

/** An open file. Offsets are byte positions; all writes become durable only after `fsync()`. */
export interface FsFile {
  readonly path: string;
  /**
   * Reads `length` bytes at `position`. Contract: returns exactly `min(length, size - position)`
   * bytes (empty at or past EOF). Callers treat anything shorter as a short read (an I/O fault).
   */
  readAt(position: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: reads into `target` (up to its length) at `position` and returns how many bytes it read, with
   * readAt's contract. Lets a walk over a whole log reuse its buffers instead of allocating one per read.
   */
  readInto?(position: number, target: Uint8Array): Promise<number>;
  /**
   * Appends the chunks, in order, contiguously at the end of the file as it is when the write lands
   * (one gathered write where possible). Concurrent un-awaited appends never overlap; their relative
   * order is only guaranteed when each is awaited before the next. `hint` may only change how the write is issued.
   */
  append(chunks: readonly Uint8Array[], hint?: AppendHint): Promise<void>;
  /** Writes `data` at `position`, extending the file if needed. */
  writeAt(position: number, data: Uint8Array): Promise<void>;
  /**
   * Present on a file opened with `preallocate` by an Fs that honours it: writes zeros from the file's current
   * length up to `length` bytes (nothing when it is already that long). Appends keep landing at the end of the data
   * appended so far and overwrite those zeros in place, so a durable append need not grow the file: on Linux an
   * O_DSYNC write that grows a file waits for a journal commit of its new size, one into written blocks does not.
   * The zeros are durable only after `fsync()`, and need not be: they carry nothing. Await it before the next
   * append: an append issued while it is in flight may reach into the bytes it is zeroing.
   */
  preallocate?(length: number): Promise<void>;
  /** Makes every write so far durable (data and the size needed to read it back). */
  fsync(): Promise<void>;
  /** Cuts (or zero-extends) the file to `length` bytes; durable only after `fsync()`. */
  truncate(length: number): Promise<void>;
  /** Current length in bytes, including writes not yet fsynced. */
  size(): Promise<number>;
  close(): Promise<void>;
  /**
   * True when every `append` through this handle is durable once it resolves (its data and the size needed to
   * read it back), as if `fsync()` had followed it: a file opened with `syncAppends` by an Fs that honours it
   * (O_DSYNC on a real file). Absent or false: appends are durable only after `fsync()`. Other writes
   * (`writeAt`, `truncate`) always need an `fsync()`.
   */
  readonly appendsDurable?: boolean;
}

/** What the caller knows about an append beyond its bytes; an Fs may ignore it. */
export interface AppendHint {
  /**
   * `true`: nothing else is waiting to be written behind this append (the writer's queue is empty), so its caller has
   * nothing to do while it is written: the Fs may write it on the calling thread (RealFsOptions.syncLoneWriteMaxBytes).
   * `false`: other appends may arrive while this one is written (requests from sockets, timers), and they should be
   * able to gather behind it meanwhile: the Fs should not block the calling thread for it, however small it is.
   * Absent: the Fs decides by size alone (RealFsOptions.syncWriteMaxBytes).
   */
  readonly alone?: boolean;
}

export interface FsOpenOptions {
  /** Open for writing (append/writeAt/truncate). Default false: read only. */
  readonly write?: boolean;
  /** Create the file if absent. Default false. Implies `write`. */
  readonly create?: boolean;
  /** With `create`: fail with EEXIST if the file exists. */
  readonly exclusive?: boolean;
  /**
   * With `write` or `create`: make every append durable by the time it resolves — one write syscall per commit
   * group instead of a write and an fdatasync. An Fs may ignore it; the file's `appendsDurable` says whether it did.
   */
  readonly syncAppends?: boolean;
  /**
   * With `write` or `create`: appends land at the end of the data appended so far (the file's length at open, moved
   * by each append, set by `truncate`), not at the end of the file, so the file may carry zeros beyond its data
   * (`FsFile.preallocate`). An Fs may ignore it; the file then has no `preallocate` and appends at its end.
   */
  readonly preallocate?: boolean;
}

export interface FsStat {
  readonly size: number;
  readonly isFile: boolean;
  readonly isDirectory: boolean;
}

/** A held exclusive lock; `release()` is idempotent. */
export interface FsLock {
  readonly path: string;
  release(): Promise<void>;
}

export interface Fs {
  /**
   * Opens a regular file. Never blocks on a special file: a FIFO, socket or device is refused with
   * errno `ENOTREG` (a directory with `EISDIR`, a symlink loop with `ELOOP`) — INV-HOSTILE-FILES.
   */
  open(path: string, options?: FsOpenOptions): Promise<FsFile>;
  /** `null` when nothing exists at `path`. */
  stat(path: string): Promise<FsStat | null>;
  /** Entry names (not paths) of a directory, sorted. */
  readdir(path: string): Promise<string[]>;
  mkdir(path: string, options?: { readonly recursive?: boolean }): Promise<void>;
  /** Atomic replace of `to` by `from` (POSIX rename); durable only after `syncDir` of the parent. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; ENOENT unless `force`. Durable only after `syncDir` of the parent. */
  remove(path: string, options?: { readonly force?: boolean }): Promise<void>;
  /** Makes the directory's entries (creates, renames, removes) durable. */
  syncDir(path: string): Promise<void>;
  /**
   * Replaces `path` with `data` atomically and durably: temp file `.<name>.tmp-<tag>` in the same
   * directory (atomicTempPath), write, fsync, rename over `path`, fsync the directory. After a crash the
   * file is either old or new. A real filesystem creates the file 0600 whatever the umask (INV-PRIVATE-FILES).
   */
  writeFileAtomic(path: string, data: Uint8Array): Promise<void>;
  /**
   * Takes an exclusive lock named by `path`, across processes for a real filesystem.
   * Throws a BatpakError with code ERR_STORE_LOCKED when another holder has it.
   */
  lock(path: string): Promise<FsLock>;
}
