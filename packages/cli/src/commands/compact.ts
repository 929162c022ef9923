// `batpak compact <dir> --strategy merge`: merges a store's sealed segments into one under the writer lock (core's crash-safe swap).
// Invariant: survivors keep their exact bytes, so the chain and every old receipt still verify; an aborted or failed run leaves the store as it was.

import type { CompactionResult } from '@batpak/core';
import { dirArgument } from '../args.js';
import { JSON_FLAG, toJson, writeAll, type Command, type CommandContext } from '../command.js';
import { CliError, EXIT, type ExitCode } from '../exit.js';
import { signingKeyFromFile } from '../keys.js';
import { ProgressBar, progressEnabled } from '../progress.js';
import { listSegmentFiles } from '../segments.js';
import { onInterrupt } from '../signals.js';
import { ENCRYPTION_FLAGS, openStore, requireStoreDir, storeAccess } from '../store-open.js';

async function footprint(dir: string): Promise<{ segments: number; bytes: number }> {
  const files = await listSegmentFiles(dir);
  return { segments: files.length, bytes: files.reduce((n, f) => n + f.bytes, 0) };
}

async function run({ args, io, json }: CommandContext): Promise<ExitCode> {
  const dir = dirArgument(args, 'compact');
  const strategy = args.string('strategy');
  if (strategy === undefined) throw CliError.usage('--strategy is required: merge');
  if (strategy !== 'merge') {
    throw CliError.usage(`--strategy ${JSON.stringify(strategy)}: only merge runs from the command line (retention and tombstone need a predicate: use store.compact())`);
  }
  const access = storeAccess(args);
  const keyFile = args.string('signing-key-file');
  const signingKey = keyFile === undefined ? undefined : await signingKeyFromFile(keyFile);
  await requireStoreDir(dir);
  const before = await footprint(dir);
  const interrupt = onInterrupt(io.stderr);
  const store = await openStore(dir, { readOnly: false, access, ...(signingKey === undefined ? {} : { signingKey }) });
  // core's compact() reports the events of the sealed segments it has rewritten (done/total): a real bar,
  // on a terminal only. The swap after the last event is a rename and an fsync or two.
  const progress = new ProgressBar({ label: 'compact', unit: 'events', stream: io.stderr, signal: interrupt.signal, enabled: progressEnabled({ json, streams: [io.stderr] }) });
  const started = Date.now();
  let result: CompactionResult;
  try {
    result = await store.compact({ strategy: 'merge', signal: interrupt.signal, onProgress: (done, total) => progress.update(done, total) });
  } finally {
    progress.clear();
    await store.close();
    interrupt.dispose();
  }
  const after = await footprint(dir);
  if (result.outcome === 'failed') {
    throw new CliError('ERR_COMPACTION_FAILED', `compaction failed: ${result.reason ?? 'no reason given'}`);
  }
  const report = {
    command: 'compact',
    dir,
    strategy,
    outcome: result.outcome,
    segmentsRemoved: result.segmentsRemoved,
    eventsDropped: result.eventsDropped,
    segmentsBefore: before.segments,
    segmentsAfter: after.segments,
    bytesBefore: before.bytes,
    bytesAfter: after.bytes,
    elapsedMs: Date.now() - started,
  };
  const text =
    result.outcome === 'skipped'
      ? `skipped: nothing to merge (${before.segments} segment${before.segments === 1 ? '' : 's'}; the active one is never compacted)\n`
      : `compacted: ${before.segments} → ${after.segments} segments (${result.segmentsRemoved} removed), ${before.bytes} → ${after.bytes} bytes, ${result.eventsDropped} events dropped\n`;
  await writeAll(io.stdout, json ? `${toJson(report)}\n` : text);
  return EXIT.OK;
}

export const compactCommand: Command = {
  name: 'compact',
  summary: "Merge a store's sealed segments into one (crash-safe; events, hashes and receipts unchanged).",
  usage: 'batpak compact <dir> --strategy merge [--json]',
  description: [
    'Takes the writer lock (refused with ERR_STORE_LOCKED while another process holds the store). Only',
    'sealed segments are rewritten, never the active one; every surviving event keeps its bytes and content',
    "hash, so verify stays intact and old receipts still verify. Outcome 'skipped' (exit 0) when there is",
    "nothing to merge; a 'failed' compaction exits 2 with core's reason and leaves the store as it was (or",
    'completes at the next open, as the reason says). Ctrl-C aborts before the commit point (exit 130).',
    'On a terminal a progress bar counts the events of the sealed segments rewritten (done/total, rate, ETA).',
  ].join('\n'),
  examples: ['batpak compact ./data --strategy merge', 'batpak compact ./data --strategy merge --json'],
  flags: [
    JSON_FLAG,
    { name: 'strategy', type: 'string', value: 'merge', help: 'merge: rewrite the sealed segments into one, keeping every event' },
    { name: 'signing-key-file', type: 'string', value: 'file', help: "ed25519 seed (64 hex): sign the compaction record, in a signed store" },
    ...ENCRYPTION_FLAGS,
  ],
  run,
};
