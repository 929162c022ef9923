// Reading the files of a store directory the way core's RealFs does: without blocking, and regular files only.
// Invariant (INV-HOSTILE-FILES): a FIFO, socket or device where a segment or keyset belongs is refused (ERR_NOT_REGULAR_FILE, exit 2), never read — it could hang the command forever.

import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { CliError } from './exit.js';

/** Opens `path` read-only without blocking (O_NONBLOCK) and refuses anything but a regular file. */
export async function openRegular(path: string): Promise<FileHandle> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (st.isFile()) return fh;
    const what = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device or other special file';
    throw new CliError('ERR_NOT_REGULAR_FILE', `${path} is ${what}, not a regular file: refused`);
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/** The whole content of a regular file (see openRegular). */
export async function readRegularFile(path: string): Promise<Uint8Array> {
  const fh = await openRegular(path);
  try {
    return new Uint8Array(await fh.readFile());
  } finally {
    await fh.close();
  }
}
