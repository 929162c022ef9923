// An Fs for @batpak/core that forwards to RealFs and counts (and times) fsyncs and gathered writes: batpak's fsyncs/event is measured.
// Invariant: behaviour is RealFs's exactly (every call forwarded, same results and errors); only counters are added.

import { performance } from 'node:perf_hooks';
import { RealFs } from '@batpak/core';

export class CountingFs {
  #inner = new RealFs();
  /**
   * Sync points: fdatasync of segment/keyset files (FsFile.fsync), and appends through a handle whose appends are
   * durable by themselves (FsFile.appendsDurable: O_DSYNC, the write is the sync), so fsyncs/event stays comparable.
   */
  fsyncs = 0;
  /** directory fsyncs (creates, renames). */
  dirSyncs = 0;
  /** gathered appends (one writev each, plus a retry on a short write). */
  appends = 0;
  /** positioned writes (writeAt) and atomic file replacements. */
  writes = 0;
  /** Wall time (ms) spent awaiting appends and fsyncs: the rest of a group's cycle is CPU in the store. */
  appendMs = 0;
  fsyncMs = 0;

  reset() {
    this.fsyncs = 0;
    this.dirSyncs = 0;
    this.appends = 0;
    this.writes = 0;
    this.appendMs = 0;
    this.fsyncMs = 0;
  }

  async open(path, options) {
    const f = await this.#inner.open(path, options);
    const self = this;
    return {
      path: f.path,
      appendsDurable: f.appendsDurable === true,
      readAt: (position, length) => f.readAt(position, length),
      // The hint (AppendHint) passes through: it decides whether RealFs writes the group on the calling thread.
      async append(chunks, hint) {
        self.appends++;
        if (f.appendsDurable === true) self.fsyncs++;
        const t0 = performance.now();
        try {
          return await f.append(chunks, hint);
        } finally {
          self.appendMs += performance.now() - t0;
        }
      },
      writeAt(position, data) {
        self.writes++;
        return f.writeAt(position, data);
      },
      async fsync() {
        self.fsyncs++;
        const t0 = performance.now();
        try {
          return await f.fsync();
        } finally {
          self.fsyncMs += performance.now() - t0;
        }
      },
      truncate: (length) => f.truncate(length),
      size: () => f.size(),
      close: () => f.close(),
      // Zero-filling ahead of a durable segment's data (FsFile.preallocate): passed through, counted as a write.
      ...(f.preallocate === undefined
        ? {}
        : {
            preallocate(length) {
              self.writes++;
              return f.preallocate(length);
            },
          }),
    };
  }

  stat(path) {
    return this.#inner.stat(path);
  }
  readdir(path) {
    return this.#inner.readdir(path);
  }
  mkdir(path, options) {
    return this.#inner.mkdir(path, options);
  }
  rename(from, to) {
    return this.#inner.rename(from, to);
  }
  remove(path, options) {
    return this.#inner.remove(path, options);
  }
  syncDir(path) {
    this.dirSyncs++;
    return this.#inner.syncDir(path);
  }
  writeFileAtomic(path, data) {
    // temp write + fsync + rename + directory fsync, counted as one write, one fsync, one dir sync.
    this.writes++;
    this.fsyncs++;
    this.dirSyncs++;
    return this.#inner.writeFileAtomic(path, data);
  }
  lock(path) {
    return this.#inner.lock(path);
  }
}
