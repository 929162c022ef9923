// SimFs's model: inodes with current and durable bytes, directories with visible and durable name maps.
// Invariant: a crash leaves exactly what was made durable (plus, when torn, a prefix of an unsynced append tail).

import { posix } from 'node:path';
import { errnoError } from './faults.js';
import type { SeededRng } from './rng.js';

/**
 * A file inode. `buf[0, size)` is the current content. The durable content is `durableBase` when set,
 * else `buf[0, durableLength)`: appends past the durable length leave the durable prefix shared, so an
 * append+fsync loop costs O(bytes appended), not O(file size).
 */
export class FileNode {
  readonly kind = 'file';
  buf = new Uint8Array(0);
  size = 0;
  durableLength = 0;
  durableBase: Uint8Array | null = null;
  /** `buf[zerosFrom, size)` is all zeros (a lower bound is never claimed: the true start may be earlier). */
  zerosFrom = 0;
  /**
   * With `durableBase` null, the durable content is `buf[0, durableZerosFrom)` followed by zeros up to
   * `durableLength`: writes into preallocated zeros (FsFile.preallocate) change no durable byte, so an
   * O_DSYNC-style write+sync loop over them stays O(bytes written) instead of copying the file per write.
   */
  durableZerosFrom = 0;

  current(): Uint8Array {
    return this.buf.slice(0, this.size);
  }

  durable(): Uint8Array {
    if (this.durableBase !== null) return this.durableBase.slice();
    const out = this.buf.slice(0, this.durableLength);
    if (this.durableZerosFrom < this.durableLength) out.fill(0, this.durableZerosFrom);
    return out;
  }

  /** Where a crash may tear: unsynced bytes from here on are one tail (writes over durable zeros included). */
  tearFrom(): number {
    return this.durableBase === null ? Math.min(this.durableZerosFrom, this.durableLength) : this.durableLength;
  }

  /** Whether a crash would change anything: current and durable content differ (or may). */
  unsynced(): boolean {
    if (this.durableBase !== null || this.size !== this.durableLength) return true;
    for (let i = this.durableZerosFrom; i < this.durableLength; i++) if (this.buf[i] !== 0) return true;
    return false;
  }

  /** Durable content equals current content before `tearFrom()`: unsynced bytes are a pure tail. */
  unsyncedIsTail(): boolean {
    if (this.durableBase === null) return this.size >= this.tearFrom();
    if (this.size < this.durableLength) return false;
    for (let i = 0; i < this.durableLength; i++) if (this.durableBase[i] !== this.buf[i]) return false;
    return true;
  }

  /** Gives the durable content its own copy (before a change to bytes it shares with the current content). */
  detachDurable(): void {
    if (this.durableBase === null) this.durableBase = this.durable();
  }

