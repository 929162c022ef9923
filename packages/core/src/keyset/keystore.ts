// KeyStore: where the keyset image lives. The default is a file in the data directory, rewritten
// atomically through Fs; an embedder may keep keys elsewhere (a separate volume, a KMS-backed store).

import { basename, dirname, join } from 'node:path';
import { ioError } from '../errors.js';
import { atomicTempTarget } from '../fs/atomic-write.js';
import type { Fs } from '../fs/fs.js';
import { readPrefix } from '../segment/read.js';

export interface KeyStore {
  /** A name for messages (a path, a URL). */
  readonly name: string;
  /** The last persisted image, or undefined when none was ever persisted. Throws on I/O failure. */
  load(): Promise<Uint8Array | undefined>;
  /** Replaces the image atomically and durably: after a crash, load() returns the old or the new one. */
  persist(image: Uint8Array): Promise<void>;
}

export const KEYSET_FILE = 'keyset.bpk';

export class FileKeyStore implements KeyStore {
  readonly name: string;
  readonly #fs: Fs;
  /**
   * A temp copy of an older image may sit beside the file: left by a killed process, or by a persist of
   * ours that failed before it could remove its temp. Until a scan proves otherwise, assume one does.
   */
  #mayHaveCopies = true;

  constructor(fs: Fs, path: string) {
    this.#fs = fs;
    this.name = path;
  }

  async load(): Promise<Uint8Array | undefined> {
    let st;
    try {
      st = await this.#fs.stat(this.name);
    } catch (err) {
      throw ioError(err, `cannot stat keyset ${this.name}`, { file: this.name });
    }
    if (st === null) return undefined;
    return readPrefix(this.#fs, this.name);
  }

  /**
   * Replaces the image, then removes every other copy of an image beside it (INV-SHRED-NO-COPIES): a
   * persist that records a destroyed key does not return while an older temp could still hold that key.
   * Persists are serialized by the keyset, and only the writer-lock holder persists, so every temp found
   * after our own write landed is debris.
   */
  async persist(image: Uint8Array): Promise<void> {
    try {
      await this.#fs.writeFileAtomic(this.name, image);
    } catch (err) {
      this.#mayHaveCopies = true;
      throw ioError(err, `cannot persist keyset ${this.name}`, { file: this.name });
    }
    if (!this.#mayHaveCopies) return;
    const dir = dirname(this.name);
    const own = basename(this.name);
    try {
      const copies = (await this.#fs.readdir(dir)).filter((n) => atomicTempTarget(n) === own);
      for (const n of copies) await this.#fs.remove(join(dir, n), { force: true });
      if (copies.length > 0) await this.#fs.syncDir(dir);
    } catch (err) {
      throw ioError(err, `cannot remove an old copy of keyset ${this.name}`, { file: this.name });
    }
    this.#mayHaveCopies = false;
  }
}
