// The writer lock of RealFs (INV-WRITER-LOCK): a lock file that appears whole, names its holder (pid,
// process start, host, nonce), and is taken over only from a holder proven dead, by one claimant at a time.

import { open as fsOpen, stat as fsStat, rename as fsRename, rm, link, type FileHandle } from 'node:fs/promises';
import { constants, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BatpakError } from '../errors.js';
import type { FsLock } from './fs.js';
import { readRegular } from './real-file.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NONBLOCK } = constants;

/** Lock files held by this process, so a second open in the same process is refused too. */
const heldLocks = new Set<string>();

interface LockOwner {
  readonly pid: number;
  readonly start: string;
  readonly host: string;
  /** Unique per acquisition: no two lock files ever hold the same text, so "still the stale one?" is exact. */
  readonly nonce?: string;
}

function processStart(pid: number): string {
  try {
    // Field 22 of /proc/<pid>/stat is the start time in clock ticks; it tells a reused pid apart.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '';
  } catch {
    return '';
  }
}

function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true; // cannot prove a remote holder dead: stay locked
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EPERM') return false;
  }
  const start = processStart(owner.pid);
  return start === '' || owner.start === '' || start === owner.start;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockOwner>;
    if (typeof v.pid === 'number' && typeof v.start === 'string' && typeof v.host === 'string') {
      return { pid: v.pid, start: v.start, host: v.host, ...(typeof v.nonce === 'string' ? { nonce: v.nonce } : {}) };
    }
  } catch {
    // fall through
  }
  return undefined;
}

const errno = (err: unknown) => (err as { code?: string }).code;

/** A file without identity (a crash between create and write, by an older version) is busy this long. */
const UNIDENTIFIED_GRACE_MS = 5000;

/** Age of a file in ms, Infinity when it is gone. */
async function ageOf(path: string): Promise<number> {
  const st = await fsStat(path).catch(() => null);
  return st === null ? Infinity : Date.now() - st.mtimeMs;
}

/** Writes `text` to a fresh private file next to `path` and fsyncs it; returns its name. */
async function writeSibling(path: string, text: string): Promise<string> {
  const tmp = `${path}.${randomBytes(8).toString('hex')}.new`;
  const fh = await fsOpen(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK, 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  return tmp;
}

/**
 * The lock file appears with its whole content or not at all: written aside, then hard-linked to its
 * name (link fails with EEXIST when the name is taken). False when another holder has the name.
 */
async function createWhole(path: string, text: string): Promise<boolean> {
  const tmp = await writeSibling(path, text);
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    if (errno(err) !== 'EPERM' && errno(err) !== 'ENOTSUP' && errno(err) !== 'EOPNOTSUPP') throw err;
    // No hard links on this filesystem: an exclusive create, written at once (identity may lag a moment).
    try {
      const fh = await fsOpen(path, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK);
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      return true;
    } catch (e) {
      if (errno(e) === 'EEXIST') return false;
      throw e;
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

async function readLockText(path: string): Promise<string | undefined> {
  try {
    return await readRegular(path);
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** Claim names for taking over the lock whose text is `staleText`: one live claimant per stale lock. */
function claimPath(path: string, staleText: string, k: number): string {
  return `${path}.takeover-${createHash('sha256').update(staleText).digest('hex').slice(0, 16)}-${k}`;
}

/**
 * Replaces the stale lock (text `staleText`, holder dead) by ours (INV-WRITER-LOCK). Only the process
 * holding the claim file for that stale text (created O_EXCL) may replace it, and it checks under the
 * claim that the lock still holds that exact text: every lock text is unique (a nonce), and a dead
 * holder's lock changes only through its claimant, so the check cannot be stale when the rename lands.
 * A claimant that died leaves its claim: the next claim number is used once its pid is proven dead.
 */
async function takeOver(path: string, staleText: string, myText: string): Promise<boolean> {
  const claims: string[] = [];
  try {
    for (let k = 0; k < 16; k++) {
      const claim = claimPath(path, staleText, k);
      let fh: FileHandle;
      try {
        fh = await fsOpen(claim, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK, 0o644);
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw err;
        const text = await readLockText(claim);
        if (text === undefined) return false; // a claimant just finished: look at the lock again
        const claimant = parseOwner(text);
        const alive = claimant === undefined ? (await ageOf(claim)) < UNIDENTIFIED_GRACE_MS : isAlive(claimant);
        if (alive) throw BatpakError.storeLocked(path, 'another process is taking over a stale lock');
        claims.push(claim);
        continue;
      }
      claims.push(claim);
      try {
        await fh.writeFile(myText);
      } finally {
        await fh.close();
      }
      if ((await readLockText(path)) !== staleText) return false;
      const tmp = await writeSibling(path, myText);
      try {
        await fsRename(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      return true;
    }
    throw BatpakError.storeLocked(path, 'too many abandoned takeover attempts');
  } finally {
    // Safe to drop now: the lock no longer holds the stale text, so a late claimant backs off.
    for (const c of claims) await rm(c, { force: true }).catch(() => undefined);
  }
}
/**
 * Takes the writer lock at `path` for this process: ERR_STORE_LOCKED while a live holder (another
 * process, or this one) has it. A holder proven dead (same host, pid gone or reused) is taken over.
 */
export async function acquireLock(path: string): Promise<FsLock> {
  const abs = resolve(path);
  if (heldLocks.has(abs)) throw BatpakError.storeLocked(abs, 'held by this process');
  const me: LockOwner = { pid: process.pid, start: processStart(process.pid), host: hostname(), nonce: randomBytes(12).toString('hex') };
  const myText = JSON.stringify(me);
  for (let attempt = 0; attempt < 4; attempt++) {
    if (await createWhole(abs, myText)) {
      heldLocks.add(abs);
      return lockHandle(abs, myText);
    }
    // Someone holds (or held) the lock file: is the holder still alive?
    const text = await readLockText(abs);
    if (text === undefined) continue;
    const owner = parseOwner(text);
    if (owner === undefined) {
      // No identity: a holder of an older version mid-creation (fresh), or debris from a crash (old).
      if ((await ageOf(abs)) < UNIDENTIFIED_GRACE_MS) throw BatpakError.storeLocked(abs, 'lock file being created');
    } else if (isAlive(owner)) {
      throw BatpakError.storeLocked(abs, `pid ${owner.pid} on ${owner.host}`);
    }
    if (await takeOver(abs, text, myText)) {
      heldLocks.add(abs);
      return lockHandle(abs, myText);
    }
  }
  throw BatpakError.storeLocked(abs, 'contended');
}

function lockHandle(abs: string, myText: string): FsLock {
  let released = false;
  return {
    path: abs,
    release: async () => {
      if (released) return;
      released = true;
      heldLocks.delete(abs);
      try {
        // Our text is unique: nobody else's lock can match it, so this never removes another holder's.
        if ((await readLockText(abs)) === myText) await rm(abs, { force: true });
      } catch {
        // Already gone or unreadable: nothing to release.
      }
    },
  };
}
