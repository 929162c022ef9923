// SimFs's open-file handle: positioned reads and writes on one inode, with faults drawn per call.
// Invariant: a handle opened before a crash never touches the post-crash tree (it throws EIO instead).

import type { FsFile } from './fs.js';
import { errnoError, type FaultKind, type FsOp, type InjectedFault } from './faults.js';
import type { FileNode } from './sim-tree.js';

export interface FaultDraw {
  readonly kind: FaultKind;
  readonly source: 'planted' | 'random';
}

/** What a handle needs from its SimFs; kept narrow so the file logic cannot reach the namespace. */
export interface SimContext {
  readonly epoch: number;
  /** Yields once, then counts a call of `op` and returns its number. */
  begin(op: FsOp): Promise<number>;
  /** The fault for this call; EIO/ENOSPC are logged and thrown here, other kinds returned to apply. */
  fault(op: FsOp, call: number, path: string, extra?: Pick<InjectedFault, 'durableAppend'>): FaultDraw | undefined;
  log(op: FsOp, call: number, path: string, draw: FaultDraw, extra?: Pick<InjectedFault, 'bytes' | 'offset' | 'bit' | 'durableAppend'>): void;
  pick(n: number): number;
  countBytes(read: number, written: number): void;
  handleClosed(epoch: number): void;
}

