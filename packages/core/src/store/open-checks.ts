// Checks made while opening a store: registry wiring (fail-fast by default), no plaintext writer on an
// encrypted store, no keyless writer on a signed store (INV-SIGNED-STORE-UNSIGNED-EVENT), and the
// chain verification at open (chainVerification 'recompute') with the one-line summary a refused open quotes.

import { join } from 'node:path';
import { BatpakError, ioError } from '../errors.js';
import type { IndexSummary } from '../event-index/event-index.js';
import { KEYSET_FILE } from '../keyset/keystore.js';
import type { ReceiptSigner } from '../receipt/sign.js';
import type { ResolvedOptions } from './options.js';
import type { ChainVerificationReport } from '../types.js';

/** True when any committed event was written in a signed commit group. */
export function holdsSignedEvents(summary: IndexSummary): boolean {
  return summary.signedEvents > 0;
}

/**
 * A writer without a key would add events nobody can tell from forgeries: refused on a store that holds
 * signed events unless the caller opts in with `allowUnsignedAfterSigned` (read-only opens never write).
 */
export function refuseUnsignedWriter(opts: ResolvedOptions, signer: ReceiptSigner | undefined, summary: IndexSummary): void {
  if (opts.readOnly || signer !== undefined || opts.allowUnsignedAfterSigned || !holdsSignedEvents(summary)) return;
  throw new BatpakError(
    'ERR_SIGNING_KEY_REQUIRED',
    `${opts.dir} holds signed events: open it with its signingKey (or signer). To append unsigned events anyway, pass allowUnsignedAfterSigned: true — verifyChain reports them as signature failures unless the key holder declared unsigned appends allowed (declareSigningPolicy)`,
    { details: { file: opts.dir } },
  );
}

export function checkRegistry(opts: ResolvedOptions): void {
  if (opts.registry === undefined) return;
  const problems = opts.registry.problems();
  if (problems.length === 0) return;
  if (opts.payloadValidation === 'fail-fast') opts.registry.verify();
  if (opts.payloadValidation === 'warn') for (const p of problems) opts.onWarning(`registry: ${p.message}`, 'BATPAK_REGISTRY_PROBLEM');
}

/** chainVerification 'recompute': a store that does not verify is closed and refused. */
export async function refuseUnverified(store: { verifyChain(): Promise<ChainVerificationReport>; close(): Promise<void> }): Promise<void> {
  const report = await store.verifyChain();
  if (report.intact) return;
  await store.close();
  throw new BatpakError('ERR_CHAIN_VERIFICATION_FAILED', `chain verification failed at open: ${describeReport(report)}`, { details: { report } });
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
export function refusePlaintextWriterByEvents(opts: ResolvedOptions, summary: IndexSummary): void {
  if (opts.readOnly || opts.encryption !== undefined) return;
  if (summary.firstEncrypted !== undefined) throw plaintextWriterRefused(`event ${summary.firstEncrypted} is encrypted`);
}
