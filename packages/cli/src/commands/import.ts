// `batpak import <rust-dir> <new-dir>`: copies a Rust batpak directory's user events into a native store (core's importRustStore) and writes the import report.
// Invariant (INV-CLI-EXIT-CODES, INV-RUST-READ-VERIFY): ids, coordinates, kinds, payload bytes and content hashes cross unchanged; the Rust directory is only read; a damaged source imports nothing (exit 1).

import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RealFs, importRustStore, isBatpakError, rustImportReportToJSON, type RustImportReport } from '@batpak/core';
import { JSON_FLAG, toJson, writeAll, type Command, type CommandContext } from '../command.js';
import { CliError, EXIT, codeOf, type ExitCode } from '../exit.js';
import { ImportTarget, checkImportTarget, isInside, landingPath } from '../import-target.js';
import { signingKeyFromFile } from '../keys.js';
import { ProgressBar, formatDuration, progressEnabled } from '../progress.js';
import { inspectDir } from '../rust-dir.js';
import { onInterrupt } from '../signals.js';
import { requireStoreDir } from '../store-open.js';

/** The default report's name, inside the new store (which ignores files that are not its own). */
export const REPORT_FILE_NAME = 'rust-import-report.json';

function twoDirs(positionals: readonly string[]): [string, string] {
  const [from, to, ...rest] = positionals;
  if (from === undefined || to === undefined) throw CliError.usage('usage: batpak import <rust-dir> <new-dir> (see `batpak import --help`)');
  if (rest.length > 0) throw CliError.usage(`unexpected argument ${JSON.stringify(rest[0])} (see \`batpak import --help\`)`);
  return [from, to];
}

/** `<new-dir>/rust-import-report.json`, or `-2`, `-3`… so an --append import never overwrites an earlier import's report. */
async function defaultReportPath(dir: string): Promise<string> {
  for (let n = 1; ; n++) {
    const path = join(dir, n === 1 ? REPORT_FILE_NAME : REPORT_FILE_NAME.replace(/\.json$/, `-${n}.json`));
    if ((await stat(path).catch(() => undefined)) === undefined) return path;
  }
}

async function checkReportPath(path: string, rustReal: string): Promise<void> {
  if (isInside(rustReal, await landingPath(path))) throw CliError.usage(`--report ${path} is inside the Rust directory: the import never writes there`);
  const st = await stat(path).catch(() => undefined);
  if (st?.isDirectory() === true) throw CliError.usage(`--report ${path} is a directory; name a file`);
  // Found out now, not after a long import.
  await access(join(path, '..')).catch(() => {
    throw new CliError('ERR_NOT_FOUND', `--report ${path}: its directory does not exist`);
  });
}

function plural(n: number | bigint, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 || n === 1n ? word : many}`;
}

function humanSummary(from: string, to: string, reportFile: string, r: RustImportReport): string {
  const skipped = r.skipped.system + r.skipped.effect + r.skipped.sealed;
  const byKind = Object.entries(r.skipped.byKind)
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
  const renumbered = r.imported === 0 ? '' : "; global sequences are new (the report maps each entity head's Rust sequence to its new one)";
  const lines = [
    `imported ${plural(r.imported, 'event')} of ${plural(r.entities.length, 'entity', 'entities')} from the Rust batpak directory ${from} (${plural(r.source.events, 'event')} in ${plural(r.source.segments, 'segment')}) into ${to}`,
    `  event ids, coordinates, kinds, payload bytes and content hashes kept${renumbered}`,
    ...(skipped === 0
      ? []
      : [
          `  skipped ${plural(skipped, 'event')}: ${r.skipped.system} written by Rust itself, ${r.skipped.effect} effect, ${r.skipped.sealed} sealed (the Rust keyset is not read)${byKind === '' ? '' : ` — ${byKind}`}`,
        ]),
    `  report: ${reportFile}`,
    ...r.entities.filter((e) => e.lanes.length > 1).map((e) => `  note: ${e.entity} used Rust lanes ${e.lanes.join(', ')}: its prevHash links here differ from Rust's`),
    ...r.source.warnings.map((w) => `  note: ${w}`),
  ];
  return `${lines.join('\n')}\n`;
}

