// Fault schedule for SimFs: which call of which op fails, how, and a log of every fault injected.
// Invariant: a fault fires only on the call it was planted for (or by a seeded draw), and every fired fault is logged.

import { BatpakError } from '../errors.js';
import { SeededRng } from './rng.js';

/** Every method of `Fs` and `FsFile` that SimFs counts and can fault. */
export const FS_OPS = [
  'open',
  'readAt',
  'append',
  'writeAt',
  'fsync',
  'truncate',
  'size',
  'stat',
  'readdir',
  'mkdir',
  'rename',
  'remove',
  'syncDir',
  'writeFileAtomic',
  'lock',
] as const;
export type FsOp = (typeof FS_OPS)[number];

export const FAULT_KINDS = ['EIO', 'ENOSPC', 'short-write', 'short-read', 'bit-flip', 'fsync-lie'] as const;
/**
 * - `EIO` / `ENOSPC`: the call throws that errno and changes nothing.
 * - `short-write` (append/writeAt): a strict prefix of the data lands, then the call throws EIO.
 * - `short-read` (readAt): returns a strict prefix of the bytes it owes — a contract breach on purpose.
 * - `bit-flip`: readAt returns one flipped bit (file unchanged); append/writeAt store one flipped bit and succeed.
 * - `fsync-lie` (fsync/syncDir): reports success, makes nothing durable.
 */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The kinds that mean something for an op; `failOn` is typed with it so a typo'd plan does not compile. */
export type FaultKindFor<O extends FsOp> = O extends 'append' | 'writeAt'
  ? 'EIO' | 'ENOSPC' | 'short-write' | 'bit-flip'
  : O extends 'readAt'
    ? 'EIO' | 'ENOSPC' | 'short-read' | 'bit-flip'
    : O extends 'fsync' | 'syncDir'
      ? 'EIO' | 'ENOSPC' | 'fsync-lie'
      : 'EIO' | 'ENOSPC';

const ERRNO_KINDS = ['EIO', 'ENOSPC'] as const;
export const FAULT_KINDS_BY_OP: { readonly [O in FsOp]: readonly FaultKindFor<O>[] } = {
  open: ERRNO_KINDS,
  readAt: [...ERRNO_KINDS, 'short-read', 'bit-flip'],
  append: [...ERRNO_KINDS, 'short-write', 'bit-flip'],
  writeAt: [...ERRNO_KINDS, 'short-write', 'bit-flip'],
  fsync: [...ERRNO_KINDS, 'fsync-lie'],
  truncate: ERRNO_KINDS,
  size: ERRNO_KINDS,
  stat: ERRNO_KINDS,
  readdir: ERRNO_KINDS,
  mkdir: ERRNO_KINDS,
  rename: ERRNO_KINDS,
  remove: ERRNO_KINDS,
  syncDir: [...ERRNO_KINDS, 'fsync-lie'],
  writeFileAtomic: ERRNO_KINDS,
  lock: ERRNO_KINDS,
};

/** One fault SimFs injected; an oracle reads these to know, e.g., that an fsync lied. */
export interface InjectedFault {
  /** Position among all injected faults of this SimFs, from 1. */
  readonly seq: number;
  readonly op: FsOp;
  /** The file or directory the call addressed (`from` for rename). */
  readonly path: string;
  readonly kind: FaultKind;
  /** The op's 1-based call number since the SimFs was created. */
  readonly call: number;
  readonly source: 'planted' | 'random';
  /** Crashes that happened before this fault. */
  readonly epoch: number;
  /** short-write: bytes that reached the file; short-read: bytes returned. */
  readonly bytes?: number;
  /** The fault hit an append through a syncAppends handle (its write or its sync): an oracle's writer-stop rule. */
  readonly durableAppend?: boolean;
  /** bit-flip: file offset of the flipped byte, and which bit (0–7) of it. */
  readonly offset?: number;
  readonly bit?: number;
}

/** Seeded random faults: each counted call of a listed op fails with `probability`. */
export interface FaultRate {
  readonly probability: number;
  /** Kinds to draw from; a call only draws among the kinds that apply to its op. */
  readonly kinds: readonly FaultKind[];
  /** Ops that may fail; default all. */
  readonly ops?: readonly FsOp[];
}

