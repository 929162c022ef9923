// A read-only open beside a writer in another process that may compact meanwhile: the open is retried
// until no compaction step happened while it ran, so it never mixes old and new segments (INV-READER-CONSISTENT).

import { join } from 'node:path';
import { BatpakError, ioError } from '../errors.js';
import type { Fs } from '../fs/fs.js';
import { MARKER_FILE } from '../compaction/marker.js';
import { COMPACTION_LOG_FILE } from '../compaction/log.js';
import { STAGING_SUFFIX } from '../compaction/swap.js';

/** Attempts before giving up on a store that compacts during every one of them. */
const ATTEMPTS = 25;

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

/**
 * Runs `open` (which must pin every segment it indexed by holding its handle) until a compaction stamp
 * taken before and after it agree. A failure with an unchanged stamp is genuine and thrown at once; one
 * during which the directory changed (a segment vanished, a merged file replaced its first source) is retried.
 */
export async function openConsistent<T extends { close(): Promise<void> }>(fs: Fs, dir: string, open: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const before = await compactionStamp(fs, dir);
    let opened: T;
    try {
      opened = await open();
    } catch (err) {
      const after = await compactionStamp(fs, dir).catch(() => before);
      if (after === before || attempt >= ATTEMPTS) throw err;
      await pause(attempt);
      continue;
    }
    if ((await compactionStamp(fs, dir).catch(() => undefined)) === before) return opened;
    await opened.close().catch(() => undefined);
    if (attempt >= ATTEMPTS) {
      throw new BatpakError('ERR_IO', `the store in ${dir} was compacted during each of ${ATTEMPTS} read-only open attempts`, { details: { file: dir } });
    }
    await pause(attempt);
  }
}

/** A short, growing pause: a compaction's steps take milliseconds. */
function pause(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(5 * attempt, 50)));
}
