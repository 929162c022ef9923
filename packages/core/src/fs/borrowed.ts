// A borrowed view of an open file: every call goes to the file, but close() leaves it open.
// Readers hand these out so a caller's close cannot drop a handle pinned against compaction (INV-READER-CONSISTENT).

import type { FsFile } from './fs.js';

export function borrowedFile(file: FsFile): FsFile {
  return {
    path: file.path,
    readAt: (position, length) => file.readAt(position, length),
    ...(file.readInto === undefined ? {} : { readInto: (position: number, target: Uint8Array) => file.readInto!(position, target) }),
    append: (chunks, hint) => file.append(chunks, hint),
    writeAt: (position, data) => file.writeAt(position, data),
    fsync: () => file.fsync(),
    truncate: (length) => file.truncate(length),
    size: () => file.size(),
    close: async () => undefined,
    ...(file.appendsDurable === undefined ? {} : { appendsDurable: file.appendsDurable }),
    ...(file.preallocate === undefined ? {} : { preallocate: (length: number) => file.preallocate!(length) }),
  };
}