/** A Node-style errno error, so code written against RealFs handles SimFs failures the same way. */
export function errnoError(code: string, syscall: string, path: string, message?: string): Error {
  const text = message ?? ERRNO_TEXT[code] ?? 'error';
  return Object.assign(new Error(`${code}: ${text}, ${syscall} '${path}'`), { code, syscall, path });
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  EIO: 'i/o error (injected)',
  ENOSPC: 'no space left on device (injected)',
  EBADF: 'bad file descriptor',
  EINVAL: 'invalid argument',
  ENOTEMPTY: 'directory not empty',
  EBUSY: 'resource busy or locked',
};

function invalid(message: string): BatpakError {
  return BatpakError.invalidArgument(message);
}

function applies(op: FsOp, kind: FaultKind): boolean {
  return (FAULT_KINDS_BY_OP[op] as readonly FaultKind[]).includes(kind);
}

/** Counts calls per op, holds planted and random faults, and logs what fired. */
export class FaultPlan {
  readonly #calls = Object.fromEntries(FS_OPS.map((op) => [op, 0])) as Record<FsOp, number>;
  readonly #planted = new Map<FsOp, Map<number, FaultKind>>();
  readonly #log: InjectedFault[] = [];
  // Separate streams: whether a call faults must not shift the bytes a short-write keeps, and back.
  readonly #drawRng: SeededRng;
  readonly #payloadRng: SeededRng;
  #rate: FaultRate | null = null;

  constructor(seed: number) {
    this.#drawRng = new SeededRng(seed, 1);
    this.#payloadRng = new SeededRng(seed, 2);
  }

  plant(op: FsOp, nth: number, kind: FaultKind): void {
    if (!FS_OPS.includes(op)) throw invalid(`unknown Fs op: ${String(op)}`);
    if (!Number.isInteger(nth) || nth < 1) throw invalid(`failOn nth must be an integer >= 1, got ${nth}`);
    if (!applies(op, kind)) throw invalid(`fault kind ${kind} does not apply to ${op}`);
    let byCall = this.#planted.get(op);
    if (byCall === undefined) this.#planted.set(op, (byCall = new Map()));
    byCall.set(this.#calls[op] + nth, kind);
  }

  setRate(rate: FaultRate | null): void {
    if (rate !== null) {
      if (!(rate.probability >= 0 && rate.probability <= 1)) throw invalid(`fault probability must be in [0, 1], got ${rate.probability}`);
      for (const k of rate.kinds) if (!FAULT_KINDS.includes(k)) throw invalid(`unknown fault kind: ${String(k)}`);
      for (const op of rate.ops ?? []) if (!FS_OPS.includes(op)) throw invalid(`unknown Fs op: ${String(op)}`);
      rate = { probability: rate.probability, kinds: [...rate.kinds], ...(rate.ops === undefined ? {} : { ops: [...rate.ops] }) };
    }
    this.#rate = rate;
  }

  /** Drops planted faults that have not fired and the random rate; the log stays. */
  clear(): void {
    this.#planted.clear();
    this.#rate = null;
  }

  /** Counts one call of `op` and returns its 1-based number. */
  count(op: FsOp): number {
    return ++this.#calls[op];
  }

  /** The fault (if any) for call `call` of `op`; a planted fault wins over a random draw. */
  draw(op: FsOp, call: number): { kind: FaultKind; source: 'planted' | 'random' } | undefined {
    const byCall = this.#planted.get(op);
    const planted = byCall?.get(call);
    if (planted !== undefined) {
      byCall?.delete(call);
      return { kind: planted, source: 'planted' };
    }
    const rate = this.#rate;
    if (rate === null || rate.probability === 0) return undefined;
    if (rate.ops !== undefined && !rate.ops.includes(op)) return undefined;
    const usable = rate.kinds.filter((k) => applies(op, k));
    if (usable.length === 0 || !this.#drawRng.chance(rate.probability)) return undefined;
    const kind = usable[this.#drawRng.below(usable.length)];
    return kind === undefined ? undefined : { kind, source: 'random' };
  }

  /** A seeded integer in [0, n) for fault payloads (short lengths, flipped bits). */
  pick(n: number): number {
    return this.#payloadRng.below(n);
  }

  record(fault: Omit<InjectedFault, 'seq'>): InjectedFault {
    const entry: InjectedFault = Object.freeze({ seq: this.#log.length + 1, ...fault });
    this.#log.push(entry);
    return entry;
  }

  log(): readonly InjectedFault[] {
    return [...this.#log];
  }

  calls(): Readonly<Record<FsOp, number>> {
    return { ...this.#calls };
  }

  /** Planted faults that have not fired yet. */
  pending(): number {
    let n = 0;
    for (const byCall of this.#planted.values()) n += byCall.size;
    return n;
  }
}