  /** Call before changing bytes at or after `from`: copies the durable bytes out if the change reaches them. */
  #detach(from: number): void {
    // At or past durableZerosFrom the durable bytes are the implicit zeros, not buf: nothing to copy out.
    if (this.durableBase === null && from < this.durableLength && from < this.durableZerosFrom) this.detachDurable();
  }

  #reserve(n: number): void {
    if (n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(n, this.buf.length * 2, 64));
    next.set(this.buf.subarray(0, this.size));
    this.buf = next;
  }

  /** `zeros`: the data is all zeros (a preallocation), which keeps the zeros past the data known as such. */
  write(position: number, data: Uint8Array, zeros = false): void {
    this.#detach(position);
    const end = position + data.byteLength;
    this.#reserve(end);
    // A gap between the old end and `position` reads as zeros; a reused buffer may hold stale bytes.
    if (position > this.size) this.buf.fill(0, this.size, position);
    this.buf.set(data, position);
    if (!(zeros && position >= this.zerosFrom) && end > this.zerosFrom) this.zerosFrom = end;
    this.size = Math.max(this.size, end);
  }

  truncate(length: number): void {
    if (length < this.size) {
      this.#detach(length);
      if (this.zerosFrom > length) this.zerosFrom = length;
    } else {
      this.#reserve(length);
      this.buf.fill(0, this.size, length);
    }
    this.size = length;
  }

  sync(): void {
    this.durableBase = null;
    this.durableLength = this.size;
    this.durableZerosFrom = Math.min(this.zerosFrom, this.size);
  }

  /** Replaces current bytes by durable ones, keeping `keep` unsynced bytes from `tearFrom()` on (a torn write). */
  crash(keep: number): void {
    const from = this.tearFrom();
    const copied = this.durableBase !== null;
    if (this.durableBase !== null) {
      const tail = this.buf.slice(this.durableLength, this.durableLength + keep);
      this.buf = new Uint8Array(this.durableBase.length + tail.length);
      this.buf.set(this.durableBase);
      this.buf.set(tail, this.durableBase.length);
      this.size = this.durableLength + keep;
    } else {
      // Durable: buf[0, from) and zeros up to durableLength; of what was written over them, a prefix of `keep` bytes.
      const end = Math.max(this.durableLength, from + keep);
      this.#reserve(end);
      this.buf.fill(0, from + keep, end);
      this.size = end;
    }
    this.durableBase = null;
    // What survived a crash is on the medium now: a second crash must not take the torn tail away.
    this.durableLength = this.size;
    // Past the kept bytes the durable zeros are real zeros now; after a copied durable image, claim none.
    this.zerosFrom = copied ? this.size : Math.min(from + keep, this.size);
    this.durableZerosFrom = this.zerosFrom;
  }
}

export class DirNode {
  readonly kind = 'dir';
  readonly visible = new Map<string, Node>();
  durable = new Map<string, Node>();
}

export type Node = FileNode | DirNode;

/** Normalizes to an absolute POSIX path; a relative path is taken from `/` so SimFs never reads the cwd. */
export function normalize(path: string): string {
  if (path === '') throw errnoError('ENOENT', 'resolve', path);
  return posix.resolve('/', path.replaceAll('\\', '/'));
}

export function parts(abs: string): string[] {
  return abs.split('/').filter((p) => p !== '');
}

/** Walks the visible namespace. Returns undefined when absent; a file in the middle is ENOTDIR. */
export function lookup(root: DirNode, abs: string, syscall: string): Node | undefined {
  let node: Node = root;
  for (const name of parts(abs)) {
    if (node.kind !== 'dir') throw errnoError('ENOTDIR', syscall, abs);
    const next = node.visible.get(name);
    if (next === undefined) return undefined;
    node = next;
  }
  return node;
}

/** The directory that holds `abs` and the leaf name; ENOENT/ENOTDIR when the parent is not a directory. */
export function parentOf(root: DirNode, abs: string, syscall: string): { dir: DirNode; name: string } {
  const name = posix.basename(abs);
  if (name === '') throw errnoError('EBUSY', syscall, abs);
  const dir = lookup(root, posix.dirname(abs), syscall);
  if (dir === undefined) throw errnoError('ENOENT', syscall, abs);
  if (dir.kind !== 'dir') throw errnoError('ENOTDIR', syscall, abs);
  return { dir, name };
}

/** Every visible (or, with `durable`, every durably named) file path, sorted. */
export function listFiles(root: DirNode, durable: boolean): string[] {
  const out: string[] = [];
  const walk = (dir: DirNode, prefix: string): void => {
    const map = durable ? dir.durable : dir.visible;
    for (const name of [...map.keys()].sort()) {
      const node = map.get(name);
      const path = `${prefix}/${name}`;
      if (node?.kind === 'dir') walk(node, path);
      else if (node !== undefined) out.push(path);
    }
  };
  walk(root, '');
  return out;
}

/** What a crash did to one file. `keptLength - durableLength` unsynced bytes survived as a torn tail. */
export interface CrashedFile {
  readonly path: string;
  readonly currentLength: number;
  readonly durableLength: number;
  readonly keptLength: number;
}

