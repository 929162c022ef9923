// What `keyset.bpk` says about itself (FORMAT.md § Keyset): its granularity and how many keys it lists — never a key byte.
// Invariant: a peek never decides validity; the store's own load still checks magic, version, CRC and fails closed with ERR_CORRUPT_KEYSET.

import type { KeyGranularity } from '@batpak/core';
import { decodeCanonical } from '@batpak/core/canonical';
import { GRANULARITY_OF_CODE, KEYSET_FILE, KEYSET_HEADER_BYTES, KEYSET_MAGIC } from '@batpak/core/format';
import { readRegularFile } from './files.js';

export const KEYSET_FILE_NAME = KEYSET_FILE;

const startsWithMagic = (b: Uint8Array): boolean => KEYSET_MAGIC.every((m, i) => b[i] === m);

export interface KeysetPeek {
  readonly granularity: KeyGranularity;
  /** Live keys (scope, generation) listed. */
  readonly live: number;
  /** Destroyed generations listed (shredded scopes). */
  readonly destroyed: number;
}

/** The keyset's self-description, or undefined when the file is absent or does not parse. */
export async function peekKeyset(path: string): Promise<KeysetPeek | undefined> {
  let bytes: Uint8Array;
  try {
    // Never blocks on a FIFO: the store's own open then refuses it with ERR_NOT_REGULAR_FILE.
    bytes = await readRegularFile(path);
  } catch {
    return undefined;
  }
  if (bytes.length < KEYSET_HEADER_BYTES || !startsWithMagic(bytes)) return undefined;
  try {
    const body = decodeCanonical(bytes.subarray(KEYSET_HEADER_BYTES), { allowNonCanonical: true });
    if (body.t !== 'map') return undefined;
    let granularity: KeyGranularity | undefined;
    let live = 0;
    let destroyed = 0;
    for (const [k, v] of body.entries) {
      if (k.t !== 'str') continue;
      if (k.v === 'g' && v.t === 'int') granularity = GRANULARITY_OF_CODE[Number(v.v)];
      if (k.v === 'k' && v.t === 'array') live = v.items.length;
      if (k.v === 'd' && v.t === 'array') destroyed = v.items.length;
    }
    return granularity === undefined ? undefined : { granularity, live, destroyed };
  } catch {
    return undefined;
  }
}

export const GRANULARITIES: readonly KeyGranularity[] = ['entity', 'category', 'type', 'event'];
