// Whole-file and prefix reads through Fs, refusing short reads: a short read must never be mistaken
// for a torn tail (which recovery would cut) or a missing event.

import { BatpakError, ioError } from '../errors.js';
import type { Fs, FsFile } from '../fs/fs.js';

/** Opens `path` for reading; a failure is ERR_IO naming the file (whatever the Fs threw is its cause). */
export async function openForReading(fs: Pick<Fs, 'open'>, path: string): Promise<FsFile> {
  try {
    return await fs.open(path);
  } catch (err) {
    throw ioError(err, `cannot open ${path}`, { file: path });
  }
}

/** Reads `[0, length)` of a file, or the whole file when `length` is undefined. */
export async function readPrefix(fs: Fs, path: string, length?: number): Promise<Uint8Array> {
  const file = await openForReading(fs, path);
  try {
    const size = await file.size();
    const want = length === undefined ? size : Math.min(length, size);
    const bytes = await file.readAt(0, want);
    if (bytes.length !== want) {
      throw new BatpakError('ERR_IO', `short read of ${path}: ${bytes.length} of ${want} bytes`, { details: { file: path } });
    }
    // A file shorter than `length` (bytes cut after the index was built) returns what is there;
    // the caller reports the events it cannot find.
    return bytes;
  } catch (err) {
    throw ioError(err, `cannot read ${path}`, { file: path });
  } finally {
    await file.close().catch(() => undefined);
  }
}
