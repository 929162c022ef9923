// Checks made while opening a store: registry wiring (fail-fast by default), no plaintext writer on an
// encrypted store, and the one-line summary of a chain report a refused open quotes.

import { join } from 'node:path';
import { BatpakError, ioError } from '../errors.js';
import type { IndexEntry } from '../index/entry.js';
import { KEYSET_FILE } from '../keyset/keystore.js';
import type { ResolvedOptions } from './options.js';
import type { ChainVerificationReport } from '../types.js';

export function checkRegistry(opts: ResolvedOptions): void {
  if (opts.registry === undefined) return;
  const problems = opts.registry.problems();
  if (problems.length === 0) return;
  if (opts.payloadValidation === 'fail-fast') opts.registry.verify();
  if (opts.payloadValidation === 'warn') for (const p of problems) opts.onWarning(`registry: ${p.message}`);
}

export function describeReport(r: ChainVerificationReport): string {
  return [
    `${r.contentHashMismatches.length} content hash mismatches`,
    `${r.danglingLinks.length} dangling links`,
    `${r.corruptFrames.length} corrupt frames`,
    `${r.missingEvents.length} missing events`,
    `${r.signatureFailures.length} signature failures`,
    ...r.directoryDamage.map((d) => `${d.reason}: ${d.message}`),
  ].join(', ');
}

function plaintextWriterRefused(why: string): BatpakError {
  return new BatpakError(
    'ERR_ENCRYPTION_NOT_CONFIGURED',
    `this store uses payload encryption (${why}): open it with payloadEncryption to write — an append without it would store plaintext that shredScope can never erase — or read-only to read and verify`,
    { details: { reason: why } },
  );
}

/**
 * A writable open without `payloadEncryption` of a store that has a keyset file is refused before
 * anything is read or written (INV-NO-PLAINTEXT-IN-ENCRYPTED-STORE). Read-only opens pass.
 */
export async function refusePlaintextWriterByKeyset(opts: ResolvedOptions): Promise<void> {
  if (opts.readOnly || opts.encryption !== undefined) return;
  const path = join(opts.dir, KEYSET_FILE);
  let st;
  try {
    st = await opts.fs.stat(path);
  } catch (err) {
    throw ioError(err, `cannot stat ${path}`, { file: path });
  }
  if (st !== null) throw plaintextWriterRefused(`${KEYSET_FILE} is present`);
}

/** The same refusal when the keyset lives elsewhere (a custom KeyStore) but committed events are sealed. */
export function refusePlaintextWriterByEvents(opts: ResolvedOptions, events: readonly IndexEntry[]): void {
  if (opts.readOnly || opts.encryption !== undefined) return;
  const sealed = events.find((e) => e.encryption !== undefined);
  if (sealed !== undefined) throw plaintextWriterRefused(`event ${sealed.eventId} is encrypted`);
}
