// One process's view of a SimFs for the simulations: KillableFs, with writeFileAtomic done step by step and
// every call re-checked when it returns, so a process that died mid-call never sees it succeed.
//
// Why: SimFs.writeFileAtomic runs its steps (temp file, write, fsync, rename, directory fsync) on SimFs
// itself; KillableFs only guards the call's start. A keyset flush begun before a crash() then completes
// on the post-crash tree — a dead process publishing a keyset no real power loss could produce, which
// both invents failures and can hide real ones (GAUNTLET.md § Harness findings). A single namespace op
// (rename, remove, syncDir…) in flight at crash() likewise lands after it; the oracle undoes those by a
// second, tear-free crash once the dead process's calls have settled.

import type { Fs, FsFile, FsLock, FsOpenOptions, FsStat } from '../../src/index.js';
import type { KillableFs } from '../../src/entry/testing.js';
import { atomicTempPath, writeFileAtomicSteps } from '../../src/fs/atomic-write.js';

export class ProcessFs implements Fs {
  #tmp = 0;
  constructor(
    readonly view: KillableFs,
    /** Sees every whole image written with writeFileAtomic (the erasure oracle learns keys from keyset images). */
    private readonly onAtomicWrite?: (path: string, data: Uint8Array) => void,
  ) {}

  kill(): void {
    this.view.kill();
  }

  /**
   * A call that was in flight when the process died must not report success to it: SimFs applies a
   * namespace op after its scheduler turn even if crash() came in between (HARNESS-1).
   */
  async #live<T>(path: string, call: Promise<T>): Promise<T> {
    const out = await call;
    if (!this.view.alive) throw Object.assign(new Error(`process was killed during a call: ${path}`), { code: 'EIO' });
    return out;
  }

  open(path: string, options?: FsOpenOptions): Promise<FsFile> {
    return this.#live(path, this.view.open(path, options));
  }
  stat(path: string): Promise<FsStat | null> {
    return this.#live(path, this.view.stat(path));
  }
  readdir(path: string): Promise<string[]> {
    return this.#live(path, this.view.readdir(path));
  }
  mkdir(path: string, options?: { readonly recursive?: boolean }): Promise<void> {
    return this.#live(path, this.view.mkdir(path, options));
  }
  rename(from: string, to: string): Promise<void> {
    return this.#live(from, this.view.rename(from, to));
  }
  remove(path: string, options?: { readonly force?: boolean }): Promise<void> {
    return this.#live(path, this.view.remove(path, options));
  }
  syncDir(path: string): Promise<void> {
    return this.#live(path, this.view.syncDir(path));
  }
  lock(path: string): Promise<FsLock> {
    return this.#live(path, this.view.lock(path));
  }

  /** The same steps as SimFs and RealFs, each one a call through the (killable) process view. */
  async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    this.onAtomicWrite?.(path, data);
    const slash = path.lastIndexOf('/');
    const dir = slash <= 0 ? '/' : path.slice(0, slash);
    await writeFileAtomicSteps(this, path, atomicTempPath(path, `proc-${++this.#tmp}`), dir, data);
  }
}
