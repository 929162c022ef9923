// Range reads of Rust segments through the Fs interface (never node:fs), refusing short reads.
// Invariant: a short read is an I/O fault, never mistaken for a torn tail that would hide committed events.

import { BatpakError, ioError } from '../errors.js';
import type { Fs } from '../fs/fs.js';
import { openForReading } from '../segment/read.js';

/** Reads `length` bytes at `offset`; fewer bytes back means the file no longer holds them (undefined). */
export async function readRange(fs: Fs, path: string, offset: number, length: number): Promise<Uint8Array | undefined> {
  const file = await openForReading(fs, path);
  try {
    const size = await file.size();
    if (offset + length > size) return undefined;
    const bytes = await file.readAt(offset, length);
    if (bytes.length !== length) throw new BatpakError('ERR_IO', `short read of ${path} at ${offset}`, { details: { file: path, offset } });
    return bytes;
  } catch (err) {
    throw ioError(err, `cannot read ${path} at ${offset}`, { file: path, offset });
  } finally {
    await file.close().catch(() => undefined);
  }
}
