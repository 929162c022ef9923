// The batpak command line: picks the command, parses its flags, runs it, and turns any failure into one line and an exit code.
// Invariant (INV-CLI-EXIT-CODES): errors print `batpak <command>: <CODE> <message>` on one line — a stack trace only with --debug.

import { readFileSync } from 'node:fs';
import { parseArgs } from './args.js';
import { GLOBAL_FLAGS, helpText, toJson, type Command, type CommandIo } from './command.js';
import { compactCommand } from './commands/compact.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { inspectCommand } from './commands/inspect.js';
import { serveCommand } from './commands/serve.js';
import { shredCommand } from './commands/shred.js';
import { verifyCommand } from './commands/verify.js';
import { attestCommand } from './commands/attest.js';
import { snapshotCommand } from './commands/snapshot.js';
import { CliError, EXIT, codeOf, exitCodeOf, messageOf } from './exit.js';

export const COMMANDS: readonly Command[] = [verifyCommand, attestCommand, inspectCommand, shredCommand, compactCommand, snapshotCommand, exportCommand, importCommand, serveCommand];

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: batpak <command> <dir> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'exit codes: 0 done (verify: intact), 1 verify found damage or an invalid receipt (import: the Rust',
    '            source does not verify), 2 unusable (bad arguments, missing dir, corrupt keyset, lock held,',
    '            target not empty, I/O), 130 interrupted',
    '',
    'verify and inspect also read Rust batpak data directories ({id:06}.fbat segments), read-only.',
    '',
    'Run `batpak <command> --help` for its options and an example.',
    '',
  ].join('\n');
}

/** What to do about it, for the errors an operator meets most. */
const ADVICE: Readonly<Record<string, string>> = {
  ERR_STORE_LOCKED: 'another process holds the writer lock: stop it (or run this through it) and retry',
  ERR_CORRUPT_KEYSET: 'the keyset does not load: check --granularity / --keyset, or restore keyset.bpk from backup',
  ERR_CORRUPT_SEGMENT: 'run `batpak verify` to name every damaged frame',
  ERR_CHAIN_VERIFICATION_FAILED: 'run `batpak verify` on the source to name every problem',
  ERR_PERMISSION_DENIED: 'run as the user that owns the store, or fix the permissions of the directory and its files',
  ERR_NOT_REGULAR_FILE: 'a FIFO, socket, device or symlink loop sits where a store file belongs: remove it',
};

/** Message and causes on one line: a multi-line message must not break the one-line contract. */
function oneLine(err: unknown): string {
  const text = messageOf(err);
  const advice = ADVICE[codeOf(err)];
  return `${text.replace(/\s*\n\s*/g, ' ')}${advice === undefined ? '' : ` — ${advice}`}`;
}

function isHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(globalHelp());
    return EXIT.UNUSABLE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const target = COMMANDS.find((c) => c.name === rest[0]);
    io.stdout.write(target === undefined ? globalHelp() : helpText(target));
    return EXIT.OK;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`batpak ${version()}\n`);
    return EXIT.OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr.write(`batpak: ERR_USAGE unknown command ${JSON.stringify(name)} (see \`batpak --help\`)\n`);
    return EXIT.UNUSABLE;
  }
  if (isHelp(rest)) {
    io.stdout.write(helpText(command));
    return EXIT.OK;
  }
  const debug = rest.includes('--debug');
  const json = rest.includes('--json');
  try {
    const args = parseArgs(rest, [...command.flags, ...GLOBAL_FLAGS], command.name);
    return await command.run({ args, io, json: args.bool('json') });
  } catch (err) {
    const code = codeOf(err);
    io.stderr.write(`batpak ${command.name}: ${code} ${oneLine(err)}\n`);
    if (debug && err instanceof Error) io.stderr.write(`${err.stack ?? ''}\n${err.cause instanceof Error ? `caused by: ${err.cause.stack ?? ''}\n` : ''}`);
    const exitCode = exitCodeOf(err);
    // --json callers parse stdout: they get one object even for a failure.
    if (json) io.stdout.write(`${toJson({ command: command.name, result: 'error', exitCode, error: { code, message: oneLine(err) } })}\n`);
    return exitCode;
  }
}

export { CliError, EXIT };
