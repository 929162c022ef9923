// What a killed writer leaves behind: writeFileAtomic temp copies of the store's own files. A writable
// open removes them under the writer lock before it reads anything (INV-TEMP-CLEANUP): a keyset temp holds keys.

import { join } from 'node:path';
import { ioError } from '../errors.js';
import { atomicTempTarget } from '../fs/atomic-write.js';
import type { Fs } from '../fs/fs.js';
import { KEYSET_FILE } from '../keyset/keystore.js';
import { CHECKPOINT_FILE } from '../event-index/checkpoint.js';
import { COMPACTION_LOG_FILE } from '../compaction/log.js';
import { MARKER_FILE } from '../compaction/marker.js';

/** What `targets` may be: a set of names, or a test of a name. */
type Targets = ReadonlySet<string> | ((name: string) => boolean);

/**
 * The files the store replaces with writeFileAtomic; only the lock holder ever writes them. Sealed
 * segments' index files (`NNNNNN.bpi`) are written the same way (store/index-files.ts).
 */
const ATOMIC_FILES: Targets = (name) => name === KEYSET_FILE || name === CHECKPOINT_FILE || name === COMPACTION_LOG_FILE || name === MARKER_FILE || /^\d+\.bpi$/.test(name);

/** Temp names in `names` that stand in for one of `targets`. */
export function leftoverTemps(names: readonly string[], targets: Targets = ATOMIC_FILES): string[] {
  const isTarget = typeof targets === 'function' ? targets : (n: string) => targets.has(n);
  return names.filter((n) => {
    const target = atomicTempTarget(n);
    return target !== undefined && isTarget(target);
  });
}

/**
 * Removes the temp files of `targets` in `dir`, durably. Call only while no writer of those files can be
 * running (the writer lock is held and this process has not started writing): a removed temp cannot be
 * an in-flight write. Returns the names removed.
 */
export async function removeLeftoverTemps(fs: Fs, dir: string, targets: Targets = ATOMIC_FILES): Promise<string[]> {
  try {
    const victims = leftoverTemps(await fs.readdir(dir), targets);
    for (const name of victims) await fs.remove(join(dir, name), { force: true });
    if (victims.length > 0) await fs.syncDir(dir);
    return victims;
  } catch (err) {
    throw ioError(err, `cannot remove leftover temp files in ${dir}`, { file: dir });
  }
}
