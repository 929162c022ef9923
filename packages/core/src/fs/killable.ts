// KillableFs: one process's view of an Fs. kill() models the process dying: every later call through
// the view (or a file it opened) fails, so a crashed store instance can never touch the disk again.

import { dirname } from 'node:path';
import { atomicTempPath, writeFileAtomicSteps } from './atomic-write.js';
import type { AppendHint, Fs, FsFile, FsLock, FsOpenOptions, FsStat } from './fs.js';

function dead(path: string): Error {
  return Object.assign(new Error(`process was killed: ${path}`), { code: 'EIO' });
}

class KillableFile implements FsFile {
  readonly preallocate?: (length: number) => Promise<void>;
  constructor(
    private readonly inner: FsFile,
    private readonly alive: () => boolean,
  ) {
    const preallocate = inner.preallocate;
    if (preallocate !== undefined) {
      this.preallocate = async (length: number) => {
        this.#check();
        return preallocate.call(inner, length);
      };
    }
  }
  get path(): string {
    return this.inner.path;
  }
  get appendsDurable(): boolean {
    return this.inner.appendsDurable === true;
  }
  #check(): void {
    if (!this.alive()) throw dead(this.inner.path);
  }
  async readAt(position: number, length: number): Promise<Uint8Array> {
    this.#check();
    return this.inner.readAt(position, length);
  }
  async append(chunks: readonly Uint8Array[], hint?: AppendHint): Promise<void> {
    this.#check();
    return this.inner.append(chunks, hint);
  }
  async writeAt(position: number, data: Uint8Array): Promise<void> {
    this.#check();
    return this.inner.writeAt(position, data);
  }

  async fsync(): Promise<void> {
    this.#check();
    return this.inner.fsync();
  }
  async truncate(length: number): Promise<void> {
    this.#check();
    return this.inner.truncate(length);
  }
  async size(): Promise<number> {
    this.#check();
    return this.inner.size();
  }
  async close(): Promise<void> {
    if (!this.alive()) return;
    return this.inner.close();
  }
}

export class KillableFs implements Fs {
  readonly #inner: Fs;
  #alive = true;
  #tmpCounter = 0;
  /** Locks taken through this view: the kernel drops a dead process's locks, and so does kill(). */
  readonly #locks = new Set<FsLock>();

  constructor(inner: Fs) {
    this.#inner = inner;
  }

  /** From now on every call through this view fails with EIO (like a process that died), and its locks are released. */
  kill(): void {
    this.#alive = false;
    for (const l of this.#locks) void l.release().catch(() => undefined);
    this.#locks.clear();
  }

  get alive(): boolean {
    return this.#alive;
  }

  #check(path: string): void {
    if (!this.#alive) throw dead(path);
  }

  async open(path: string, options?: FsOpenOptions): Promise<FsFile> {
    this.#check(path);
    const f = await this.#inner.open(path, options);
    return new KillableFile(f, () => this.#alive);
  }
  async stat(path: string): Promise<FsStat | null> {
    this.#check(path);
    return this.#inner.stat(path);
  }
  async readdir(path: string): Promise<string[]> {
    this.#check(path);
    return this.#inner.readdir(path);
  }
  async mkdir(path: string, options?: { readonly recursive?: boolean }): Promise<void> {
    this.#check(path);
    return this.#inner.mkdir(path, options);
  }
  async rename(from: string, to: string): Promise<void> {
    this.#check(from);
    return this.#inner.rename(from, to);
  }
  async remove(path: string, options?: { readonly force?: boolean }): Promise<void> {
    this.#check(path);
    return this.#inner.remove(path, options);
  }
  async syncDir(path: string): Promise<void> {
    this.#check(path);
    return this.#inner.syncDir(path);
  }
  /**
   * Done step by step through this view (temp file, write, fsync, rename, directory fsync), so a
   * process killed in the middle cannot finish publishing the file after its death.
   */
  async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    this.#check(path);
    await writeFileAtomicSteps(this, path, atomicTempPath(path, `${process.pid}-${++this.#tmpCounter}`), dirname(path), data);
  }
  async lock(path: string): Promise<FsLock> {
    this.#check(path);
    const inner = await this.#inner.lock(path);
    if (!this.#alive) {
      await inner.release();
      throw dead(path);
    }
    this.#locks.add(inner);
    return {
      path: inner.path,
      release: async () => {
        this.#locks.delete(inner);
        await inner.release();
      },
    };
  }
}
