// SimFs: an in-memory Fs that models both durability truths (inode bytes and directory names), crashes
// on demand and injects faults by schedule or seeded draw. Invariant: same seed + same calls ⇒ same run.

import { posix } from 'node:path';
import { BatpakError } from '../errors.js';
import { atomicTempPath, writeFileAtomicSteps } from './atomic-write.js';
import type { Fs, FsFile, FsLock, FsOpenOptions, FsStat } from './fs.js';
import { FaultPlan, errnoError, type FaultKindFor, type FaultRate, type FsOp, type InjectedFault } from './faults.js';
import { SeededRng } from './rng.js';
import { SimFile, type FaultDraw, type SimContext } from './sim-file.js';
import { DirNode, FileNode, corruptByte, crashTree, listFiles, lookup, normalize, parentOf, parts, placeDurableFile, type CrashedFile, type Node } from './sim-tree.js';

export type { CrashedFile } from './sim-tree.js';

export interface SimFsOptions {
  /** Seeds every random choice (fault draws, short lengths, flipped bits, torn lengths). Default 0. */
  readonly seed?: number;
  /**
   * When true (default), `mkdir` makes the new directory's name durable at once, so only files need a
   * `syncDir`. When false, a new directory vanishes at crash unless its parent is synced, as on ext4.
   */
  readonly durableMkdir?: boolean;
}

export interface SimFsStats {
  readonly calls: Readonly<Record<FsOp, number>>;
  readonly crashes: number;
  readonly faultsInjected: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly openHandles: number;
  readonly locksHeld: number;
}

/** One file's two truths: what reads see now, and what a crash (without tear) would leave. */
export interface SimFileInfo {
  readonly current: Uint8Array;
  readonly durable: Uint8Array;
  /** The path resolves to this inode through durable names: the file itself survives a crash. */
  readonly nameDurable: boolean;
}

export interface CrashReport {
  /** Crashes so far, this one included. */
  readonly epoch: number;
  /** Files whose bytes the crash changed, in path order. */
  readonly files: readonly CrashedFile[];
}

const tick = (): Promise<void> => Promise.resolve();

export class SimFs implements Fs {
  readonly seed: number;
  readonly durableMkdir: boolean;
  readonly #root = new DirNode();
  readonly #plan: FaultPlan;
  readonly #tearRng: SeededRng;
  readonly #locks = new Map<string, object>();
  readonly #ctx: SimContext;
  #epoch = 0;
  #openHandles = 0;
  #bytesRead = 0;
  #bytesWritten = 0;
  #tmpCounter = 0;

  constructor(options: number | SimFsOptions = {}) {
    const opts: SimFsOptions = typeof options === 'number' ? { seed: options } : options;
    this.seed = opts.seed ?? 0;
    this.durableMkdir = opts.durableMkdir ?? true;
    this.#plan = new FaultPlan(this.seed);
    this.#tearRng = new SeededRng(this.seed, 3);
    const plan = this.#plan;
    const sim = this;
    // The handles' view of this SimFs; it reads the live epoch, so a crash kills every older handle.
    this.#ctx = {
      get epoch() {
        return sim.#epoch;
      },
      begin: async (op) => {
        await tick(); // a real syscall yields: let other tasks interleave, deterministically
        return plan.count(op);
      },
      fault: (op, call, path, extra) => this.#fault(op, call, path, extra),
      log: (op, call, path, draw, extra) => this.#log(op, call, path, draw, extra),
      pick: (n) => plan.pick(n),
      countBytes: (read, written) => {
        this.#bytesRead += read;
        this.#bytesWritten += written;
      },
      handleClosed: (epoch) => {
        if (epoch === this.#epoch) this.#openHandles--;
      },
    };
  }

  // ---- fault control -------------------------------------------------------------------------

  /** Fails the `nth` call of `op` counted from now (1 = the next one) with `kind`. */
  failOn<O extends FsOp>(op: O, nth: number, kind: FaultKindFor<O>): this {
    this.#plan.plant(op, nth, kind);
    return this;
  }

  /** Seeded random faults on every counted call; `null` turns them off. */
  setFaultRate(rate: FaultRate | null): this {
    this.#plan.setRate(rate);
    return this;
  }

  /** Forgets planted faults that have not fired and the random rate; the fault log stays. */
  clearFaults(): this {
    this.#plan.clear();
    return this;
  }

  faults(): readonly InjectedFault[] {
    return this.#plan.log();
  }

  pendingFaults(): number {
    return this.#plan.pending();
  }

  stats(): SimFsStats {
    return {
      calls: this.#plan.calls(),
      crashes: this.#epoch,
      faultsInjected: this.#plan.log().length,
      bytesRead: this.#bytesRead,
      bytesWritten: this.#bytesWritten,
      openHandles: this.#openHandles,
      locksHeld: this.#locks.size,
    };
  }

