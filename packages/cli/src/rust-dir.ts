// Which kind of data directory a path holds — ours (`NNNNNN.bps` segments) or Rust batpak's (`{id:06}.fbat`) — and what the CLI may do to a Rust one.
// Invariant (INV-RUST-READ-VERIFY): a Rust directory is only ever read (core's openRustStore: no lock, no write); the CLI never opens one as a native store.

import { readdir } from 'node:fs/promises';
import type { ParsedArgs } from './args.js';
import { CliError } from './exit.js';

export type StoreFormat = 'native' | 'rust-batpak';

// Deliberately broader than core's parseSegmentFileName (6-10 digits, id 1..MAX_SEGMENT_ID, canonical
// zero padding): this only asks which implementation wrote into the directory, so a native-looking name
// the store would report as stray (`000000.bps`, 11 digits) still counts as ours when refusing a
// directory that mixes both formats, rather than being ignored beside Rust segments.
const NATIVE_SEGMENT = /^\d{6,}\.bps$/;
// Rust names segments `{id:06}` but reads any base-10 u64 stem (RUST-INTEROP.md § Files read).
const RUST_SEGMENT = /^\d+\.fbat$/;
/**
 * Files only Rust batpak writes. A Rust directory without segments (mid-compaction, or emptied by hand)
 * is still Rust's: opening it as a native store would create `000001.bps` inside it. `.batpak.lock` is not
 * here: both implementations use that name.
 */
const RUST_ONLY_FILES = new Set(['store.meta', 'index.ckpt', 'index.fbati', 'index.idemp', 'keyset.fbatk', 'visibility_ranges.fbv', 'compaction.pending', 'compaction.pending.json']);

export interface DirContents {
  readonly format: StoreFormat;
  readonly nativeSegments: number;
  readonly rustSegments: number;
  /** Every name in the directory (for "is it empty?"). */
  readonly names: readonly string[];
}

/** Classifies an existing directory by its files; refuses one holding segments of both formats. */
export async function inspectDir(dir: string): Promise<DirContents> {
  const names = await readdir(dir);
  const nativeSegments = names.filter((n) => NATIVE_SEGMENT.test(n)).length;
  const rustSegments = names.filter((n) => RUST_SEGMENT.test(n)).length;
  if (nativeSegments > 0 && rustSegments > 0) {
    // Guessing would either write a native segment into a Rust directory or hide half the data.
    throw new CliError('ERR_AMBIGUOUS_FORMAT', `${dir} holds both batpak segments (*.bps) and Rust batpak segments (*.fbat); separate them first`);
  }
  const rust = rustSegments > 0 || (nativeSegments === 0 && names.some((n) => RUST_ONLY_FILES.has(n)));
  return { format: rust ? 'rust-batpak' : 'native', nativeSegments, rustSegments, names };
}

export async function formatOf(dir: string): Promise<StoreFormat> {
  return (await inspectDir(dir)).format;
}

/**
 * Flags that mean something only for our own stores: refused for a Rust directory rather than silently
 * ignored, so a compliance job never believes it checked signatures or receipts that were not checked.
 */
const NATIVE_ONLY: Readonly<Record<string, string>> = {
  'public-key': 'Rust batpak persists no signatures in its segments',
  receipts: "Rust receipts use Rust's own cover: check them with verifyRustReceiptClaim from @batpak/core",
  encrypted: 'the Rust keyset (keyset.fbatk) is not read; sealed payloads are verified as the ciphertext they are stored as',
  granularity: 'the Rust keyset (keyset.fbatk) is not read',
  keyset: 'the Rust keyset (keyset.fbatk) is not read',
  expect: 'attestations cover batpak stores only (Rust receipts use another cover)',
};

export function refuseNativeOnlyFlags(args: ParsedArgs, dir: string): void {
  for (const [flag, why] of Object.entries(NATIVE_ONLY)) {
    if (args.has(flag)) throw CliError.usage(`--${flag} does not apply to the Rust batpak directory ${dir}: ${why}`);
  }
}
