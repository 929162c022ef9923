// `batpak verify <dir>`: read-only, beside a live writer — recomputes every hash and link, checks signatures and stored receipts.
// Our stores and Rust batpak directories alike, through one EventLog code path (the format is read from the segment file names);
// a Rust directory is never written or locked, and the flags only our stores honour are refused for it.
// Invariant (INV-CLI-EXIT-CODES): exit 0 only when the chain is intact and every receipt is valid; 1 names each problem; 2 when the store cannot be examined.

import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { attestationFromJSON, isBatpakError, isValid, receiptFromJSON, verifyReceiptClaim, type AttestationCheck, type ChainVerificationReport, type EventLog, type HeadAttestation, type Store } from '@batpak/core';
import { dirArgument } from '../args.js';
import { JSON_FLAG, toJson, writeAll, type Command, type CommandContext } from '../command.js';
import { CliError, EXIT, type ExitCode } from '../exit.js';
import { publicKeyOf } from '../keys.js';
import { chainProblems, describeProblem, refusalProblems, type Problem } from '../problems.js';
import { ProgressBar, progressEnabled } from '../progress.js';
import { formatOf, refuseNativeOnlyFlags, type StoreFormat } from '../rust-dir.js';
import { onInterrupt } from '../signals.js';
import { ENCRYPTION_FLAGS, openLog, requireStoreDir, storeAccess, type OpenedLog } from '../store-open.js';

interface ReceiptSummary {
  readonly file: string;
  readonly checked: number;
  readonly valid: number;
  readonly invalid: number;
}

export interface VerifyReport {
  readonly command: 'verify';
  readonly dir: string;
  /** `native` (this package's format) or `rust-batpak` (a Rust batpak data directory, read-only). */
  readonly format: StoreFormat;
  readonly result: 'intact' | 'damaged';
  readonly exitCode: ExitCode;
  /** False when the store refused to open over a damaged segment (the problems come from reading the files). */
  readonly opened: boolean;
  readonly eventsChecked: number;
  readonly segments: number;
  /** Public keys the signatures were checked against (0: signatures not checked). */
  readonly signatureKeys: number;
  /** Links to events compaction removed: expected, not damage. */
  readonly gaps: number;
  readonly problems: readonly Problem[];
  readonly receipts?: ReceiptSummary;
  /** With --expect: whether the store extends the attestation. */
  readonly attestation?: AttestationCheck;
  readonly warnings: readonly string[];
}

