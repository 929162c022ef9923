// KeyStore: where the keyset image lives. The default is a file in the data directory, rewritten
// atomically through Fs; an embedder may keep keys elsewhere (a separate volume, a KMS-backed store).

import { ioError } from '../errors.js';
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

  async persist(image: Uint8Array): Promise<void> {
    try {
      await this.#fs.writeFileAtomic(this.name, image);
    } catch (err) {
      throw ioError(err, `cannot persist keyset ${this.name}`, { file: this.name });
    }
  }
}
