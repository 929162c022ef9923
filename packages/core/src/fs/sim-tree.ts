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

  current(): Uint8Array {
    return this.buf.slice(0, this.size);
  }

  durable(): Uint8Array {
    return this.durableBase === null ? this.buf.slice(0, this.durableLength) : this.durableBase.slice();
  }

  /** Durable content equals current content below the durable length: unsynced bytes are a pure tail. */
  unsyncedIsTail(): boolean {
    if (this.size < this.durableLength) return false;
    if (this.durableBase === null) return true;
    for (let i = 0; i < this.durableLength; i++) if (this.durableBase[i] !== this.buf[i]) return false;
    return true;
  }

  /** Call before changing bytes at or after `from`: copies the durable bytes out if the change reaches them. */
  #detach(from: number): void {
    if (this.durableBase === null && from < this.durableLength) this.durableBase = this.buf.slice(0, this.durableLength);
  }

  #reserve(n: number): void {
    if (n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(n, this.buf.length * 2, 64));
    next.set(this.buf.subarray(0, this.size));
    this.buf = next;
  }

  write(position: number, data: Uint8Array): void {
    this.#detach(position);
    const end = position + data.byteLength;
    this.#reserve(end);
    // A gap between the old end and `position` reads as zeros; a reused buffer may hold stale bytes.
    if (position > this.size) this.buf.fill(0, this.size, position);
    this.buf.set(data, position);
    this.size = Math.max(this.size, end);
  }

  truncate(length: number): void {
    if (length < this.size) {
      this.#detach(length);
    } else {
      this.#reserve(length);
      this.buf.fill(0, this.size, length);
    }
    this.size = length;
  }

  sync(): void {
    this.durableBase = null;
    this.durableLength = this.size;
  }

  /** Replaces current bytes by durable ones, keeping `keep` unsynced tail bytes (a torn write). */
  crash(keep: number): void {
    if (this.durableBase !== null) {
      const tail = this.buf.slice(this.durableLength, this.durableLength + keep);
      this.buf = new Uint8Array(this.durableBase.length + tail.length);
      this.buf.set(this.durableBase);
      this.buf.set(tail, this.durableBase.length);
    }
    this.size = this.durableLength + keep;
    this.durableBase = null;
    // What survived a crash is on the medium now: a second crash must not take the torn tail away.
    this.durableLength = this.size;
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
      const durableBefore = node.durableBase === null ? node.buf.subarray(0, node.durableLength) : node.durableBase;
      const changed = before !== node.durableLength || node.durableBase !== null;
      if (!changed) continue;
      let keep = 0;
      if (tear !== null && node.unsyncedIsTail() && before > node.durableLength) {
        keep = tear.below(before - node.durableLength + 1);
      }
      const durableLength = durableBefore.length;
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