  #fault(op: FsOp, call: number, path: string, extra: Pick<InjectedFault, 'durableAppend'> = {}): FaultDraw | undefined {
    const draw = this.#plan.draw(op, call);
    if (draw === undefined) return undefined;
    if (draw.kind === 'EIO' || draw.kind === 'ENOSPC') {
      this.#log(op, call, path, draw, extra);
      throw errnoError(draw.kind, op, path);
    }
    return draw;
  }

  #log(op: FsOp, call: number, path: string, draw: FaultDraw, extra: Pick<InjectedFault, 'bytes' | 'offset' | 'bit' | 'durableAppend'> = {}): void {
    this.#plan.record({ op, path, kind: draw.kind, call, source: draw.source, epoch: this.#epoch, ...extra });
  }

  // ---- crash and inspection ------------------------------------------------------------------

  /**
   * Power loss: every directory's names roll back to its durable map, every surviving inode's bytes to
   * its durable bytes. With `tear` (default true) a file whose unsynced writes are a pure tail keeps a
   * seeded-length prefix of that tail (0..all of it). Open handles die and locks are released.
   */
  crash(options: { readonly tear?: boolean } = {}): CrashReport {
    this.#epoch++;
    this.#openHandles = 0;
    this.#locks.clear();
    const files = crashTree(this.#root, options.tear === false ? null : this.#tearRng);
    return { epoch: this.#epoch, files };
  }

  /** Current and durable bytes of the file visible at `path`, or null when no file is there. */
  inspect(path: string): SimFileInfo | null {
    const abs = normalize(path);
    const node = lookup(this.#root, abs, 'inspect');
    if (node?.kind !== 'file') return null;
    return { current: node.current(), durable: node.durable(), nameDurable: this.#durableLookup(abs) === node };
  }

  /** Every visible file, by path. */
  snapshot(): ReadonlyMap<string, SimFileInfo> {
    const out = new Map<string, SimFileInfo>();
    for (const path of listFiles(this.#root, false)) {
      const info = this.inspect(path);
      if (info !== null) out.set(path, info);
    }
    return out;
  }

  /** Sorted paths of visible files, or with `durable` of the files whose names survive a crash. */
  listFiles(options: { readonly durable?: boolean } = {}): string[] {
    return listFiles(this.#root, options.durable === true);
  }

  /** Tampers with one byte on the medium (current and durable copies) as if the disk rotted. */
  corrupt(path: string, offset: number, xorByte: number): void {
    corruptByte(this.#root, normalize(path), offset, xorByte);
  }

  /** Test setup: places a durable file (and durable parent directories) without counting ops or faults. */
  putFile(path: string, data: Uint8Array): void {
    placeDurableFile(this.#root, normalize(path), data);
  }

  #durableLookup(abs: string): Node | undefined {
    let node: Node = this.#root;
    for (const name of parts(abs)) {
      if (node.kind !== 'dir') return undefined;
      const next: Node | undefined = node.durable.get(name);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  // ---- Fs ------------------------------------------------------------------------------------

  async open(path: string, options: FsOpenOptions = {}): Promise<FsFile> {
    const call = await this.#ctx.begin('open');
    const abs = normalize(path);
    const create = options.create === true;
    const write = options.write === true || create;
    const { dir, name } = parentOf(this.#root, abs, 'open');
    const existing = dir.visible.get(name);
    if (existing?.kind === 'dir') throw errnoError('EISDIR', 'open', abs);
    if (existing === undefined && !create) throw errnoError('ENOENT', 'open', abs);
    if (existing !== undefined && create && options.exclusive === true) throw errnoError('EEXIST', 'open', abs);
    this.#fault('open', call, abs);
    let node = existing;
    if (node === undefined) {
      node = new FileNode();
      dir.visible.set(name, node);
    }
    this.#openHandles++;
    return new SimFile(this.#ctx, node, path, write, write && options.syncAppends === true, options.preallocate === true);
  }

  async stat(path: string): Promise<FsStat | null> {
    const call = await this.#ctx.begin('stat');
    const abs = normalize(path);
    const node = lookup(this.#root, abs, 'stat');
    this.#fault('stat', call, abs);
    if (node === undefined) return null;
    return node.kind === 'file'
      ? { size: node.size, isFile: true, isDirectory: false }
      : { size: 0, isFile: false, isDirectory: true };
  }

  async readdir(path: string): Promise<string[]> {
    const call = await this.#ctx.begin('readdir');
    const abs = normalize(path);
    const node = lookup(this.#root, abs, 'scandir');
    if (node === undefined) throw errnoError('ENOENT', 'scandir', abs);
    if (node.kind !== 'dir') throw errnoError('ENOTDIR', 'scandir', abs);
    this.#fault('readdir', call, abs);
    return [...node.visible.keys()].sort();
  }

  async mkdir(path: string, options: { readonly recursive?: boolean } = {}): Promise<void> {
    const call = await this.#ctx.begin('mkdir');
    const abs = normalize(path);
    // Find what is missing first, so a fault or an error leaves no half-made chain behind.
    let dir = this.#root;
    const names = parts(abs);
    let i = 0;
    for (; i < names.length; i++) {
      const next = dir.visible.get(names[i] ?? '');
      if (next === undefined) break;
      if (next.kind !== 'dir') throw errnoError(i === names.length - 1 ? 'EEXIST' : 'ENOTDIR', 'mkdir', abs);
      dir = next;
    }
    const missing = names.slice(i);
    if (options.recursive !== true) {
      if (missing.length === 0) throw errnoError('EEXIST', 'mkdir', abs);
      if (missing.length > 1) throw errnoError('ENOENT', 'mkdir', abs);
    }
    this.#fault('mkdir', call, abs);
    for (const name of missing) {
      const made = new DirNode();
      dir.visible.set(name, made);
      if (this.durableMkdir) dir.durable.set(name, made);
      dir = made;
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const call = await this.#ctx.begin('rename');
    const src = normalize(from);
    const dst = normalize(to);
    const a = parentOf(this.#root, src, 'rename');
    const node = a.dir.visible.get(a.name);
    if (node === undefined) throw errnoError('ENOENT', 'rename', src);
    const b = parentOf(this.#root, dst, 'rename');
    const target = b.dir.visible.get(b.name);
    if (target !== undefined && target !== node) {
      if (node.kind === 'file' && target.kind === 'dir') throw errnoError('EISDIR', 'rename', dst);
      if (node.kind === 'dir' && target.kind === 'file') throw errnoError('ENOTDIR', 'rename', dst);
      if (target.kind === 'dir' && target.visible.size > 0) throw errnoError('ENOTEMPTY', 'rename', dst);
    }
    if (node.kind === 'dir' && dst.startsWith(`${src}/`)) throw errnoError('EINVAL', 'rename', dst);
    this.#fault('rename', call, src);
    // POSIX: renaming a name onto one for the same inode (or itself) does nothing.
    if (target === node) return;
    b.dir.visible.set(b.name, node);
    a.dir.visible.delete(a.name);
  }

  async remove(path: string, options: { readonly force?: boolean } = {}): Promise<void> {
    const call = await this.#ctx.begin('remove');
    const abs = normalize(path);
    const force = options.force === true;
    let at: { dir: DirNode; name: string };
    try {
      at = parentOf(this.#root, abs, 'rm');
    } catch (err) {
      if (force && (err as { code?: string }).code === 'ENOENT') return;
      throw err;
    }
    const node = at.dir.visible.get(at.name);
    if (node === undefined) {
      if (force) return;
      throw errnoError('ENOENT', 'rm', abs);
    }
    if (node.kind === 'dir') throw errnoError('EISDIR', 'rm', abs);
    this.#fault('remove', call, abs);
    at.dir.visible.delete(at.name);
  }

  async syncDir(path: string): Promise<void> {
    const call = await this.#ctx.begin('syncDir');
    const abs = normalize(path);
    const node = lookup(this.#root, abs, 'fsync');
    if (node === undefined) throw errnoError('ENOENT', 'open', abs);
    // Stricter than RealFs (which fsyncs whatever it opened): syncing a file as a directory is a bug.
    if (node.kind !== 'dir') throw errnoError('ENOTDIR', 'fsync', abs);
    const draw = this.#fault('syncDir', call, abs);
    if (draw?.kind === 'fsync-lie') {
      this.#log('syncDir', call, abs, draw);
      return;
    }
    node.durable = new Map(node.visible);
  }

  /** Same steps as RealFs (temp, write, fsync, rename, syncDir), each a counted op a fault can hit. */
  async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    const call = await this.#ctx.begin('writeFileAtomic');
    const abs = normalize(path);
    parentOf(this.#root, abs, 'open');
    this.#fault('writeFileAtomic', call, abs);
    const dir = posix.dirname(abs);
    const tmp = atomicTempPath(abs, `sim-${++this.#tmpCounter}`);
    await writeFileAtomicSteps(this, abs, tmp, dir, data);
  }

  /** Exclusive within this SimFs only; held in memory (no lock file appears), dropped by `crash()`. */
  async lock(path: string): Promise<FsLock> {
    const call = await this.#ctx.begin('lock');
    const abs = normalize(path);
    parentOf(this.#root, abs, 'open');
    this.#fault('lock', call, abs);
    if (this.#locks.has(abs)) {
      throw BatpakError.storeLocked(abs, 'held in this SimFs');
    }
    const token = {};
    this.#locks.set(abs, token);
    let released = false;
    return {
      path: abs,
      release: async () => {
        await tick();
        if (released) return;
        released = true;
        // After a crash the lock may belong to a new holder: only drop our own entry.
        if (this.#locks.get(abs) === token) this.#locks.delete(abs);
      },
    };
  }
}
