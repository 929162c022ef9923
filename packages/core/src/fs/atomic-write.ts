// writeFileAtomic spelled out as ordinary Fs calls — temp file, write, fsync, close, rename, directory
// fsync — for the Fs implementations that model each step, so a fault or a crash can land between any two.

import { posix } from 'node:path';
import type { Fs } from './fs.js';

const TEMP_INFIX = '.tmp-';

/**
 * The one temp-file name of writeFileAtomic, for every Fs: `.<name>.tmp-<tag>` beside `path`. One grammar
 * so an open can find what a killed writer left (INV-TEMP-CLEANUP): a keyset temp holds live keys.
 */
export function atomicTempPath(path: string, tag: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}${TEMP_INFIX}${tag}`;
}

/** The file name a writeFileAtomic temp stands in for (`keyset.bpk` for `.keyset.bpk.tmp-…`), or undefined. */
export function atomicTempTarget(name: string): string | undefined {
  if (!name.startsWith('.')) return undefined;
  const at = name.indexOf(TEMP_INFIX, 1);
  if (at <= 1 || at + TEMP_INFIX.length === name.length) return undefined;
  const target = name.slice(1, at);
  return posix.basename(target) === target ? target : undefined;
}

/**
 * Publishes `data` at `path` through `tmp` (in `dir`, the directory fsynced last). On failure the temp
 * file is removed (best effort) and the step's own error is thrown; `path` is untouched unless the
 * rename happened. `durable: false` skips both fsyncs, for derived files a crash may tear or lose because
 * every reader checks them and rebuilds them (the segment index files).
 */
export async function writeFileAtomicSteps(
  fs: Pick<Fs, 'open' | 'rename' | 'remove' | 'syncDir'>,
  path: string,
  tmp: string,
  dir: string,
  data: Uint8Array,
  durable = true,
): Promise<void> {
  const file = await fs.open(tmp, { create: true, exclusive: true });
  try {
    await file.writeAt(0, data);
    if (durable) await file.fsync();
  } catch (err) {
    await file.close().catch(() => undefined);
    await fs.remove(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await file.close();
  try {
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.remove(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  if (durable) await fs.syncDir(dir);
}