/**
 * Rolls the tree back to its durable state: each directory's names to its durable map, each reachable
 * inode's bytes to its durable bytes (with `tear`, plus a seeded-length prefix of a pure unsynced tail).
 * Walks in sorted name order so the tear draws do not depend on Map insertion order.
 */
export function crashTree(root: DirNode, tear: SeededRng | null): CrashedFile[] {
  const report: CrashedFile[] = [];
  const seen = new Set<Node>();
  const walk = (dir: DirNode, prefix: string): void => {
    dir.visible.clear();
    for (const name of [...dir.durable.keys()].sort()) {
      const node = dir.durable.get(name);
      if (node === undefined) continue;
      dir.visible.set(name, node);
      if (seen.has(node)) continue; // a second name for an inode already rolled back
      seen.add(node);
      const path = `${prefix}/${name}`;
      if (node.kind === 'dir') {
        walk(node, path);
        continue;
      }
      const before = node.size;
      if (!node.unsynced()) continue;
      let keep = 0;
      const tearFrom = node.tearFrom();
      if (tear !== null && node.unsyncedIsTail() && before > tearFrom) {
        keep = tear.below(before - tearFrom + 1);
      }
      const durableLength = node.durableBase === null ? node.durableLength : node.durableBase.length;
      node.crash(keep);
      report.push({ path, currentLength: before, durableLength, keptLength: node.size });
    }
    // Sort the restored map too, so readdir and later walks see the same order after any crash.
    const sorted = [...dir.visible.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    dir.visible.clear();
    for (const [k, v] of sorted) dir.visible.set(k, v);
    dir.durable = new Map(dir.visible);
  };
  walk(root, '');
  return report;
}

/** Flips `xorByte` into byte `offset` of the file at `abs`, in its current and durable copies (disk rot). */
export function corruptByte(root: DirNode, abs: string, offset: number, xorByte: number): void {
  const node = lookup(root, abs, 'corrupt');
  if (node === undefined) throw errnoError('ENOENT', 'corrupt', abs);
  if (node.kind !== 'file') throw errnoError('EISDIR', 'corrupt', abs);
  if (!Number.isInteger(xorByte) || xorByte < 0 || xorByte > 255) throw new RangeError(`xorByte must be 0..255, got ${xorByte}`);
  const limit = Math.max(node.size, node.durableLength);
  if (!Number.isInteger(offset) || offset < 0 || offset >= limit) throw new RangeError(`offset ${offset} outside ${abs} (${limit} bytes)`);
  // Past durableZerosFrom the durable bytes are not buf's: give them their own copy to flip.
  if (node.durableBase === null && offset >= node.durableZerosFrom && offset < node.durableLength) node.detachDurable();
  if (offset < node.size) node.buf[offset] = (node.buf[offset] ?? 0) ^ xorByte;
  if (node.durableBase !== null && offset < node.durableLength) {
    node.durableBase[offset] = (node.durableBase[offset] ?? 0) ^ xorByte;
  }
}

/** Places a durable file at `abs`, creating durable parent directories as needed (test setup). */
export function placeDurableFile(root: DirNode, abs: string, data: Uint8Array): void {
  let dir = root;
  for (const name of parts(posix.dirname(abs))) {
    let next = dir.visible.get(name);
    if (next === undefined) {
      next = new DirNode();
      dir.visible.set(name, next);
    }
    if (next.kind !== 'dir') throw errnoError('ENOTDIR', 'putFile', abs);
    dir.durable.set(name, next);
    dir = next;
  }
  const name = posix.basename(abs);
  if (dir.visible.get(name)?.kind === 'dir') throw errnoError('EISDIR', 'putFile', abs);
  const node = new FileNode();
  node.write(0, data);
  node.sync();
  dir.visible.set(name, node);
  dir.durable.set(name, node);
}