async function run({ args, io, json }: CommandContext): Promise<ExitCode> {
  const [from, to] = twoDirs(args.positionals);
  const append = args.bool('append');
  const keyFile = args.string('signing-key-file');
  const signingKey = keyFile === undefined ? undefined : await signingKeyFromFile(keyFile);
  await requireStoreDir(from);
  if ((await inspectDir(from)).format !== 'rust-batpak') throw CliError.usage(`${from} is not a Rust batpak directory (no {id:06}.fbat segment files)`);
  const rustReal = await landingPath(from);
  const toReal = await landingPath(to);
  // The Rust directory is read-only to us, whatever the paths look like.
  if (isInside(rustReal, toReal)) throw CliError.usage(`${to} is inside the Rust directory ${from}: the import never writes there`);
  const explicitReport = args.string('report');
  if (explicitReport !== undefined) await checkReportPath(explicitReport, rustReal);
  await checkImportTarget(to, append);

  const interrupt = onInterrupt(io.stderr);
  const live = progressEnabled({ json, streams: [io.stderr] });
  const progress = new ProgressBar({ label: 'import', unit: 'events', stream: io.stderr, signal: interrupt.signal, enabled: live });
  // Opening, verifying and planning the source report no done/total: show what runs and for how long, then the bar.
  const started = Date.now();
  let importing = false;
  const ticker = live
    ? setInterval(() => {
        if (!importing) progress.status(`import: reading and verifying ${from} … ${formatDuration((Date.now() - started) / 1000)}`);
      }, 250)
    : undefined;
  const target = new ImportTarget(to, { append, ...(signingKey === undefined ? {} : { signingKey }) });
  let report: RustImportReport;
  let reportFile: string;
  try {
    try {
      report = await importRustStore(from, target, {
        signal: interrupt.signal,
        onProgress: (done, total) => {
          importing = true;
          progress.update(done, total);
        },
      });
      // Nothing to import (only Rust's own events) still leaves a native store, so `batpak verify <new-dir>` answers.
      await target.open();
    } catch (err) {
      if (interrupt.signal.aborted || isBatpakError(err, 'ERR_ABORTED')) {
        if (ticker !== undefined) clearInterval(ticker);
        progress.clear();
        const committed = target.committed();
        io.stderr.write(
          `import interrupted: ${plural(committed, 'event')} committed to ${to} in whole chunks (it verifies as it is); ` +
            `${committed > 0n ? `to finish, remove ${to} and run the import again` : 'nothing was written'}\n`,
        );
        if (json) await writeAll(io.stdout, `${toJson({ command: 'import', from, dir: to, result: 'interrupted', exitCode: EXIT.INTERRUPTED, imported: committed })}\n`);
        return EXIT.INTERRUPTED;
      }
      // The source does not verify (or does not open over a damaged frame): that is a finding about the data,
      // as `verify` would report it (exit 1), and nothing was imported — planning comes before any write.
      if (!target.owns(err) && (isBatpakError(err, 'ERR_CHAIN_VERIFICATION_FAILED') || isBatpakError(err, 'ERR_CORRUPT_SEGMENT'))) {
        throw new CliError(err.code, `${err.message}; nothing was imported`, { exitCode: EXIT.DAMAGED, cause: err });
      }
      throw err;
    } finally {
      if (ticker !== undefined) clearInterval(ticker);
      progress.clear();
    }
    reportFile = explicitReport ?? (await defaultReportPath(to));
    try {
      await new RealFs().writeFileAtomic(reportFile, new TextEncoder().encode(`${rustImportReportToJSON(report)}\n`));
    } catch (err) {
      throw new CliError(codeOf(err), `the import committed ${report.imported} events, but its report could not be written to ${reportFile}: ${(err as Error).message}`, { cause: err });
    }
  } finally {
    await target.close();
    interrupt.dispose();
  }
  await writeAll(
    io.stdout,
    json ? `${toJson({ command: 'import', from, dir: to, result: 'imported', exitCode: EXIT.OK, reportFile, report })}\n` : humanSummary(from, to, reportFile, report),
  );
  return EXIT.OK;
}

export const importCommand: Command = {
  name: 'import',
  summary: "Copy a Rust batpak directory's events into a new native store, keeping ids and content hashes, and write an import report.",
  usage: 'batpak import <rust-dir> <new-dir> [--report <file>] [--append] [--json]',
  description: [
    'Reads <rust-dir> read-only (no lock, nothing written there), verifies its chain — a source that does not',
    'verify is refused with exit 1 and nothing is imported — then appends every user event to the native store',
    '<new-dir> (created if missing; writer lock) with its event id, coordinate, kind, payload bytes and content',
    "hash unchanged. Events Rust wrote itself (0x0…, 0xD…) and sealed ones are skipped and counted. Global",
    "sequences are new, so Rust receipts do not verify against the new store: keep the Rust directory.",
    '<new-dir> must be missing, empty, or (with --append) a batpak store; one that already holds events is',
    'refused (ERR_TARGET_NOT_EMPTY, exit 2). The report (JSON) goes to <new-dir>/rust-import-report.json',
    "unless --report names a file (never inside <rust-dir>). Events commit in atomic chunks: Ctrl-C (exit 130)",
    'leaves whole chunks that verify; remove <new-dir> and run the import again to finish.',
  ].join('\n'),
  examples: ['batpak import /var/lib/rust-service/data ./data && batpak verify ./data', 'batpak import ./rust-data ./data --report import-report.json --json'],
  flags: [
    JSON_FLAG,
    { name: 'report', type: 'string', value: 'file', help: 'write the import report here (default <new-dir>/rust-import-report.json)' },
    { name: 'append', type: 'boolean', help: 'allow a target store that already holds events (ids must still be new to it)' },
    { name: 'signing-key-file', type: 'string', value: 'file', help: 'ed25519 seed (64 hex): sign the imported commit groups, in a signed store' },
  ],
  run,
};
