// `batpak verify <dir>` on a Rust batpak directory: core's read-only Rust reader recomputes every event hash and chain link.
// Invariant (INV-CLI-EXIT-CODES, INV-RUST-READ-VERIFY): the same exit codes and report shape as for our stores; the Rust directory is never written or locked.

import { isBatpakError, openRustStore, type RustStore } from '@batpak/core';
import { EXIT } from '../exit.js';
import type { ProgressBar } from '../progress.js';
import { inspectDir } from '../rust-dir.js';
import { rustChainProblems, rustRefusalProblem } from '../rust-problems.js';
import type { VerifyReport } from './verify.js';

/** The reader refuses at the first damage it meets: say so, so "1 problem" is not read as "only 1 problem". */
const STOPS_AT_FIRST =
  'the Rust reader stops at the first damaged place it meets: later segments and frames were not examined';

export async function verifyRustDir(dir: string, signal: AbortSignal, progress: ProgressBar): Promise<VerifyReport> {
  const base = { command: 'verify', dir, format: 'rust-batpak' } as const;
  // Rust persists no signatures and no compaction record: there is nothing to check keys against, and no gap can be explained.
  const none = { signatureKeys: 0, gaps: 0 } as const;
  let rust: RustStore;
  try {
    rust = await openRustStore(dir, { signal });
  } catch (err) {
    // As for our stores: a damaged frame that stops the open is the answer to "is it intact?".
    if (!isBatpakError(err, 'ERR_CORRUPT_SEGMENT')) throw err;
    return {
      ...base,
      result: 'damaged',
      exitCode: EXIT.DAMAGED,
      opened: false,
      eventsChecked: 0,
      segments: (await inspectDir(dir)).rustSegments,
      ...none,
      problems: [await rustRefusalProblem(err)],
      warnings: [STOPS_AT_FIRST],
    };
  }
  try {
    // 'predecessor' links (the default): each prev_hash must be the hash of the event just before it in
    // its (entity, lane) — the chain Rust's writer builds, checked as strictly as our own.
    const chain = await rust.verifyChain({ signal, onProgress: (done, total) => progress.update(done, total) });
    progress.clear();
    const problems = rustChainProblems(rust, chain);
    const damaged = problems.length > 0;
    return {
      ...base,
      result: damaged ? 'damaged' : 'intact',
      exitCode: damaged ? EXIT.DAMAGED : EXIT.OK,
      opened: true,
      eventsChecked: chain.eventsChecked,
      segments: rust.stats().segments,
      ...none,
      problems,
      warnings: [...rust.warnings],
    };
  } finally {
    progress.clear();
    await rust.close();
  }
}
