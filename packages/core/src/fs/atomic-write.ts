// writeFileAtomic spelled out as ordinary Fs calls — temp file, write, fsync, close, rename, directory
// fsync — for the Fs implementations that model each step, so a fault or a crash can land between any two.

import type { Fs } from './fs.js';

/**
 * Publishes `data` at `path` through `tmp` (in `dir`, the directory fsynced last). On failure the temp
 * file is removed (best effort) and the step's own error is thrown; `path` is untouched unless the
 * rename happened.
 */
export async function writeFileAtomicSteps(
  fs: Pick<Fs, 'open' | 'rename' | 'remove' | 'syncDir'>,
  path: string,
  tmp: string,
  dir: string,
  data: Uint8Array,
): Promise<void> {
  const file = await fs.open(tmp, { create: true, exclusive: true });
  try {
    await file.writeAt(0, data);
    await file.fsync();
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
  await fs.syncDir(dir);
}
