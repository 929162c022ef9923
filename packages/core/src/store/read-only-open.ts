// A read-only open beside a writer in another process that may compact meanwhile: it first pins (opens)
// every file of one consistent listing, then indexes through those pins only (INV-READER-CONSISTENT).

import { join } from 'node:path';
import { BatpakError, errnoOf, ioError } from '../errors.js';
import type { Fs, FsFile, FsLock, FsOpenOptions, FsStat } from '../fs/fs.js';
import { borrowedFile } from '../fs/borrowed.js';
import { MARKER_FILE } from '../compaction/marker.js';
import { COMPACTION_LOG_FILE } from '../compaction/log.js';
import { STAGING_SUFFIX } from '../compaction/swap.js';
import { CHECKPOINT_FILE } from '../event-index/checkpoint.js';
import { parseSegmentFileName } from '../segment/format.js';

/** Attempts at a quiet moment before giving up on a store that compacts during every one of them. */
const ATTEMPTS = 50;

/**
 * What changes at every step of a compaction: a staging file appears, the marker appears, the staging
 * name goes (the swap), compaction.log grows (after the sources are removed), the marker goes. Rotation
 * and appends do not change it: a reader simply does not see segments created after its listing.
 */
export async function compactionStamp(fs: Fs, dir: string): Promise<string> {
  try {
    const names = await fs.readdir(dir);
    const steps = names.filter((n) => n === MARKER_FILE || n.endsWith(STAGING_SUFFIX));
    const log = names.includes(COMPACTION_LOG_FILE) ? await fs.stat(join(dir, COMPACTION_LOG_FILE)) : null;
    return JSON.stringify([steps, log?.size ?? -1]);
  } catch (err) {
    throw ioError(err, `cannot list ${dir}`, { file: dir });
  }
}

/** The files a compaction replaces or removes, and the ones that describe it: what a reader pins. */
function pinned(name: string): boolean {
  return (
    parseSegmentFileName(name) !== undefined ||
    name.endsWith(STAGING_SUFFIX) ||
    name === MARKER_FILE ||
    name === COMPACTION_LOG_FILE ||
    name === CHECKPOINT_FILE
  );
}

/**
 * An Fs whose read-only opens of pinned paths return the pinned handles: the files as they were at the
 * pinning, whatever a compaction renamed or removed since. Everything else goes to the inner Fs.
 */
export class PinnedFs implements Fs {
  constructor(
    private readonly inner: Fs,
    private readonly dir: string,
    private readonly pins: ReadonlyMap<string, FsFile>,
  ) {}

  /** The Fs the unpinned calls go to. */
  get base(): Fs {
    return this.inner;
  }

  open(path: string, options?: FsOpenOptions): Promise<FsFile> {
    const pin = options === undefined || (options.write !== true && options.create !== true) ? this.pins.get(path) : undefined;
    return pin === undefined ? this.inner.open(path, options) : Promise.resolve(borrowedFile(pin));
  }
  async stat(path: string): Promise<FsStat | null> {
    const pin = this.pins.get(path);
    if (pin === undefined) return this.inner.stat(path);
    return { size: await pin.size(), isFile: true, isDirectory: false };
  }
  /**
   * The pinned listing of the store's directory: names that vanished since are still there, names that
   * appeared are not. Any other directory (a snapshot's destination) is listed as it is.
   */
  async readdir(path: string): Promise<string[]> {
    const names = await this.inner.readdir(path);
    if (path !== this.dir) return names;
    const out = new Set(names.filter((n) => !pinned(n)));
    for (const p of this.pins.keys()) if (join(path, p.slice(p.lastIndexOf('/') + 1)) === p) out.add(p.slice(p.lastIndexOf('/') + 1));
    return [...out].sort();
  }
  mkdir(path: string, options?: { readonly recursive?: boolean }): Promise<void> {
    return this.inner.mkdir(path, options);
  }
  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }
  remove(path: string, options?: { readonly force?: boolean }): Promise<void> {
    return this.inner.remove(path, options);
  }
  syncDir(path: string): Promise<void> {
    return this.inner.syncDir(path);
  }
  writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    return this.inner.writeFileAtomic(path, data);
  }
  lock(path: string): Promise<FsLock> {
    return this.inner.lock(path);
  }
}

async function closeAll(pins: Map<string, FsFile>): Promise<void> {
  for (const f of pins.values()) await f.close().catch(() => undefined);
  pins.clear();
}

/**
 * Pins every file of one listing during which no compaction step happened (a short window: a listing
 * and one open per file), then runs `open` over a PinnedFs. `open` receives the Fs to use and a release
 * that closes the pins; the store calls it at close (or the open fails and it is called here).
 */
export async function openConsistent<T>(fs: Fs, dir: string, open: (pinnedFs: Fs, release: FsLock) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const pins = new Map<string, FsFile>();
    const before = await compactionStamp(fs, dir);
    let vanished = false;
    try {
      for (const name of await fs.readdir(dir)) {
        if (!pinned(name)) continue;
        const path = join(dir, name);
        try {
          pins.set(path, await fs.open(path));
        } catch (err) {
          // Removed between the listing and the open: a compaction step ran, try again.
          if (errnoOf(err) !== 'ENOENT') throw err;
          vanished = true;
          break;
        }
      }
    } catch (err) {
      await closeAll(pins);
      throw ioError(err, `cannot open the files of ${dir}`, { file: dir });
    }
    if (!vanished && (await compactionStamp(fs, dir)) === before) {
      const release: FsLock = { path: dir, release: () => closeAll(pins) };
      try {
        return await open(new PinnedFs(fs, dir, pins), release);
      } catch (err) {
        await closeAll(pins);
        throw err;
      }
    }
    await closeAll(pins);
    if (attempt >= ATTEMPTS) {
      throw new BatpakError('ERR_IO', `the store in ${dir} was compacted during each of ${ATTEMPTS} read-only open attempts`, { details: { file: dir } });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(2 * attempt, 20)));
  }
}
