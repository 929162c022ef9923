// Opening a store the way each command needs it: read-only beside a live writer, or writable (the writer lock), with the keyset found on its own;
// and, for verify and inspect, either format as one EventLog (openLog).
// Invariant: a CLI command never creates a store by accident — every command except `serve` (and `import`, for its new target) refuses a
// directory that does not exist (exit 2); and a Rust batpak directory is never opened as ours (INV-RUST-READ-VERIFY: never written).

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FileKeyStore, RealFs, Store, type KeyGranularity, type StoreOptions } from '@batpak/core';
import { openRustStore, type RustStore } from '@batpak/core/rust';
import type { FlagSpec, ParsedArgs } from './args.js';
import { CliError, codeOfErrno, errnoOf, messageOf } from './exit.js';
import { GRANULARITIES, KEYSET_FILE_NAME, peekKeyset } from './keyset-file.js';
import { formatOf, type StoreFormat } from './rust-dir.js';

/** How to reach an encrypted store's keys. */
export interface StoreAccess {
  /** Force payload encryption on even without a keyset file in the directory. */
  readonly encrypted: boolean;
  readonly granularity?: KeyGranularity;
  /** A keyset kept outside the directory. */
  readonly keyset?: string;
}

export const ENCRYPTION_FLAGS: readonly FlagSpec[] = [
  { name: 'encrypted', type: 'boolean', help: 'the store uses payload encryption (detected when <dir>/keyset.bpk exists)' },
  { name: 'granularity', type: 'string', value: 'g', help: 'key granularity: entity | category | type | event (default: read from the keyset)' },
  { name: 'keyset', type: 'string', value: 'file', help: 'keyset file kept outside the directory' },
];

export function storeAccess(args: ParsedArgs): StoreAccess {
  const g = args.string('granularity');
  if (g !== undefined && !GRANULARITIES.includes(g as KeyGranularity)) {
    throw CliError.usage(`--granularity must be one of ${GRANULARITIES.join(', ')}, got ${JSON.stringify(g)}`);
  }
  const keyset = args.string('keyset');
  return { encrypted: args.bool('encrypted'), ...(g === undefined ? {} : { granularity: g as KeyGranularity }), ...(keyset === undefined ? {} : { keyset }) };
}

/**
 * Whether something is at `path`. Only "no such file" is false: a path that cannot be examined (no
 * permission, a symlink loop) is an error with its own code, never taken for an absent keyset.
 */
async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    const errno = errnoOf(err);
    if (errno === 'ENOENT') return false;
    if (errno === undefined) throw err;
    throw new CliError(codeOfErrno(errno), `cannot examine ${path}: ${messageOf(err)}`, { cause: err });
  }
}

/** ERR_NOT_FOUND (exit 2) unless `dir` is an existing directory; a directory that cannot be examined says why. */
export async function requireStoreDir(dir: string): Promise<void> {
  let st;
  try {
    st = await stat(dir);
  } catch (err) {
    const errno = errnoOf(err);
    if (errno === 'ENOENT' || errno === undefined) throw new CliError('ERR_NOT_FOUND', `no store directory at ${dir}`, { cause: err });
    throw new CliError(codeOfErrno(errno), `cannot examine ${dir}: ${messageOf(err)}`, { cause: err });
  }
  if (!st.isDirectory()) throw new CliError('ERR_NOT_FOUND', `${dir} is not a directory`);
}

/** Whether the store has a keyset to load (or was declared encrypted), and with which granularity. */
export async function encryptionOf(dir: string, access: StoreAccess): Promise<StoreOptions['payloadEncryption'] | undefined> {
  const keysetPath = access.keyset ?? join(dir, KEYSET_FILE_NAME);
  const present = await exists(keysetPath);
  if (!present && !access.encrypted) return undefined;
  if (access.keyset !== undefined && !present) throw new CliError('ERR_NOT_FOUND', `no keyset file at ${access.keyset}`);
  // The file names its own granularity; an explicit --granularity is checked against it by the store.
  const granularity = access.granularity ?? (await peekKeyset(keysetPath))?.granularity ?? 'entity';
  return { granularity, ...(access.keyset === undefined ? {} : { keyStore: new FileKeyStore(new RealFs(), access.keyset) }) };
}

export interface OpenOptions {
  readonly readOnly: boolean;
  readonly access: StoreAccess;
  readonly trustedPublicKeys?: readonly Uint8Array[];
  readonly signingKey?: Uint8Array;
  readonly onWarning?: (message: string) => void;
}

export async function openStore(dir: string, options: OpenOptions): Promise<Store> {
  // Opened as ours, a Rust directory reads as an empty store, and a writable open would create a segment and
  // a lock file inside it. verify and inspect detect it before they get here; every other command refuses it.
  if ((await stat(dir).catch(() => undefined))?.isDirectory() === true && (await formatOf(dir)) === 'rust-batpak') {
    throw new CliError(
      'ERR_RUST_DIRECTORY',
      `${dir} is a Rust batpak directory: this command works on batpak stores only (verify and inspect read it; \`batpak import\` copies it into a new store)`,
    );
  }
  const payloadEncryption = await encryptionOf(dir, options.access);
  const opts: Omit<StoreOptions, 'dir' | 'readOnly'> = {
    ...(payloadEncryption === undefined ? {} : { payloadEncryption }),
    ...(options.trustedPublicKeys === undefined || options.trustedPublicKeys.length === 0 ? {} : { trustedPublicKeys: options.trustedPublicKeys }),
    ...(options.signingKey === undefined ? {} : { signingKey: options.signingKey }),
    ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
  };
  return options.readOnly ? Store.openReadOnly(dir, opts) : Store.open({ dir, ...opts });
}


/** A data directory opened for reading: its EventLog, and the store itself for what only its format has. */
export type OpenedLog = { readonly format: 'native'; readonly log: Store } | { readonly format: 'rust-batpak'; readonly log: RustStore };

export interface OpenLogOptions {
  readonly access: StoreAccess;
  readonly trustedPublicKeys?: readonly Uint8Array[];
  /** Receives what the store warns about: our store's warnings as they come, a Rust reader's once it opened. */
  readonly onWarning?: (message: string) => void;
  /** Aborts the Rust reader's opening scan. */
  readonly signal?: AbortSignal;
}

/**
 * Opens `dir` read-only in its own format (formatOf): ours through openStore, a Rust batpak directory through
 * core's Rust reader (no lock, nothing written). A damaged segment that stops the open is ERR_CORRUPT_SEGMENT.
 */
export async function openLog(dir: string, format: StoreFormat, options: OpenLogOptions): Promise<OpenedLog> {
  if (format === 'native') {
    const { access, trustedPublicKeys, onWarning } = options;
    return { format, log: await openStore(dir, { readOnly: true, access, ...(trustedPublicKeys === undefined ? {} : { trustedPublicKeys }), ...(onWarning === undefined ? {} : { onWarning }) }) };
  }
  const log = await openRustStore(dir, options.signal === undefined ? {} : { signal: options.signal });
  for (const w of log.warnings) options.onWarning?.(w);
  return { format, log };
}
