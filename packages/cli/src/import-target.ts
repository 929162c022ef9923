// The native store `batpak import` writes into: checked before the long read of the Rust source, opened with the writer lock only when the first chunk is ready.
// Invariant: nothing is created or written in the target until the source has verified and been planned; a target that already has events is refused unless --append, checked again under the lock.

import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Store, type AppendReceipt, type RustImportEvent, type RustImportTarget } from '@batpak/core';
import { CliError } from './exit.js';
import { KEYSET_FILE_NAME } from './keyset-file.js';
import { inspectDir } from './rust-dir.js';

/** Where a path is, or will be once created: the real path of its deepest existing ancestor plus the rest (symlinks cannot smuggle it elsewhere). */
export async function landingPath(path: string): Promise<string> {
  const rest: string[] = [];
  let cur = resolve(path);
  for (;;) {
    try {
      return join(await realpath(cur), ...rest.reverse());
    } catch {
      const parent = dirname(cur);
      if (parent === cur) return resolve(path);
      rest.push(basename(cur));
      cur = parent;
    }
  }
}

export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function notEmpty(dir: string, what: string, store: boolean): CliError {
  return new CliError('ERR_TARGET_NOT_EMPTY', `${dir} ${what}; import into a new or empty directory${store ? ', or pass --append to add to this store' : ''}`);
}

/**
 * Refuses, before any work, a target the import must not write into: a Rust directory, a file, an
 * encrypting store (importEvents keeps payload bytes, so it cannot seal them), a directory with
 * unrelated files, or — without --append — a store that already has events.
 */
export async function checkImportTarget(dir: string, append: boolean): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  if (st === undefined) return;
  if (!st.isDirectory()) throw CliError.usage(`${dir} exists and is not a directory`);
  const contents = await inspectDir(dir);
  if (contents.format === 'rust-batpak') throw CliError.usage(`${dir} is a Rust batpak directory: the import writes a native store and never writes into a Rust directory`);
  if (contents.names.length === 0) return;
  if (contents.names.includes(KEYSET_FILE_NAME)) {
    throw new CliError('ERR_TARGET_ENCRYPTED', `${dir} uses payload encryption (${KEYSET_FILE_NAME}): an import keeps payload bytes and content hashes as Rust wrote them, so it cannot go into an encrypting store`);
  }
  if (contents.nativeSegments === 0) throw notEmpty(dir, 'is neither empty nor a batpak store', false);
  // A first look without the lock, so a refusal costs no wait; the writable open checks again under it.
  const store = await Store.openReadOnly(dir);
  const events = store.stats().events;
  await store.close();
  if (events > 0n && !append) throw notEmpty(dir, `already holds ${events} event${events === 1n ? '' : 's'}`, true);
}

/** A RustImportTarget over a native store that is opened (and locked) on the first chunk, not before. */
export class ImportTarget implements RustImportTarget {
  readonly #dir: string;
  readonly #append: boolean;
  readonly #signingKey: Uint8Array | undefined;
  readonly #errors = new WeakSet<object>();
  #store: Store | undefined;
  #before = 0n;

  constructor(dir: string, options: { append: boolean; signingKey?: Uint8Array }) {
    this.#dir = dir;
    this.#append = options.append;
    this.#signingKey = options.signingKey;
  }

  /** Whether `err` came from the target (so an ERR_CORRUPT_SEGMENT of ours is not blamed on the Rust source). */
  owns(err: unknown): boolean {
    return typeof err === 'object' && err !== null && this.#errors.has(err);
  }

  async open(): Promise<Store> {
    if (this.#store !== undefined) return this.#store;
    // No payloadEncryption, whatever the directory holds: checkImportTarget refused an encrypting store.
    const store = await Store.open({ dir: this.#dir, ...(this.#signingKey === undefined ? {} : { signingKey: this.#signingKey }) });
    const events = store.stats().events;
    if (events > 0n && !this.#append) {
      // Someone appended between the first look and the lock.
      await store.close();
      throw notEmpty(this.#dir, `already holds ${events} event${events === 1n ? '' : 's'}`, true);
    }
    this.#before = events;
    this.#store = store;
    return store;
  }

  async importEvents(events: readonly RustImportEvent[], options: { readonly signal?: AbortSignal } = {}): Promise<AppendReceipt[]> {
    try {
      return await (await this.open()).importEvents(events, options);
    } catch (err) {
      if (typeof err === 'object' && err !== null) this.#errors.add(err);
      throw err;
    }
  }

  /** Events this import committed (whole chunks: importEvents is atomic per call). */
  committed(): bigint {
    return this.#store === undefined ? 0n : this.#store.stats().events - this.#before;
  }

  async close(): Promise<void> {
    const store = this.#store;
    this.#store = undefined;
    await store?.close();
  }
}
