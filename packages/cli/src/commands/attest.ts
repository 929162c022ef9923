// `batpak attest <dir> --signing-key-file f`: verifies the store read-only (beside a live writer) and prints a signed head attestation as JSON.
// Invariant: it only vouches for what it verified — a store that does not verify gets no attestation (exit 1), and it never writes to the store.

import { attestationToJSON, isBatpakError } from '@batpak/core';
import { dirArgument } from '../args.js';
import { writeAll, type Command, type CommandContext } from '../command.js';
import { CliError, EXIT, type ExitCode } from '../exit.js';
import { signingKeyFromFile } from '../keys.js';
import { ProgressBar, progressEnabled } from '../progress.js';
import { onInterrupt } from '../signals.js';
import { ENCRYPTION_FLAGS, openStore, requireStoreDir, storeAccess } from '../store-open.js';

async function run({ args, io }: CommandContext): Promise<ExitCode> {
  const dir = dirArgument(args, 'attest');
  const keyFile = args.string('signing-key-file');
  if (keyFile === undefined) throw CliError.usage('--signing-key-file is required: an attestation is signed with the store key');
  const signingKey = await signingKeyFromFile(keyFile);
  const label = args.string('label');
  const access = storeAccess(args);
  await requireStoreDir(dir);
  const interrupt = onInterrupt(io.stderr);
  const warnings: string[] = [];
  const progress = new ProgressBar({ label: 'attest', unit: 'events', stream: io.stderr, signal: interrupt.signal, enabled: progressEnabled({ json: false, streams: [io.stderr] }) });
  try {
    const store = await openStore(dir, { readOnly: true, access, signingKey, onWarning: (m) => warnings.push(m) });
    try {
      const att = await store.attest({ signal: interrupt.signal, onProgress: (done, total) => progress.update(done, total), ...(label === undefined ? {} : { label }) });
      progress.clear();
      await writeAll(io.stdout, `${JSON.stringify(attestationToJSON(att))}\n`);
      return EXIT.OK;
    } catch (err) {
      if (!isBatpakError(err, 'ERR_CHAIN_VERIFICATION_FAILED')) throw err;
      throw new CliError('ERR_CHAIN_VERIFICATION_FAILED', `${err.message} (run \`batpak verify ${dir}\` for every problem)`, { exitCode: EXIT.DAMAGED, cause: err });
    } finally {
      progress.clear();
      await store.close();
    }
  } finally {
    interrupt.dispose();
    for (const w of warnings) await writeAll(io.stderr, `note: ${w}\n`);
  }
}

export const attestCommand: Command = {
  name: 'attest',
  summary: 'Verify a store and print a signed head attestation (JSON) that `batpak verify --expect` checks later.',
  usage: 'batpak attest <dir> --signing-key-file <file> [--label <name>] > att.json',
  description: [
    'Opens the store read-only (no lock: beside a live writer), verifies every frame, hash, link and seal,',
    'then signs a statement of the log as it is: last global sequence, event count, the running head hash',
    'over every event, time, key id and an optional label. Keep it somewhere the store cannot reach; later,',
    '`batpak verify <dir> --expect att.json --public-key <hex>` proves the store still holds every attested',
    'event unchanged (truncation, a deleted segment, a rollback or a rewritten prefix fail).',
    'Exit 0: printed. Exit 1: the store does not verify (nothing is printed). Exit 2: unusable.',
  ].join('\n'),
  examples: ['batpak attest ./data --signing-key-file key.hex > att.json', 'batpak attest ./data --signing-key-file key.hex --label orders-eu'],
  flags: [
    { name: 'signing-key-file', type: 'string', value: 'file', help: 'ed25519 seed (64 hex) of the store key' },
    { name: 'label', type: 'string', value: 'name', help: 'a name for the store, signed into the attestation (at most 256 bytes)' },
    ...ENCRYPTION_FLAGS,
  ],
  run,
};
