// One process's view of a SimFs for the simulations: KillableFs, with writeFileAtomic done step by step
// through that view, so a process that dies mid-way cannot finish the write in the world after the crash.
//
// Why: SimFs.writeFileAtomic runs its steps (temp file, write, fsync, rename, directory fsync) on SimFs
// itself; KillableFs only guards the call's start. A keyset flush begun before a crash() then completes
// on the post-crash tree — a dead process publishing a keyset no real power loss could produce, which
// both invents failures and can hide real ones (GAUNTLET.md § Harness findings).

import type { Fs, FsFile, FsLock, FsOpenOptions, FsStat } from '../../src/index.js';
import type { KillableFs } from '../../src/testing.js';

export class ProcessFs implements Fs {
  #tmp = 0;
  constructor(readonly view: KillableFs) {}

  kill(): void {
    this.view.kill();
  }

  open(path: string, options?: FsOpenOptions): Promise<FsFile> {
    return this.view.open(path, options);
  }
  stat(path: string): Promise<FsStat | null> {
    return this.view.stat(path);
  }
  readdir(path: string): Promise<string[]> {
    return this.view.readdir(path);
  }
  mkdir(path: string, options?: { readonly recursive?: boolean }): Promise<void> {
    return this.view.mkdir(path, options);
  }
  rename(from: string, to: string): Promise<void> {
    return this.view.rename(from, to);
  }
  remove(path: string, options?: { readonly force?: boolean }): Promise<void> {
    return this.view.remove(path, options);
  }
  syncDir(path: string): Promise<void> {
    return this.view.syncDir(path);
  }
  lock(path: string): Promise<FsLock> {
    return this.view.lock(path);
  }

  /** The same steps as SimFs and RealFs, each one a call through the (killable) process view. */
  async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    const slash = path.lastIndexOf('/');
    const dir = slash <= 0 ? '/' : path.slice(0, slash);
    const tmp = `${dir}/.${path.slice(slash + 1)}.tmp-proc-${++this.#tmp}`;
    const file = await this.view.open(tmp, { create: true, exclusive: true });
    try {
      await file.writeAt(0, data);
      await file.fsync();
    } catch (err) {
      await file.close();
      await this.view.remove(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    await file.close();
    try {
      await this.view.rename(tmp, path);
    } catch (err) {
      await this.view.remove(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    await this.view.syncDir(dir);
  }
}
