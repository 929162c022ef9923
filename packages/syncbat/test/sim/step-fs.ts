// StepFs: an Fs view that counts every disk-changing step (append, writeAt, truncate, fsync, rename, remove,
// syncDir, writeFileAtomic, mkdir) and kills its process view just before step `killAt`, so a run can crash anywhere.
import type { Fs, FsFile, FsLock, FsOpenOptions, FsStat } from '@batpak/core';
import type { KillableFs } from '@batpak/core/testing';

export class StepFs implements Fs {
  steps = 0;

  constructor(
    private readonly inner: KillableFs,
    private readonly killAt: number,
  ) {}

  /** Counts one step; the step numbered `killAt` finds the process already dead. */
  step(): void {
    this.steps++;
    if (this.steps === this.killAt) this.inner.kill();
  }

  async open(path: string, options?: FsOpenOptions): Promise<FsFile> {
    const f = await this.inner.open(path, options);
    const step = () => this.step();
    return {
      get path() {
        return f.path;
      },
      get appendsDurable() {
        return f.appendsDurable === true;
      },
      readAt: (p, n) => f.readAt(p, n),
      append: (chunks) => (step(), f.append(chunks)),
      writeAt: (p, d) => (step(), f.writeAt(p, d)),
      fsync: () => (step(), f.fsync()),
      truncate: (n) => (step(), f.truncate(n)),
      size: () => f.size(),
      close: () => f.close(),
      ...(f.preallocate === undefined ? {} : { preallocate: (n: number) => (step(), f.preallocate!(n)) }),
    };
  }
  stat(path: string): Promise<FsStat | null> {
    return this.inner.stat(path);
  }
  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }
  mkdir(path: string, options?: { readonly recursive?: boolean }): Promise<void> {
    this.step();
    return this.inner.mkdir(path, options);
  }
  rename(from: string, to: string): Promise<void> {
    this.step();
    return this.inner.rename(from, to);
  }
  remove(path: string, options?: { readonly force?: boolean }): Promise<void> {
    this.step();
    return this.inner.remove(path, options);
  }
  syncDir(path: string): Promise<void> {
    this.step();
    return this.inner.syncDir(path);
  }
  writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    this.step();
    return this.inner.writeFileAtomic(path, data);
  }
  lock(path: string): Promise<FsLock> {
    return this.inner.lock(path);
  }
}