/** `--expect <file>`: an attestation (attestationToJSON); a malformed one is ERR_INVALID_ATTESTATION (exit 2). */
async function readAttestation(file: string): Promise<HeadAttestation> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError((err as { code?: string }).code === 'ENOENT' ? 'ERR_NOT_FOUND' : 'ERR_IO', `cannot read attestation file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return attestationFromJSON(text.trim());
}

async function verifyReceipts(store: Store, file: string, keys: readonly Uint8Array[], signal: AbortSignal): Promise<{ summary: ReceiptSummary; problems: Problem[] }> {
  if ((await stat(file).catch(() => undefined))?.isFile() !== true) throw new CliError('ERR_NOT_FOUND', `no receipts file at ${file}`);
  const problems: Problem[] = [];
  let checked = 0;
  let line = 0;
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    if (signal.aborted) throw new CliError('ERR_ABORTED', 'receipt verification was interrupted', { exitCode: EXIT.INTERRUPTED });
    checked++;
    let receipt;
    try {
      receipt = receiptFromJSON(text);
    } catch (err) {
      problems.push({ kind: 'invalid-receipt', line, reason: isBatpakError(err) ? `${err.code} ${err.message}` : String(err) });
      continue;
    }
    // Both halves: the claim alone with the public key (as an auditor without the store would), and
    // against the committed event (every field, whatever its position on disk).
    const claim = verifyReceiptClaim(receipt, keys);
    const stored = await store.verifyReceipt(receipt);
    const bad = !isValid(claim) ? `claim: ${claim.reason ?? 'invalid'}` : !isValid(stored) ? `store: ${stored.reason ?? 'invalid'}` : undefined;
    if (bad !== undefined) {
      const hint = keys.length === 0 && receipt.signature !== undefined ? ' (signed receipt: pass --public-key)' : '';
      problems.push({ kind: 'invalid-receipt', line, eventId: receipt.eventId, reason: bad + hint });
    }
  }
  return { summary: { file, checked, valid: checked - problems.length, invalid: problems.length }, problems };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function humanReport(r: VerifyReport): string {
  const lines: string[] = [];
  const rust = r.format === 'rust-batpak';
  const where = `${plural(r.segments, 'segment')}${rust ? ' of a Rust batpak directory' : ''}`;
  if (r.result === 'intact') {
    const sigs = r.signatureKeys > 0 ? `, signatures checked with ${plural(r.signatureKeys, 'key')}` : '';
    lines.push(`intact: ${plural(r.eventsChecked, 'event')} in ${where} — every content hash and chain link verified${sigs}`);
  } else if (!r.opened) {
    lines.push(`DAMAGED: the ${rust ? 'Rust batpak directory' : 'store'} refuses to open — ${plural(r.problems.length, 'problem')} found in the segment files`);
  } else {
    lines.push(`DAMAGED: ${plural(r.problems.length, 'problem')} in ${plural(r.eventsChecked, 'event')} (${where})`);
  }
  if (r.gaps > 0) lines.push(`  ${plural(r.gaps, 'link')} to events removed by compaction (expected, not damage)`);
  if (r.attestation?.status === 'extends') lines.push(`  attestation: extends — all ${r.attestation.eventCount} attested events up to sequence ${r.attestation.globalSequence} present and unchanged`);
  if (r.receipts !== undefined) lines.push(`  receipts: ${r.receipts.checked} checked, ${r.receipts.valid} valid, ${r.receipts.invalid} invalid`);
  for (const p of r.problems) lines.push(`  ${describeProblem(p)}`);
  for (const w of r.warnings) lines.push(`  note: ${w}`);
  return `${lines.join('\n')}\n`;
}

/** The chain check through the EventLog; our stores also judge an attestation (--expect, refused for a Rust directory). */
function checkChain(opened: OpenedLog, options: { signal: AbortSignal; onProgress: (done: number, total: number) => void }, expected: HeadAttestation | undefined): Promise<ChainVerificationReport> {
  if (opened.format === 'native' && expected !== undefined) return opened.log.verifyChain({ ...options, expect: expected });
  const log: EventLog = opened.log;
  return log.verifyChain(options);
}

async function run({ args, io, json }: CommandContext): Promise<ExitCode> {
  const dir = dirArgument(args, 'verify');
  const keys = args.strings('public-key').map(publicKeyOf);
  const receiptsFile = args.string('receipts');
  const expectFile = args.string('expect');
  const access = storeAccess(args);
  await requireStoreDir(dir);
  const format = await formatOf(dir);
  // Rust persists no signatures, no receipts of our cover and no attestations: its flags are refused, so keys stay empty.
  if (format === 'rust-batpak') refuseNativeOnlyFlags(args, dir);
  const expected = expectFile === undefined ? undefined : await readAttestation(expectFile);
  const warnings: string[] = [];
  const interrupt = onInterrupt(io.stderr);
  const progress = new ProgressBar({ label: 'verify', unit: 'events', stream: io.stderr, signal: interrupt.signal, enabled: progressEnabled({ json, streams: [io.stderr] }) });
  const base = { command: 'verify', dir, format } as const;
  let report: VerifyReport;
  try {
    let opened: OpenedLog;
    try {
      opened = await openLog(dir, format, { access, trustedPublicKeys: keys, onWarning: (m) => warnings.push(m), signal: interrupt.signal });
    } catch (err) {
      // A damaged frame makes the store refuse to open: that is the answer to "is it intact?", not an obstacle.
      if (!isBatpakError(err, 'ERR_CORRUPT_SEGMENT')) throw err;
      const refusal = await refusalProblems(format, dir, err);
      report = {
        ...base,
        result: 'damaged',
        exitCode: EXIT.DAMAGED,
        opened: false,
        eventsChecked: 0,
        segments: refusal.segments,
        signatureKeys: keys.length,
        gaps: 0,
        problems: refusal.problems,
        warnings: [...warnings, ...refusal.notes],
      };
      await writeAll(io.stdout, json ? `${toJson(report)}\n` : humanReport(report));
      return EXIT.DAMAGED;
    }
    const log: EventLog = opened.log;
    try {
      // A Rust directory's links are checked per (entity, lane) against the event just before — the chain its writer builds.
      const chain = await checkChain(opened, { signal: interrupt.signal, onProgress: (done, total) => progress.update(done, total) }, expected);
      progress.clear();
      const problems = await chainProblems(opened, chain);
      const att = chain.attestation;
      if (att !== undefined && att.status !== 'extends') {
        const hint = att.status === 'unverified' && keys.length === 0 ? ' (pass --public-key)' : '';
        problems.push({ kind: 'attestation', reason: `${att.status}: ${att.reason ?? ''}${hint}` });
      }
      let receipts: ReceiptSummary | undefined;
      if (receiptsFile !== undefined && opened.format === 'native') {
        const r = await verifyReceipts(opened.log, receiptsFile, keys, interrupt.signal);
        receipts = r.summary;
        problems.push(...r.problems);
      }
      const damaged = problems.length > 0;
      report = {
        ...base,
        result: damaged ? 'damaged' : 'intact',
        exitCode: damaged ? EXIT.DAMAGED : EXIT.OK,
        opened: true,
        eventsChecked: chain.eventsChecked,
        segments: log.stats().segments,
        signatureKeys: keys.length,
        // Links to events compaction removed; always none in a Rust directory (no compaction record).
        gaps: chain.gaps.length,
        problems,
        ...(receipts === undefined ? {} : { receipts }),
        ...(att === undefined ? {} : { attestation: att }),
        warnings,
      };
    } finally {
      progress.clear();
      await log.close();
    }
  } finally {
    interrupt.dispose();
  }
  await writeAll(io.stdout, json ? `${toJson(report)}\n` : humanReport(report));
  return report.exitCode;
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Check a store end to end: every frame, content hash, chain link and (with keys) signature; optionally a file of receipts.',
  usage: 'batpak verify <dir> [--json] [--public-key <hex>] [--receipts <file.jsonl>] [--expect <att.json>]',
  description: [
    'Opens the store read-only (no lock: it runs beside a live writer and sees what was committed when it',
    'started). Exit 0: intact and every receipt valid. Exit 1: damaged or tampered, or a receipt is invalid;',
    'each problem is named with its event id, segment file and byte offset. Exit 2: the store cannot be',
    'examined (missing directory, corrupt keyset, unreadable files). A progress bar is drawn on a terminal.',
    '--receipts takes one receiptToJSON object per line; each is checked alone against --public-key and',
    'against the committed event.',
    '--expect takes an attestation (`batpak attest`): the store must still hold every attested event unchanged;',
    'truncation, a deleted segment, a rollback to an older copy or a rewritten prefix is exit 1 with the reason.',
    'Give the key that signed it (or an older one) with --public-key.',
    'A Rust batpak data directory ({id:06}.fbat segments) is recognised and verified read-only, without its',
    'lock (--json says format "rust-batpak"); --public-key, --receipts and the keyset flags do not apply to it.',
  ].join('\n'),
  examples: ['batpak verify ./data', 'batpak verify ./data --expect att.json --public-key 3b6a27bc…', 'batpak verify ./data --public-key 3b6a27bc… --receipts receipts.jsonl --json', 'batpak verify /var/lib/rust-service/data --json'],
  flags: [
    JSON_FLAG,
    { name: 'public-key', type: 'string', value: 'hex', repeatable: true, help: 'ed25519 public key (64 hex) to check signatures with; repeat for rotated keys' },
    { name: 'receipts', type: 'string', value: 'file.jsonl', help: 'stored receipts to verify, one JSON receipt per line' },
    { name: 'expect', type: 'string', value: 'att.json', help: 'an attestation (batpak attest) the store must extend' },
    ...ENCRYPTION_FLAGS,
  ],
  run,
};