function checkRange(value: number, what: string, syscall: string, path: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw errnoError('EINVAL', syscall, path, `invalid argument (${what} = ${value})`);
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  let total = 0;
  for (const c of chunks) total += c.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export class SimFile implements FsFile {
  readonly path: string;
  readonly #ctx: SimContext;
  readonly #node: FileNode;
  readonly #epoch: number;
  readonly #writable: boolean;
  /** Opened with syncAppends: an append is a write and then an fsync, each its own counted op a crash or fault can hit. */
  readonly appendsDurable: boolean;
  #closed = false;
  /** Opened with preallocate: where the next append lands, and how long this handle made the file (as RealFile). */
  #dataEnd: number | undefined;
  #fileEnd = 0;
  readonly preallocate?: (length: number) => Promise<void>;

  constructor(ctx: SimContext, node: FileNode, path: string, writable: boolean, appendsDurable = false, preallocate = false) {
    this.#ctx = ctx;
    this.#node = node;
    this.path = path;
    this.#epoch = ctx.epoch;
    this.#writable = writable;
    this.appendsDurable = appendsDurable;
    if (writable && preallocate) {
      this.#dataEnd = node.size;
      this.#fileEnd = node.size;
      this.preallocate = (length) => this.#preallocate(length);
    }
  }

  #check(syscall: string, needsWrite: boolean, notWritableCode = 'EBADF'): void {
    if (this.#ctx.epoch !== this.#epoch) throw errnoError('EIO', syscall, this.path, 'i/o error: file handle predates a crash');
    if (this.#closed) throw errnoError('EBADF', syscall, this.path, 'file closed');
    if (needsWrite && !this.#writable) throw errnoError(notWritableCode, syscall, this.path);
  }

  async readAt(position: number, length: number): Promise<Uint8Array> {
    const call = await this.#ctx.begin('readAt');
    this.#check('read', false);
    checkRange(position, 'position', 'read', this.path);
    checkRange(length, 'length', 'read', this.path);
    const node = this.#node;
    const n = Math.max(0, Math.min(length, node.size - position));
    let out = node.buf.slice(position, position + n);
    const draw = this.#ctx.fault('readAt', call, this.path);
    if (draw?.kind === 'short-read') {
      const keep = n === 0 ? 0 : this.#ctx.pick(n);
      out = out.slice(0, keep);
      this.#ctx.log('readAt', call, this.path, draw, { bytes: keep });
    } else if (draw?.kind === 'bit-flip') {
      if (n > 0) {
        const bitIndex = this.#ctx.pick(n * 8);
        const byte = bitIndex >>> 3;
        const bit = bitIndex & 7;
        out[byte] = (out[byte] ?? 0) ^ (1 << bit);
        this.#ctx.log('readAt', call, this.path, draw, { offset: position + byte, bit });
      } else {
        this.#ctx.log('readAt', call, this.path, draw);
      }
    }
    this.#ctx.countBytes(out.byteLength, 0);
    return out;
  }

  async append(chunks: readonly Uint8Array[]): Promise<void> {
    // Preallocated: the range is claimed at the call, as RealFile claims it before its write is issued.
    let at: number | undefined;
    if (this.#dataEnd !== undefined) {
      let bytes = 0;
      for (const c of chunks) bytes += c.byteLength;
      at = this.#dataEnd;
      this.#dataEnd += bytes;
      if (this.#dataEnd > this.#fileEnd) this.#fileEnd = this.#dataEnd;
    }
    const call = await this.#ctx.begin('append');
    this.#check('write', true);
    // The end is read after the yield, at the moment the write lands: concurrent appends never overlap.
    this.#write('append', call, at ?? this.#node.size, concat(chunks), this.appendsDurable);
    // O_DSYNC: the write lands, then it is made durable before the call returns. A crash between the two loses
    // it (or keeps it) exactly as a crash before an fsync would; an fsync fault (EIO, a lie) hits this append.
    if (this.appendsDurable) await this.#sync(true);
  }

  async writeAt(position: number, data: Uint8Array): Promise<void> {
    const call = await this.#ctx.begin('writeAt');
    this.#check('write', true);
    checkRange(position, 'position', 'write', this.path);
    this.#write('writeAt', call, position, data);
    if (this.#dataEnd !== undefined && position + data.byteLength > this.#dataEnd) {
      this.#dataEnd = position + data.byteLength;
      if (this.#dataEnd > this.#fileEnd) this.#fileEnd = this.#dataEnd;
    }
  }

  /** FsFile.preallocate: one counted write of zeros, not durable until an fsync (a crash may keep any part of it). */
  async #preallocate(length: number): Promise<void> {
    const from = this.#fileEnd;
    if (!Number.isSafeInteger(length) || length <= from) return;
    this.#fileEnd = length;
    const call = await this.#ctx.begin('writeAt');
    this.#check('write', true);
    this.#write('writeAt', call, from, new Uint8Array(length - from), false, true);
  }

  #write(op: 'append' | 'writeAt', call: number, position: number, data: Uint8Array, durable = false, zeros = false): void {
    const mark = durable ? { durableAppend: true } : {};
    const draw = this.#ctx.fault(op, call, this.path, mark);
    const n = data.byteLength;
    if (draw?.kind === 'short-write') {
      const keep = n === 0 ? 0 : this.#ctx.pick(n);
      if (keep > 0) this.#node.write(position, data.subarray(0, keep), zeros);
      this.#ctx.countBytes(0, keep);
      this.#ctx.log(op, call, this.path, draw, { bytes: keep, ...mark });
      throw errnoError('EIO', 'write', this.path, `i/o error (injected short write: ${keep} of ${n} bytes)`);
    }
    if (draw?.kind === 'bit-flip') {
      if (n > 0) {
        const bitIndex = this.#ctx.pick(n * 8);
        const byte = bitIndex >>> 3;
        const bit = bitIndex & 7;
        const flipped = data.slice();
        flipped[byte] = (flipped[byte] ?? 0) ^ (1 << bit);
        data = flipped;
        this.#ctx.log(op, call, this.path, draw, { offset: position + byte, bit, ...mark });
      } else {
        this.#ctx.log(op, call, this.path, draw, mark);
      }
    }
    // pwrite of zero bytes changes nothing, not even the size, whatever the position.
    if (n > 0) this.#node.write(position, data, zeros && draw?.kind !== 'bit-flip');
    this.#ctx.countBytes(0, n);
  }

  async fsync(): Promise<void> {
    await this.#sync(false);
  }

  /** An fsync, standing alone or as the second half of a durable append (then its faults are marked so). */
  async #sync(durableAppend: boolean): Promise<void> {
    const call = await this.#ctx.begin('fsync');
    this.#check('fsync', false);
    const mark = durableAppend ? { durableAppend: true } : {};
    const draw = this.#ctx.fault('fsync', call, this.path, mark);
    if (draw?.kind === 'fsync-lie') {
      this.#ctx.log('fsync', call, this.path, draw, mark);
      return;
    }
    this.#node.sync();
  }

  async truncate(length: number): Promise<void> {
    const call = await this.#ctx.begin('truncate');
    // Linux ftruncate on a descriptor not open for writing fails with EINVAL; RealFs surfaces that.
    this.#check('ftruncate', true, 'EINVAL');
    checkRange(length, 'length', 'ftruncate', this.path);
    this.#ctx.fault('truncate', call, this.path);
    this.#node.truncate(length);
    if (this.#dataEnd !== undefined) {
      this.#dataEnd = length;
      this.#fileEnd = length;
    }
  }

  async size(): Promise<number> {
    const call = await this.#ctx.begin('size');
    this.#check('fstat', false);
    this.#ctx.fault('size', call, this.path);
    return this.#node.size;
  }

  async close(): Promise<void> {
    // Closing a handle that a crash killed is allowed: cleanup paths must not fail on it.
    if (this.#closed) return;
    this.#closed = true;
    this.#ctx.handleClosed(this.#epoch);
  }
}
