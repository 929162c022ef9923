// `batpak snapshot <dir> <dest>`: copies a consistent committed prefix of a store (beside a live writer) into a new directory.
// Invariant (INV-SNAPSHOT-ATOMIC): <dest> appears only complete and verified; an interrupted or failed run leaves no <dest>.

import { attestationToJSON, type SnapshotResult } from '@batpak/core';
import { JSON_FLAG, toJson, writeAll, type Command, type CommandContext } from '../command.js';
import { CliError, EXIT, type ExitCode } from '../exit.js';
import { signingKeyFromFile } from '../keys.js';
import { ProgressBar, progressEnabled } from '../progress.js';
import { onInterrupt } from '../signals.js';
import { ENCRYPTION_FLAGS, openStore, requireStoreDir, storeAccess } from '../store-open.js';

async function run({ args, io, json }: CommandContext): Promise<ExitCode> {
  const [dir, dest, ...rest] = args.positionals;
  if (dir === undefined || dest === undefined) throw CliError.usage('missing <dir> <dest> (see `batpak snapshot --help`)');
  if (rest.length > 0) throw CliError.usage(`unexpected argument ${JSON.stringify(rest[0])} (see \`batpak snapshot --help\`)`);
  const keyFile = args.string('signing-key-file');
  const signingKey = keyFile === undefined ? undefined : await signingKeyFromFile(keyFile);
  const access = storeAccess(args);
  await requireStoreDir(dir);
  const interrupt = onInterrupt(io.stderr);
  const progress = new ProgressBar({ label: 'snapshot', unit: 'bytes', stream: io.stderr, signal: interrupt.signal, enabled: progressEnabled({ json, streams: [io.stderr] }) });
  let result: SnapshotResult;
  try {
    const store = await openStore(dir, { readOnly: true, access, ...(signingKey === undefined ? {} : { signingKey }) });
    try {
      result = await store.snapshot(dest, { signal: interrupt.signal, onProgress: (done, total) => progress.update(done, total) });
    } finally {
      progress.clear();
      await store.close();
    }
  } finally {
    interrupt.dispose();
  }
  const attestation = result.attestation === undefined ? null : attestationToJSON(result.attestation);
  if (json) {
    await writeAll(
      io.stdout,
      `${toJson({ command: 'snapshot', dir, dest, globalSequence: result.globalSequence, events: result.events, segments: result.segments, bytes: result.bytes, attestation })}\n`,
    );
  } else {
    const lines = [`snapshot: ${result.events} events (through sequence ${result.globalSequence}) in ${result.segments} segment(s), ${result.bytes} bytes → ${dest}`];
    lines.push(attestation === null ? '  no attestation: pass --signing-key-file to get one' : `  attestation: ${JSON.stringify(attestation)}`);
    await writeAll(io.stdout, `${lines.join('\n')}\n`);
  }
  return EXIT.OK;
}

export const snapshotCommand: Command = {
  name: 'snapshot',
  summary: 'Copy a consistent prefix of a live store into a new directory (crash-safe), with an attestation of what it holds.',
  usage: 'batpak snapshot <dir> <dest> [--signing-key-file <file>] [--json]',
  description: [
    'Reads the store without its lock (a writer may keep appending) and copies every committed event as of',
    'the start into <dest>, which must not exist. The copy is built in <dest>.snapshot-partial, verified, and',
    'renamed to <dest> at the end: after a crash or Ctrl-C there is either no <dest> or a complete one (a',
    'leftover .snapshot-partial is reused by the next run). The keyset (in the directory) is copied as it is',
    'at the end, so shredded scopes stay shredded. With --signing-key-file it prints an attestation of exactly',
    'what the copy holds; `batpak verify <dir> --expect` with it shows the live store extends the copy.',
  ].join('\n'),
  examples: ['batpak snapshot ./data /backup/data-2026-12-04', 'batpak snapshot ./data /backup/d --signing-key-file key.hex --json'],
  flags: [JSON_FLAG, { name: 'signing-key-file', type: 'string', value: 'file', help: 'ed25519 seed (64 hex): sign an attestation of the copy' }, ...ENCRYPTION_FLAGS],
  run,
};
