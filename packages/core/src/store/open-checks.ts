// Checks made while opening a store: registry wiring (fail-fast by default) and the one-line summary
// of a chain report a refused open quotes.

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
